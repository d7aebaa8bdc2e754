"""Tables of the risk context, on the shared ``metadata`` (see ``civicloop.schema``)."""

from __future__ import annotations

from civicloop.core.db import metadata

__all__ = ["metadata"]
