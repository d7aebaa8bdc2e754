"""Batch point → grid (``GridIndex.locate_indices``, the raster road): the same answers as a
brute-force test of every grid, for random points, points on shared edges and vertices, and
points outside the district."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from civicloop.demo.generator import generate_district
from civicloop.geo.index import GridIndex


def brute_force(index: GridIndex, xs: np.ndarray, ys: np.ndarray) -> list[str | None]:
    """The lowest code among the grids each point intersects (None for none), grid by grid."""
    best = np.full(len(xs), -1, dtype=np.int64)
    for i, code in enumerate(index.codes):
        hit = shapely.intersects_xy(index.geometry(code), xs, ys) & (best < 0)
        best[hit] = i
    return [index.codes[i] if i >= 0 else None for i in best.tolist()]


@pytest.fixture(scope="module")
def index() -> GridIndex:
    plan = generate_district(seed=11, grids=600, communities=120)
    return GridIndex((g.code, g.geometry) for g in plan.grids)


def test_random_points_match_brute_force(index: GridIndex) -> None:
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = index.bounds
    # A margin around the district: points outside must come back None.
    xs = rng.uniform(x0 - 0.02, x1 + 0.02, 30_000)
    ys = rng.uniform(y0 - 0.02, y1 + 0.02, 30_000)
    got = index.locate_many(xs, ys)
    assert got == brute_force(index, xs, ys)
    assert None in got and len({g for g in got if g}) > 500


def test_vertices_and_edges_take_the_lowest_code(index: GridIndex) -> None:
    coords = shapely.get_coordinates(np.array([index.geometry(c) for c in index.codes[:200]]))
    vertices = np.unique(coords, axis=0)
    # Edge midpoints and points a hair inside/outside a vertex as well.
    mids = (coords[:-1] + coords[1:]) / 2
    pts = np.vstack([vertices, mids, vertices + 1e-12, vertices - 1e-12])
    xs, ys = pts[:, 0].copy(), pts[:, 1].copy()
    expected = brute_force(index, xs, ys)
    assert index.locate_many(xs, ys) == expected
    # A shared vertex is in several grids: the answer is the lowest code among them.
    shared = [
        (x, y)
        for x, y in vertices[:400]
        if len(index._tree.query(shapely.Point(x, y), predicate="intersects")) > 1
    ]
    assert shared
    for x, y in shared[:50]:
        touching = sorted(
            index.codes[i] for i in index._tree.query(shapely.Point(x, y), predicate="intersects")
        )
        assert index.locate_many([x], [y]) == [touching[0]] == [index.locate(x, y)]


def test_outside_and_nan_are_none(index: GridIndex) -> None:
    got = index.locate_indices(
        np.array([0.0, np.nan, 121.5, 200.0]), np.array([0.0, 31.2, np.nan, 31.2])
    )
    assert got.tolist() == [-1, -1, -1, -1]
    assert index.locate_many([], []) == []
    with pytest.raises(ValueError):
        index.locate_indices([1.0, 2.0], [1.0])


def test_the_tree_road_gives_the_same_answers(index: GridIndex) -> None:
    rng = np.random.default_rng(9)
    x0, y0, x1, y1 = index.bounds
    xs, ys = rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)
    assert index.locate_tree(xs, ys) == index.locate_many(xs, ys)


def test_background_build_answers_while_it_runs() -> None:
    plan = generate_district(seed=3, grids=300, communities=80)
    index = GridIndex((g.code, g.geometry) for g in plan.grids)
    index.prepare_batch(wait=False)
    rng = np.random.default_rng(1)
    x0, y0, x1, y1 = index.bounds
    xs, ys = rng.uniform(x0, x1, 2000), rng.uniform(y0, y1, 2000)
    during = index.locate_many(xs, ys)  # the tree road or the raster, whichever is ready
    assert index.prepare_batch(wait=True) is not None
    assert index.locate_many(xs, ys) == during == brute_force(index, xs, ys)


@pytest.mark.slow
def test_brute_force_agreement_at_4000_grids() -> None:
    plan = generate_district(seed=20261127, grids=4000, communities=1300)
    index = GridIndex((g.code, g.geometry) for g in plan.grids)
    rng = np.random.default_rng(2)
    x0, y0, x1, y1 = index.bounds
    xs, ys = rng.uniform(x0, x1, 50_000), rng.uniform(y0, y1, 50_000)
    assert index.locate_many(xs, ys) == index.locate_tree(xs, ys)
