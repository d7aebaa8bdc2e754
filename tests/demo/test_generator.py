"""The demo district generator: counts, nesting, tiling, people, reproducibility, boundaries."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from civicloop.demo.generator import (
    DEMO_PASSWORD,
    HUAMU_CODE,
    LUJIAZUI_CODE,
    STREETS,
    DistrictPlan,
    RegionSpec,
    generate_district,
    load_boundary,
)
from civicloop.demo.pudong_outline import pudong_outline
from civicloop.geo.index import GridIndex
from civicloop.geo.model import geometry_area_m2
from civicloop.org.model import DepartmentKind, RegionLevel, Role

BUREAUS = [
    ("cgzf", "城管执法局", "Urban Management Enforcement Bureau", DepartmentKind.BUREAU),
    ("zjw", "建设和交通委员会", "Construction and Transport Commission", DepartmentKind.BUREAU),
    ("water", "浦东威立雅自来水", "Pudong Veolia Water", DepartmentKind.UTILITY),
]
REPO = Path(__file__).resolve().parents[2]
BOUNDARY = next(
    (
        p
        for p in (
            Path("/work/shared/data/pudong_boundary.geojson"),
            REPO.parent / "shared" / "data" / "pudong_boundary.geojson",
        )
        if p.is_file()
    ),
    None,
)
needs_boundary = pytest.mark.skipif(BOUNDARY is None, reason="pudong_boundary.geojson not present")


@pytest.fixture(scope="module")
def plan() -> DistrictPlan:
    return generate_district(bureau_departments=BUREAUS)


def small(**kwargs: Any) -> DistrictPlan:
    return generate_district(**{"grids": 300, "communities": 90, **kwargs})


def dump(plan: DistrictPlan) -> str:
    return json.dumps(dataclasses.asdict(plan), ensure_ascii=False, sort_keys=True)


def assert_tiles(parent: RegionSpec, children: list[RegionSpec], *, rel: float = 0.01) -> None:
    """Children lie inside the parent, do not overlap, and cover it."""
    outer = shape(parent.geometry)
    pieces = [shape(c.geometry) for c in children]
    # Snapping to 1e-6° moves a cut vertex off the parent's edge by up to ~0.07 m, so a child
    # may stray across it by a sliver that thin (tens of m² along a 500 m edge), never more.
    margin = outer.buffer(1e-6)
    for child, piece in zip(children, pieces, strict=True):
        assert margin.covers(piece), child.code
        assert piece.difference(outer).area <= 1e-3 * piece.area, child.code
    total = sum(p.area for p in pieces)
    union = shapely.union_all(pieces).area
    assert union == pytest.approx(total, rel=1e-6), f"siblings overlap under {parent.code}"
    assert total == pytest.approx(outer.area, rel=rel), f"gaps under {parent.code}"
    assert sum(c.area_m2 for c in children) == pytest.approx(parent.area_m2, rel=rel)


def assert_sound(plan: DistrictPlan, *, communities: int, grids: int) -> None:
    """The structural invariants every plan must keep, whatever its size or outline."""
    assert len(plan.streets) == len(STREETS) == 36
    assert abs(len(plan.communities) - communities) <= 0.05 * communities
    assert abs(len(plan.grids) - grids) <= 0.05 * grids
    codes = [r.code for r in plan.regions()]
    assert len(codes) == len(set(codes))
    by_code = {r.code: r for r in plan.regions()}
    lengths = {
        RegionLevel.DISTRICT: 6,
        RegionLevel.STREET: 9,
        RegionLevel.COMMUNITY: 12,
        RegionLevel.GRID: 15,
    }
    seen: set[str] = set()
    for region in plan.regions():  # parents before children
        assert len(region.code) == lengths[region.level] and region.code.isdigit()
        if region.level is RegionLevel.DISTRICT:
            assert region.parent_code is None
        else:
            assert region.parent_code in seen
            assert region.code.startswith(region.parent_code)
            parent = by_code[region.parent_code]
            assert list(lengths).index(parent.level) == list(lengths).index(region.level) - 1
        seen.add(region.code)


# ---------------------------------------------------------------- the default district


def test_default_counts_codes_and_names(plan: DistrictPlan) -> None:
    assert_sound(plan, communities=1300, grids=4000)
    assert (plan.district.code, plan.district.name) == ("310115", "浦东新区")
    assert [s.name for s in plan.streets] == [name for _, name, *_ in STREETS]
    street = plan.street_named("陆家嘴街道")
    assert street.code == LUJIAZUI_CODE == "310115005"
    assert plan.street_named("花木街道").code == HUAMU_CODE == "310115016"
    assert plan.street_named("南汇新城镇").code == "310115145"
    community = next(c for c in plan.communities if c.parent_code == street.code)
    assert community.name.endswith(("居委", "村"))
    grid = next(g for g in plan.grids if g.parent_code == community.code)
    assert grid.code == community.code + "001"
    assert grid.name == f"{community.name}网格01"
    names = [c.name for c in plan.communities]
    assert len(set(names)) == len(names)


def test_streets_sit_roughly_where_they_really_are(plan: DistrictPlan) -> None:
    def where(name: str) -> tuple[float, float]:
        return plan.street_named(name).centroid

    # The urban 街道 hug the river in the north-west; 南汇新城镇 is the south-east cape.
    assert where("陆家嘴街道")[0] < 121.53 and where("陆家嘴街道")[1] > 31.2
    assert where("南汇新城镇")[0] > 121.85 and where("南汇新城镇")[1] < 30.95
    assert where("高桥镇")[1] > where("花木街道")[1] > where("惠南镇")[1]
    # Urban streets are small and dense; towns are large.
    urban = [s for s in plan.streets if s.name.endswith("街道")]
    towns = [s for s in plan.streets if not s.name.endswith("街道")]
    assert max(s.area_m2 for s in urban) < min(s.area_m2 for s in towns)
    density = defaultdict(int)
    for c in plan.communities:
        density[c.parent_code] += 1
    per_km2 = {s.code: density[s.code] / (s.area_m2 / 1e6) for s in plan.streets}
    assert min(per_km2[s.code] for s in urban) > max(per_km2[s.code] for s in towns)


def test_every_level_tiles_its_parent(plan: DistrictPlan) -> None:
    assert_tiles(plan.district, plan.streets)
    children = defaultdict(list)
    for region in [*plan.communities, *plan.grids]:
        children[region.parent_code].append(region)
    by_code = {r.code: r for r in plan.regions()}
    for parent_code, kids in children.items():
        assert_tiles(by_code[parent_code], kids)
    assert sum(g.area_m2 for g in plan.grids) == pytest.approx(plan.district.area_m2, rel=1e-3)


def test_geometries_are_valid_rounded_geojson_with_centroids_inside(plan: DistrictPlan) -> None:
    for region in plan.regions():
        geometry = region.geometry
        assert geometry["type"] in ("Polygon", "MultiPolygon")
        polygon = shape(geometry)
        assert polygon.is_valid, region.code
        for lon, lat in shapely.get_coordinates(polygon).tolist():
            assert round(lon, 6) == lon and round(lat, 6) == lat
        rings = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        assert all(shapely.LinearRing(poly[0]).is_ccw for poly in rings)  # RFC 7946 winding
        assert polygon.contains(shapely.Point(region.centroid)), region.code
        assert region.area_m2 > 0
    # The vectorised area in the generator is the pure geo.model formula.
    for region in [plan.district, *plan.streets, *plan.grids[:200]]:
        assert region.area_m2 == pytest.approx(geometry_area_m2(region.geometry), rel=1e-9, abs=0.1)
    # The coarse outline covers about the area of the real one (≈ 1,700 km² with its shore).
    assert 1.5e9 < plan.district.area_m2 < 1.8e9
    # A unit grid is on the order of 10 hectares to a few km².
    areas = sorted(g.area_m2 for g in plan.grids)
    assert areas[0] > 1e4 and areas[-1] < 5e6


def test_grids_locate_with_the_grid_index(plan: DistrictPlan) -> None:
    index = GridIndex((g.code, g.geometry) for g in plan.grids)
    assert index.locate_many(
        [g.centroid[0] for g in plan.grids], [g.centroid[1] for g in plan.grids]
    ) == [g.code for g in plan.grids]
    # The community and street centroids fall in grids of that community or street.
    for region in [*plan.streets, *plan.communities[:200]]:
        assert (index.locate(*region.centroid) or "").startswith(region.code)


def test_departments(plan: DistrictPlan) -> None:
    by_code = {d.code: d for d in plan.departments}
    assert len(by_code) == len(plan.departments)
    assert by_code["cgzf"].region_code is None and by_code["cgzf"].name == "城管执法局"
    assert by_code["water"].kind is DepartmentKind.UTILITY
    office = by_code[f"street-{LUJIAZUI_CODE}"]
    assert (office.name, office.kind, office.region_code) == (
        "陆家嘴街道城运分中心",
        DepartmentKind.STREET_OFFICE,
        LUJIAZUI_CODE,
    )
    assert office.name_en == "Lujiazui Subdistrict Operations Sub-centre"
    assert sum(d.kind is DepartmentKind.STREET_OFFICE for d in plan.departments) == 36
    for community in plan.communities:
        committee = by_code[f"community-{community.code}"]
        assert committee.kind is DepartmentKind.COMMUNITY
        assert committee.region_code == community.code
        assert committee.name.startswith(community.name)


def test_personas(plan: DistrictPlan) -> None:
    users = {u.username: u for u in plan.users}
    assert len(users) == len(plan.users)
    expected = {
        "operator": Role.OPERATOR,
        "dispatcher": Role.DISPATCHER,
        "chief": Role.SHIFT_CHIEF,
        "supervisor": Role.DISTRICT_SUPERVISOR,
        "auditor": Role.AUDITOR,
        "admin": Role.ADMIN,
        "handler-cgzf": Role.DEPARTMENT_HANDLER,
        "handler-zjw": Role.DEPARTMENT_HANDLER,
        "handler-water": Role.DEPARTMENT_HANDLER,
        "handler-street": Role.DEPARTMENT_HANDLER,
        "gridworker": Role.GRID_WORKER,
        "gridworker2": Role.GRID_WORKER,
        "street-ljz": Role.STREET_ADMIN,
        "street-hm": Role.STREET_ADMIN,
        "citizen": Role.CITIZEN,
        "citizen2": Role.CITIZEN,
        "enterprise": Role.ENTERPRISE,
    }
    assert {name: u.role for name, u in users.items()} == expected
    regions = {r.code for r in plan.regions()}
    departments = {d.code for d in plan.departments}
    for u in plan.users:
        assert u.display_name and u.note
        assert u.region_code is None or u.region_code in regions
        assert set(u.department_codes) <= departments
    for name in ("operator", "dispatcher", "chief", "supervisor", "auditor", "admin"):
        assert users[name].region_code == "310115"
    assert users["handler-cgzf"].department_codes == ("cgzf",)
    assert users["handler-street"].department_codes == (f"street-{LUJIAZUI_CODE}",)
    first_ljz = next(c for c in plan.communities if c.parent_code == LUJIAZUI_CODE)
    assert users["gridworker"].region_code == first_ljz.code
    assert not users["gridworker2"].region_code.startswith(LUJIAZUI_CODE)
    assert (users["street-ljz"].region_code, users["street-hm"].region_code) == (
        LUJIAZUI_CODE,
        HUAMU_CODE,
    )
    assert len(DEMO_PASSWORD) >= 12


def test_no_bureaus_means_no_bureau_handlers() -> None:
    plan = small()
    assert not any(
        u.username.startswith("handler-") and u.username != "handler-street" for u in plan.users
    )
    assert all(d.region_code is not None for d in plan.departments)


# ---------------------------------------------------------------- reproducibility and arguments


def test_same_seed_same_bytes_and_other_seed_other_district() -> None:
    first = dump(small(seed=11, bureau_departments=BUREAUS))
    assert dump(small(seed=11, bureau_departments=BUREAUS)) == first
    assert dump(small(seed=12, bureau_departments=BUREAUS)) != first


def test_small_and_odd_counts_still_hold_the_invariants() -> None:
    for communities, grids in ((36, 36), (72, 240), (401, 1203)):
        plan = small(communities=communities, grids=grids, seed=communities)
        assert_sound(plan, communities=communities, grids=grids)
        assert_tiles(plan.district, plan.streets)


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="communities must be at least 36"):
        generate_district(communities=20, grids=100)
    with pytest.raises(ValueError, match=r"grids \(50\) must be at least communities \(100\)"):
        generate_district(communities=100, grids=50)
    with pytest.raises(ValueError, match="at most 999"):
        generate_district(communities=36, grids=40_000)
    with pytest.raises(ValueError, match="unique"):
        small(bureau_departments=[BUREAUS[0], BUREAUS[0]])


def test_a_foreign_outline_still_gets_all_36_streets() -> None:
    box = {
        "type": "Polygon",
        "coordinates": [
            [[116.3, 39.9], [116.5, 39.9], [116.5, 40.0], [116.3, 40.0], [116.3, 39.9]]
        ],
    }
    plan = small(boundary=box)
    assert_sound(plan, communities=90, grids=300)
    assert_tiles(plan.district, plan.streets)
    assert all(s.area_m2 > 0 for s in plan.streets)


@pytest.mark.slow
def test_forty_thousand_grids_make_a_sound_district() -> None:
    # How long this takes is measured by `civicloop demo --grids 40000`, not asserted here.
    plan = generate_district(grids=40_000)
    assert_sound(plan, communities=1300, grids=40_000)
    index = GridIndex((g.code, g.geometry) for g in plan.grids)
    sample = plan.grids[::97]
    assert index.locate_many([g.centroid[0] for g in sample], [g.centroid[1] for g in sample]) == [
        g.code for g in sample
    ]


# ---------------------------------------------------------------- boundaries


@needs_boundary
def test_the_real_boundary_file_makes_a_sound_district() -> None:
    assert BOUNDARY is not None
    outline = load_boundary(BOUNDARY)
    assert outline["type"] == "MultiPolygon"  # the mainland and the 九段沙 shoals
    plan = generate_district(boundary=outline, grids=1500, communities=500)
    assert_sound(plan, communities=500, grids=1500)
    assert_tiles(plan.district, plan.streets)
    assert plan.district.area_m2 == pytest.approx(geometry_area_m2(outline), rel=1e-3)
    coarse = geometry_area_m2(pudong_outline())
    assert plan.district.area_m2 == pytest.approx(coarse, rel=0.05)
    index = GridIndex((g.code, g.geometry) for g in plan.grids)
    inner = shape(outline).buffer(-1e-5)
    points = shapely.get_coordinates(inner.representative_point()).tolist()
    points += [s.centroid for s in plan.streets]
    assert None not in index.locate_many([p[0] for p in points], [p[1] for p in points])


def test_load_boundary_reads_features_and_unions_them(tmp_path: Path) -> None:
    left = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    right = {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]}
    path = tmp_path / "two.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": left},
                    {"type": "Feature", "properties": {}, "geometry": right},
                ],
            }
        )
    )
    outline = load_boundary(path)
    assert outline["type"] == "Polygon"
    assert shape(outline).area == pytest.approx(2.0)
    single = tmp_path / "one.geojson"
    single.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": left}))
    assert shape(load_boundary(single)).area == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
            '"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}',
            "Polygon or MultiPolygon, got LineString",
        ),
        ('{"type": "Point", "coordinates": [121.5, 31.2]}', "got Point"),
        ('{"type": "FeatureCollection", "features": []}', "no polygon"),
        (
            '{"type": "Polygon", "coordinates": [[["a", 0], [1, 1], [1, 0], ["a", 0]]]}',
            "malformed Polygon",
        ),
        ('{"type": "MultiPolygon", "coordinates": 5}', "malformed MultiPolygon"),
        ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}', "no polygon"),
        (
            '{"type": "Polygon", "coordinates": [[[500000, 3400000], [510000, 3400000], '
            "[510000, 3410000], [500000, 3400000]]]}",
            "not lon/lat",
        ),
        ("not json at all", "cannot read"),
        ("[1, 2, 3]", "expected a GeoJSON object"),
    ],
)
def test_load_boundary_names_the_file_and_the_problem(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(ValueError, match=problem) as caught:
        load_boundary(path)
    assert "bad.geojson" in str(caught.value)
    with pytest.raises(ValueError, match="cannot read"):
        load_boundary(tmp_path / "missing.geojson")
