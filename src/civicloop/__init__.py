"""civicloop: an open-source city operations platform (一网统管).

Every problem becomes a case that is filed, routed, handled, verified, closed and evaluated,
and every action leaves a hash-chained trace. See docs/architecture.md for the map.
"""

__version__ = "0.1.0"
