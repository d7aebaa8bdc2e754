"""The grid index: point → unit grid (单元网格), the fast path every signal takes before routing.

Intake and discovery place each signal on a grid (DESIGN §3 "locate → grid"); routing and
evaluation then work by the grid's code. The index is built once from the grid polygons (WGS84
lon/lat GeoJSON) and kept in process: a shapely STRtree answers one point in tens of
microseconds and a vectorised batch at about 400,000 points a second (40,000 grids, 2-core VM),
so the fast path needs no spatial database.

Invariants:

- A point inside a grid, or on its boundary, locates to that grid; a point outside every grid
  locates to None (so does a NaN coordinate).
- Grids tile their community with shared edges, so a point on an edge or a vertex touches
  several grids. The answer is then the lowest code among them — deterministic, and the same
  from ``locate`` and ``locate_many``. The tree is built in code order so "lowest code" is
  "lowest tree index".
- Codes are unique; geometries are Polygon or MultiPolygon with positive area.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape


class GridIndex:
    """Point → unit grid, on a shapely STRtree over grid polygons (WGS84 lon/lat)."""

    def __init__(self, grids: Iterable[tuple[str, dict[str, Any]]]) -> None:
        entries: dict[str, shapely.Geometry] = {}
        for code, geometry in grids:
            if code in entries:
                raise ValueError(f"grid code {code!r} appears twice")
            kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
            if kind not in ("Polygon", "MultiPolygon"):
                raise ValueError(
                    f"grid {code!r}: geometry must be Polygon or MultiPolygon, got {kind}"
                )
            try:
                polygon = shape(geometry)
            except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError) as exc:
                raise ValueError(f"grid {code!r}: {exc}") from exc
            if polygon.is_empty or polygon.area <= 0.0:
                raise ValueError(f"grid {code!r}: geometry has no area")
            entries[code] = polygon
        self._codes: list[str] = sorted(entries)
        self._geometries = np.array([entries[c] for c in self._codes], dtype=object)
        self._tree = shapely.STRtree(self._geometries)
        # Prepared polygons make each exact point-in-polygon test after the bbox filter cheap.
        shapely.prepare(self._geometries)

    def locate(self, lon: float, lat: float) -> str | None:
        """The grid code containing the point, None when it is outside all grids."""
        # Point() and a Python min() over the few hits: half the cost of shapely.points() and
        # ndarray.min() for one point (35 → 15 µs; every report takes this path).
        hits = self._tree.query(Point(lon, lat), predicate="intersects").tolist()
        return self._codes[min(hits)] if hits else None

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
        """``locate`` for many points at once, in one tree query (same answers, ~50× faster)."""
        xs = np.asarray(lons, dtype=float)
        ys = np.asarray(lats, dtype=float)
        if xs.shape != ys.shape or xs.ndim != 1:
            raise ValueError(
                f"lons and lats must be flat and equally long, got {xs.shape} and {ys.shape}"
            )
        point_idx, grid_idx = self._tree.query(shapely.points(xs, ys), predicate="intersects")
        # len(codes) marks "no grid"; on a shared edge the lowest tree index (= lowest code) wins.
        best = np.full(xs.shape[0], len(self._codes), dtype=np.int64)
        np.minimum.at(best, point_idx, grid_idx)
        codes = self._codes
        return [codes[i] if i < len(codes) else None for i in best.tolist()]

    def contains(self, lon: float, lat: float) -> bool:
        """True when the point lies in (or on the edge of) some grid."""
        return self.locate(lon, lat) is not None

    def geometry(self, code: str) -> shapely.Geometry:
        """The shapely polygon of one grid (KeyError when the code is unknown)."""
        position = self._position(code)
        return self._geometries[position]

    @property
    def codes(self) -> list[str]:
        """All grid codes, sorted."""
        return list(self._codes)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) over all grids; NaNs when the index is empty."""
        xmin, ymin, xmax, ymax = shapely.total_bounds(self._geometries).tolist()
        return xmin, ymin, xmax, ymax

    def __len__(self) -> int:
        return len(self._codes)

    def _position(self, code: str) -> int:
        position = bisect_left(self._codes, code)
        if position >= len(self._codes) or self._codes[position] != code:
            raise KeyError(code)
        return position
