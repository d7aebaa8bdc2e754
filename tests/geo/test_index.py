"""The grid index locates points on a generated district, and the pure geo rules hold."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from civicloop.demo.generator import DistrictPlan, generate_district
from civicloop.geo.index import GridIndex
from civicloop.geo.model import (
    EARTH_AUTHALIC_RADIUS_M,
    LonLat,
    ancestor_codes,
    geometry_area_m2,
    level_of_code,
    parent_code,
    polygons_of,
)
from civicloop.org.model import RegionLevel


def square(x: float, y: float, size: float = 1.0) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def plan() -> DistrictPlan:
    # Thousands of grids, half the default, to keep the suite quick.
    return generate_district(grids=2000, communities=650)


@pytest.fixture(scope="module")
def index(plan: DistrictPlan) -> GridIndex:
    return GridIndex((g.code, g.geometry) for g in plan.grids)


# ---------------------------------------------------------------- on the demo district


def test_index_holds_every_grid_within_the_district_bounds(
    plan: DistrictPlan, index: GridIndex
) -> None:
    assert len(index) == len(plan.grids) == 2000
    district = shape(plan.district.geometry).bounds
    assert index.bounds == pytest.approx(district, abs=1e-6)
    assert index.codes == sorted(g.code for g in plan.grids)


def test_every_grid_centroid_locates_back_to_its_grid(plan: DistrictPlan, index: GridIndex) -> None:
    wrong = [g.code for g in plan.grids if index.locate(*g.centroid) != g.code]
    assert wrong == []
    lons = [g.centroid[0] for g in plan.grids]
    lats = [g.centroid[1] for g in plan.grids]
    assert index.locate_many(lons, lats) == [g.code for g in plan.grids]


def test_points_outside_the_outline_locate_to_none(plan: DistrictPlan, index: GridIndex) -> None:
    outline = shape(plan.district.geometry)
    rng = random.Random(5)
    xmin, ymin, xmax, ymax = outline.bounds
    outside = []
    while len(outside) < 300:
        lon, lat = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if outline.distance(shapely.Point(lon, lat)) > 1e-5:
            outside.append((lon, lat))
    outside += [(121.0, 31.0), (122.5, 31.2), (0.0, 0.0), (-73.98, 40.75)]
    assert [index.locate(lon, lat) for lon, lat in outside] == [None] * len(outside)
    assert not any(index.contains(lon, lat) for lon, lat in outside)
    lons, lats = zip(*outside, strict=True)
    assert index.locate_many(lons, lats) == [None] * len(outside)


def test_points_inside_the_outline_all_find_a_grid(plan: DistrictPlan, index: GridIndex) -> None:
    # No gaps between grids: any point well inside the district lands somewhere.
    outline = shape(plan.district.geometry)
    inner = outline.buffer(-1e-5)
    rng = random.Random(6)
    xmin, ymin, xmax, ymax = outline.bounds
    points = [(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)) for _ in range(4000)]
    points = [p for p in points if inner.contains(shapely.Point(p))]
    lons, lats = zip(*points, strict=True)
    found = index.locate_many(lons, lats)
    assert None not in found
    # …and in the grid whose polygon really holds it.
    for (lon, lat), code in list(zip(points, found, strict=True))[:300]:
        assert index.geometry(code).intersects(shapely.Point(lon, lat))


def test_locate_many_agrees_with_locate(plan: DistrictPlan, index: GridIndex) -> None:
    rng = random.Random(7)
    xmin, ymin, xmax, ymax = index.bounds
    lons = [rng.uniform(xmin, xmax) for _ in range(3000)]
    lats = [rng.uniform(ymin, ymax) for _ in range(3000)]
    many = index.locate_many(lons, lats)
    assert many == [index.locate(lon, lat) for lon, lat in zip(lons, lats, strict=True)]
    assert any(c is None for c in many) and any(c is not None for c in many)


def test_shared_vertices_resolve_to_the_lowest_touching_code(
    plan: DistrictPlan, index: GridIndex
) -> None:
    # A vertex where grids meet touches several of them; the answer is the lowest code.
    geoms = {g.code: shape(g.geometry) for g in plan.grids[:400]}
    checked = 0
    for polygon in geoms.values():
        for lon, lat in shapely.get_coordinates(polygon)[:3].tolist():
            point = shapely.Point(lon, lat)
            touching = sorted(c for c, gm in geoms.items() if gm.intersects(point))
            if len(touching) < 2:
                continue
            assert index.locate(lon, lat) == touching[0]
            assert index.locate_many([lon], [lat]) == [touching[0]]
            checked += 1
        if checked > 50:
            break
    assert checked > 50


# ---------------------------------------------------------------- on hand-made grids


def test_a_point_on_a_shared_edge_gets_the_lowest_code_whatever_the_input_order() -> None:
    grids = [("b", square(1, 0)), ("a", square(0, 0)), ("c", square(0, 1))]
    for order in (grids, grids[::-1]):
        index = GridIndex(order)
        assert index.locate(1.0, 0.5) == "a"  # edge a|b
        assert index.locate(1.0, 1.0) == "a"  # corner of a, b and c
        assert index.locate(1.5, 1.0) == "b"  # edge b|(nothing): only b
        assert index.locate(0.5, 1.0) == "a"  # edge a|c
        assert index.locate_many([1.0, 1.0, 0.5], [0.5, 1.0, 1.0]) == ["a", "a", "a"]


def test_small_index_answers_contains_bounds_and_len() -> None:
    index = GridIndex([("x", square(10, 20, 0.5)), ("y", square(10.5, 20, 0.5))])
    assert len(index) == 2
    assert index.bounds == (10.0, 20.0, 11.0, 20.5)
    assert index.contains(10.75, 20.25) and index.locate(10.75, 20.25) == "y"
    assert not index.contains(11.25, 20.25)
    assert index.locate(math.nan, 20.25) is None
    assert index.locate_many([math.nan, 10.25], [20.25, math.nan]) == [None, None]
    assert index.locate_many([], []) == []


def test_multipolygon_grids_and_holes_are_respected() -> None:
    donut = {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]],
            [[1, 1], [1, 2], [2, 2], [2, 1], [1, 1]],
        ],
    }
    pair = {
        "type": "MultiPolygon",
        "coordinates": [square(5, 0)["coordinates"], square(7, 0)["coordinates"]],
    }
    index = GridIndex([("d", donut), ("m", pair), ("h", square(1, 1))])
    assert index.locate(0.5, 0.5) == "d"
    assert index.locate(1.5, 1.5) == "h"
    assert index.locate(7.5, 0.5) == "m"
    assert index.locate(6.5, 0.5) is None


def test_bad_input_is_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        GridIndex([("a", square(0, 0)), ("a", square(1, 0))])
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        GridIndex([("a", {"type": "Point", "coordinates": [0, 0]})])
    with pytest.raises(ValueError, match="grid 'a'"):
        GridIndex([("a", {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})])
    with pytest.raises(ValueError, match="no area"):
        GridIndex([("a", {"type": "Polygon", "coordinates": []})])
    with pytest.raises(ValueError, match="equally long"):
        GridIndex([("a", square(0, 0))]).locate_many([0.5, 0.6], [0.5])
    with pytest.raises(KeyError):
        GridIndex([("a", square(0, 0))]).geometry("zz")


# ---------------------------------------------------------------- geo.model


def test_codes_nest_by_prefix_and_length_gives_the_level() -> None:
    grid = "310115005001002"
    assert level_of_code(grid) is RegionLevel.GRID
    assert level_of_code("310115") is RegionLevel.DISTRICT
    assert ancestor_codes(grid) == ("310115", "310115005", "310115005001", grid)
    assert parent_code(grid) == "310115005001"
    assert parent_code("310115") is None
    for bad in ("31011", "3101150051", "31011500500x", "３１０１１５"):
        with pytest.raises(ValueError, match="ASCII digits"):
            level_of_code(bad)


def test_lonlat_refuses_impossible_positions() -> None:
    assert LonLat(121.5, 31.2).lon == 121.5
    for lon, lat in ((181.0, 0.0), (0.0, -91.0), (math.nan, 0.0), (0.0, math.inf)):
        with pytest.raises(ValueError):
            LonLat(lon, lat)


def test_area_matches_the_exact_spherical_cell_area() -> None:
    # A lon/lat rectangle on the sphere has area R²·Δλ·(sin φ2 − sin φ1) exactly.
    lon, lat, size = 121.5, 31.2, 0.01
    exact = (
        EARTH_AUTHALIC_RADIUS_M**2
        * math.radians(size)
        * (math.sin(math.radians(lat + size)) - math.sin(math.radians(lat)))
    )
    assert geometry_area_m2(square(lon, lat, size)) == pytest.approx(exact, rel=1e-6)
    assert exact == pytest.approx(1_057_500, rel=0.001)  # 1.11 km × 0.95 km at 31.2° N
    donut = {
        "type": "MultiPolygon",
        "coordinates": [
            [square(0, 0, 0.02)["coordinates"][0], square(0.005, 0.005, 0.01)["coordinates"][0]]
        ],
    }
    assert geometry_area_m2(donut) == pytest.approx(
        geometry_area_m2(square(0, 0, 0.02)) * 0.75, rel=1e-4
    )


def test_polygons_of_explains_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="got 'LineString'"):
        polygons_of({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    with pytest.raises(ValueError, match="at least 4 positions"):
        polygons_of({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})
    with pytest.raises(ValueError, match="not a \\[lon, lat\\] pair"):
        polygons_of({"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]})
