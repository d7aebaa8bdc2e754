"""The grid index: point → unit grid (单元网格), the fast path every signal takes before routing.

Intake and discovery place each signal on a grid (DESIGN §3 "locate → grid"); routing and
evaluation then work by the grid's code. The index is built once from the grid polygons (WGS84
lon/lat GeoJSON) and kept in process: a shapely STRtree answers one point in tens of
microseconds and a vectorised batch at about 400,000 points a second (40,000 grids, 2-core VM),
so the fast path needs no spatial database.

Batches (IoT readings, thousands a call) take a faster road, ``locate_indices``: a raster of
cells over the grids' bounds, built once, answers most points with one numpy index — a cell
that lies wholly inside one grid and touches no other needs no geometry at all. Only points in
cells that straddle an edge (or the district's outline) are tested against the few grids that
touch their cell, with shapely's vectorised ``intersects_xy`` on prepared polygons. No point
geometry is ever built on that road (creating them alone costs ~1 µs a point, more than the rest).

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

import threading
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
        self._codes_array = np.array([*self._codes, None], dtype=object)
        self._raster: _Raster | None = None
        self._raster_lock = threading.Lock()
        self._raster_thread: threading.Thread | None = None

    def locate(self, lon: float, lat: float) -> str | None:
        """The grid code containing the point, None when it is outside all grids."""
        # Point() and a Python min() over the few hits: half the cost of shapely.points() and
        # ndarray.min() for one point (35 → 15 µs; every report takes this path).
        hits = self._tree.query(Point(lon, lat), predicate="intersects").tolist()
        return self._codes[min(hits)] if hits else None

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
        """``locate`` for many points at once (same answers; see ``locate_indices``)."""
        return self.codes_of(self.locate_indices(lons, lats))

    def locate_indices(self, lons: Any, lats: Any) -> np.ndarray:
        """The position in ``codes`` of each point's grid, -1 when it is outside every grid.

        Same answers as ``locate`` point by point (lowest code on shared edges, None → -1 for
        outside and NaN). Over 1 M points/s at 40,000 grids on a 2-core VM; the raster it uses
        is built on the first call (about a second at that size).
        """
        xs = np.asarray(lons, dtype=np.float64)
        ys = np.asarray(lats, dtype=np.float64)
        if xs.shape != ys.shape or xs.ndim != 1:
            raise ValueError(
                f"lons and lats must be flat and equally long, got {xs.shape} and {ys.shape}"
            )
        raster = self._raster
        if raster is None:
            raster = self.prepare_batch(wait=len(self._codes) <= _SYNC_BUILD_GRIDS)
        if raster is None:  # a large index is still rasterising in the background
            return self._tree_indices(xs, ys)
        return raster.locate(self._geometries, xs, ys)

    def codes_of(self, indices: np.ndarray) -> list[str | None]:
        """Grid codes for positions from ``locate_indices`` (-1 → None)."""
        found = np.where(indices < 0, len(self._codes), indices)
        result: list[str | None] = self._codes_array[found].tolist()
        return result

    def prepare_batch(self, *, wait: bool = True) -> _Raster | None:
        """Build the raster ``locate_indices`` uses (seconds at 40,000 grids). ``wait=False``
        starts the build on a background thread and returns None until it is done; batches
        meanwhile take the plain tree query (same answers, slower)."""
        with self._raster_lock:
            if self._raster is None and self._raster_thread is None:
                self._raster_thread = threading.Thread(
                    target=self._build_raster, name="grid-raster", daemon=True
                )
                self._raster_thread.start()
            thread = self._raster_thread
        if wait and thread is not None:
            thread.join()
        return self._raster

    def _build_raster(self) -> None:
        self._raster = _Raster.build(self._geometries)

    def locate_tree(self, lons: Sequence[float], lats: Sequence[float]) -> list[str | None]:
        """``locate_many`` by one plain STRtree query (the reference the raster is checked
        against, and the baseline the benchmark compares with)."""
        found = self._tree_indices(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        found[found < 0] = len(self._codes)
        result: list[str | None] = self._codes_array[found].tolist()
        return result

    def _tree_indices(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        point_idx, grid_idx = self._tree.query(shapely.points(xs, ys), predicate="intersects")
        # On a shared edge the lowest tree index (= lowest code) wins.
        best = np.full(xs.shape[0], len(self._codes), dtype=np.int64)
        np.minimum.at(best, point_idx, grid_idx)
        best[best == len(self._codes)] = -1
        return best

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


# Up to this many grids the raster is built on the first batch, in line (well under a second);
# larger indexes build it on a background thread.
_SYNC_BUILD_GRIDS = 10_000
# Raster cells per grid (over the bounding box): cells must be much smaller than grids for most
# of them to lie wholly inside one grid — at 128, about 80% of points inside the demo district
# take the pure numpy road. The cap bounds memory (4 bytes a cell) and build time.
_CELLS_PER_GRID = 128
_MAX_CELLS = 8_000_000
# Edge pieces are grown by this much (in cell widths) before the cells they touch are marked,
# so rounding in the cell arithmetic can never leave a touched cell unmarked.
_EPSILON = 1e-7
_OUTSIDE = -1  # raster value: no grid touches the cell
_MIXED = -2  # raster value: the cell needs an exact test against its candidates
_CHUNK = 500_000  # edge pieces handled per numpy pass while building (bounds memory)


class _Raster:
    """A regular lattice over the index bounds: per cell, the one grid that holds all of it,
    or "outside", or "mixed" with the (code-ordered) list of grids that may hold its points.

    Built without testing a single cell geometry: every polygon edge is cut into pieces no
    longer than half a cell and each piece marks the (at most 2 × 2) cells its box touches,
    with the edge's grid as a candidate. Unmarked cells are crossed by no boundary, so every
    point of a connected block of them has the same answer: one point query per block
    (connected components, scipy) fills the rest. Mixed cells also get the grids holding their
    centre, so a grid that wholly covers a cell crossed by another's edge (overlapping slivers)
    is still a candidate.
    """

    def __init__(
        self,
        origin: tuple[float, float],
        step: tuple[float, float],
        shape: tuple[int, int],
        cells: np.ndarray,
        offsets: np.ndarray,
        candidates: np.ndarray,
    ) -> None:
        self.x0, self.y0 = origin
        self.dx, self.dy = step
        self.nx, self.ny = shape
        self.cells = cells  # int32[ny * nx]: grid index, _OUTSIDE or _MIXED
        self.offsets = offsets  # int64[ny * nx + 1]: CSR offsets into candidates
        self.candidates = candidates  # int32: grid indexes touching each mixed cell, ascending

    @classmethod
    def build(cls, geometries: np.ndarray) -> _Raster:
        from scipy import ndimage  # only here: labelling the unmarked blocks of cells

        n = len(geometries)
        if n == 0:
            empty = np.zeros(1, dtype=np.int32) + _OUTSIDE
            return cls((0.0, 0.0), (1.0, 1.0), (1, 1), empty, np.zeros(2, np.int64), empty[:0])
        xmin, ymin, xmax, ymax = shapely.total_bounds(geometries).tolist()
        width, height = max(xmax - xmin, 1e-9), max(ymax - ymin, 1e-9)
        side = (width * height / min(_MAX_CELLS, max(256, n * _CELLS_PER_GRID))) ** 0.5
        nx, ny = max(1, int(np.ceil(width / side))), max(1, int(np.ceil(height / side)))
        dx, dy = width / nx, height / ny
        keys = cls._edge_cells(geometries, xmin, ymin, dx, dy, nx, ny)
        cell_of = keys // n
        mixed = _unique(cell_of)
        cells = np.full(nx * ny, _OUTSIDE, dtype=np.int32)
        cells[mixed] = _MIXED
        tree = shapely.STRtree(geometries)
        # Unmarked blocks: one representative point each.
        labels, count = ndimage.label((cells != _MIXED).reshape(ny, nx))
        flat = labels.ravel()
        if count:
            first = np.full(count + 1, -1, dtype=np.int64)
            first[flat[::-1]] = np.arange(len(flat) - 1, -1, -1)  # the last write wins: first
            first = first[1:]  # label 0 is the mixed cells
            owner = cls._owners(tree, first, xmin, ymin, dx, dy, nx)
            by_label = np.full(count + 1, _MIXED, dtype=np.int32)
            by_label[flat[first]] = owner
            cells = np.where(flat > 0, by_label[flat], cells).astype(np.int32)
        # Grids holding each mixed cell's centre join its candidates.
        px = xmin + (mixed % nx + 0.5) * dx
        py = ymin + (mixed // nx + 0.5) * dy
        pt_idx, grid_idx = tree.query(shapely.points(px, py), predicate="intersects")
        keys = _unique(np.concatenate([keys, mixed[pt_idx] * n + grid_idx]))
        cell_of, grid_of = keys // n, (keys % n).astype(np.int32)
        offsets = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell_of, minlength=nx * ny), out=offsets[1:])
        return cls((xmin, ymin), (dx, dy), (nx, ny), cells, offsets, grid_of)

    @staticmethod
    def _edge_cells(
        geometries: np.ndarray, x0: float, y0: float, dx: float, dy: float, nx: int, ny: int
    ) -> np.ndarray:
        """Sorted unique ``cell * n + grid`` for every cell a grid's boundary may touch."""
        n = len(geometries)
        parts, part_of = shapely.get_parts(shapely.boundary(geometries), return_index=True)
        coords, line_of = shapely.get_coordinates(parts, return_index=True)
        same = line_of[:-1] == line_of[1:]
        u = (coords[:, 0] - x0) / dx
        v = (coords[:, 1] - y0) / dy
        ua, va, ub, vb = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        grid = part_of[line_of[:-1][same]].astype(np.int64)
        pieces = np.maximum(1, np.ceil(2 * np.maximum(abs(ub - ua), abs(vb - va)))).astype(int)
        edge = np.repeat(np.arange(len(ua)), pieces)
        step = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        found: list[np.ndarray] = []
        for lo in range(0, len(edge), _CHUNK):
            e, j = edge[lo : lo + _CHUNK], step[lo : lo + _CHUNK]
            t0, t1 = j / pieces[e], (j + 1) / pieces[e]
            pu0, pu1 = ua[e] + t0 * (ub[e] - ua[e]), ua[e] + t1 * (ub[e] - ua[e])
            pv0, pv1 = va[e] + t0 * (vb[e] - va[e]), va[e] + t1 * (vb[e] - va[e])
            c0 = np.floor(np.minimum(pu0, pu1) - _EPSILON).astype(np.int64)
            c1 = np.floor(np.maximum(pu0, pu1) + _EPSILON).astype(np.int64)
            r0 = np.floor(np.minimum(pv0, pv1) - _EPSILON).astype(np.int64)
            r1 = np.floor(np.maximum(pv0, pv1) + _EPSILON).astype(np.int64)
            for di in (0, 1):
                for dj in (0, 1):
                    ci, rj = c0 + di, r0 + dj
                    ok = (ci <= c1) & (rj <= r1) & (ci >= 0) & (ci < nx) & (rj >= 0) & (rj < ny)
                    found.append(_unique((rj[ok] * nx + ci[ok]) * n + grid[e][ok]))
        return _unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    @staticmethod
    def _owners(
        tree: shapely.STRtree,
        cells: np.ndarray,
        x0: float,
        y0: float,
        dx: float,
        dy: float,
        nx: int,
    ) -> np.ndarray:
        """The lowest grid index holding each cell's centre, -1 for none."""
        px, py = x0 + (cells % nx + 0.5) * dx, y0 + (cells // nx + 0.5) * dy
        pt_idx, grid_idx = tree.query(shapely.points(px, py), predicate="intersects")
        best = np.full(len(cells), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best, pt_idx, grid_idx)
        best[best == np.iinfo(np.int32).max] = _OUTSIDE
        return best.astype(np.int32)

    def locate(self, geometries: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        fx = np.floor((xs - self.x0) / self.dx)
        fy = np.floor((ys - self.y0) / self.dy)
        # NaN fails both comparisons, so NaN coordinates fall outside with the far points.
        inside = (fx >= 0) & (fx <= self.nx) & (fy >= 0) & (fy <= self.ny)
        # A point on the bounds' far edge (x = max x) belongs to the last column: a grid edge
        # lies there, so that cell is mixed or outside, never wrongly "pure".
        np.minimum(fx, self.nx - 1, out=fx)
        np.minimum(fy, self.ny - 1, out=fy)
        cell = np.zeros(xs.shape[0], dtype=np.int64)
        cell[inside] = fy[inside].astype(np.int64) * self.nx + fx[inside].astype(np.int64)
        found = np.where(inside, self.cells[cell], _OUTSIDE).astype(np.int64)
        mixed = np.flatnonzero(found == _MIXED)
        found[mixed] = _OUTSIDE
        if mixed.size == 0:
            return found
        start = self.offsets[cell[mixed]]
        count = self.offsets[cell[mixed] + 1] - start
        rank = 0
        pending = np.ones(mixed.size, dtype=bool)
        # Candidates come in code order: the first one that holds the point is the answer.
        while True:
            todo = np.flatnonzero(pending & (count > rank))
            if todo.size == 0:
                break
            grid = self.candidates[start[todo] + rank]
            hit = shapely.intersects_xy(geometries[grid], xs[mixed[todo]], ys[mixed[todo]])
            found[mixed[todo[hit]]] = grid[hit]
            pending[todo[hit]] = False
            rank += 1
        return found


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted unique values by sorting (numpy 2's hash-based ``unique`` is ~20× slower on
    millions of int64 keys here)."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
