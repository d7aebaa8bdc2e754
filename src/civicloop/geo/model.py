"""Geography domain: WGS84 positions, territorial codes and areas — pure, no geometry engine.

Where it sits: every signal is placed on a unit grid (单元网格) before discovery and routing
(DESIGN §3). The grid index (``geo.index``) answers "which grid"; this module holds the rules
that need no geometry engine, so any layer may import it.

Invariants:

- Positions are WGS84 longitude/latitude in degrees, in that order (GeoJSON order), finite and
  within ±180 / ±90. Geometries are GeoJSON dicts (RFC 7946), never engine objects.
- Territorial codes nest by prefix and have one fixed length per level (GB/T 30428.1 unit-grid
  coding: 6-digit district (GB/T 2260) + 3-digit street/town + 3-digit community + 3-digit grid):

      310115 → 310115005 → 310115005001 → 310115005001001
      district  street      community       grid

  so "is this grid inside that street" is a prefix test and a code's level is its length.
- Areas are square metres on the authalic sphere through the sinusoidal projection, which is
  equal-area: good to well under 1 % at district scale, with no projection library.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from civicloop.org.model import RegionLevel

CODE_LENGTHS: dict[RegionLevel, int] = {
    RegionLevel.DISTRICT: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
    RegionLevel.GRID: 15,
}
_LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}

# The radius of the sphere with the WGS84 ellipsoid's surface area, so areas come out right.
EARTH_AUTHALIC_RADIUS_M = 6_371_007.2

Position = tuple[float, float]
Ring = list[Position]
PolygonCoords = list[Ring]


@dataclass(frozen=True)
class LonLat:
    """A WGS84 position; constructing one validates it (bad input never reaches the index)."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"lon must be a finite number within -180..180, got {self.lon!r}")
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"lat must be a finite number within -90..90, got {self.lat!r}")


def level_of_code(code: str) -> RegionLevel:
    """The territorial level a code belongs to, from its length; ValueError when malformed."""
    level = _LEVEL_BY_LENGTH.get(len(code))
    if level is None or not code.isascii() or not code.isdigit():
        raise ValueError(
            f"region code {code!r} must be 6, 9, 12 or 15 ASCII digits "
            "(district, street, community, grid)"
        )
    return level


def parent_code(code: str) -> str | None:
    """The code of the enclosing region, None for a district."""
    level = level_of_code(code)
    if level is RegionLevel.DISTRICT:
        return None
    return code[: CODE_LENGTHS[level] - 3]


def ancestor_codes(code: str) -> tuple[str, ...]:
    """The codes from the district down to ``code`` itself, root first."""
    length = CODE_LENGTHS[level_of_code(code)]
    return tuple(code[:n] for n in range(6, length + 1, 3))


def polygons_of(geometry: dict[str, Any]) -> list[PolygonCoords]:
    """The polygons of a GeoJSON Polygon or MultiPolygon, each as its rings of (lon, lat).

    Raises ValueError naming the problem when ``geometry`` is not a polygonal GeoJSON geometry
    (wrong type, a ring with fewer than 4 positions, a position that is not a number pair).
    """
    if not isinstance(geometry, dict):
        raise ValueError(f"geometry must be a GeoJSON object, got {type(geometry).__name__}")
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        raw_polygons = [coordinates]
    elif kind == "MultiPolygon":
        raw_polygons = coordinates if isinstance(coordinates, list) else [None]
    else:
        raise ValueError(f"geometry type must be Polygon or MultiPolygon, got {kind!r}")
    polygons: list[PolygonCoords] = []
    for raw in raw_polygons:
        if not isinstance(raw, list) or not raw:
            raise ValueError(f"{kind} coordinates must be a non-empty list of rings")
        polygons.append([_ring(r, kind) for r in raw])
    return polygons


def _ring(raw: Any, kind: str) -> Ring:
    if not isinstance(raw, list | tuple) or len(raw) < 4:
        raise ValueError(f"every {kind} ring needs at least 4 positions")
    ring: Ring = []
    for position in raw:
        if (
            not isinstance(position, list | tuple)
            or len(position) < 2
            or not all(isinstance(v, int | float) for v in position[:2])
        ):
            raise ValueError(f"{kind} position {position!r} is not a [lon, lat] pair")
        ring.append((float(position[0]), float(position[1])))
    return ring


def _positions(geometry: dict[str, Any]) -> Iterator[Position]:
    for polygon in polygons_of(geometry):
        for ring in polygon:
            yield from ring


def geometry_bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a polygonal GeoJSON geometry."""
    lons, lats = zip(*_positions(geometry), strict=True)
    return min(lons), min(lats), max(lons), max(lats)


def ring_area_m2(ring: Sequence[Position], lon0: float) -> float:
    """Unsigned area of one closed ring, projected sinusoidally about meridian ``lon0``."""
    k = math.pi / 180.0 * EARTH_AUTHALIC_RADIUS_M
    xs = [(lon - lon0) * k * math.cos(math.radians(lat)) for lon, lat in ring]
    ys = [lat * k for _, lat in ring]
    twice = sum(xs[i] * ys[i + 1] - xs[i + 1] * ys[i] for i in range(len(ring) - 1))
    return abs(twice) / 2.0


def geometry_area_m2(geometry: dict[str, Any]) -> float:
    """Area in m² of a polygonal GeoJSON geometry (holes subtracted).

    The central meridian is the geometry's own middle longitude: the projection is equal-area
    for any meridian, but straight edges bend least near it.
    """
    polygons = polygons_of(geometry)
    lon_min, _, lon_max, _ = geometry_bounds(geometry)
    lon0 = (lon_min + lon_max) / 2.0
    total = 0.0
    for exterior, *holes in polygons:
        total += ring_area_m2(exterior, lon0) - sum(ring_area_m2(h, lon0) for h in holes)
    return total
