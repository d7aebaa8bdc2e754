"""The geocoder reads real-looking report texts against the generated demo gazetteer."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point

from civicloop.intake.gazetteer import list_entries
from civicloop.intake.geocoder import geocode
from civicloop.intake.model import place_on_line
from civicloop.runtime import Platform


def _entry(p: Platform, name: str) -> dict:
    return next(e for e in list_entries(p) if e["name"] == name)


def test_road_and_house_number_is_placed_along_the_road(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    road = _entry(p, "张杨路")
    m = geocode(p, "张杨路1500号门口垃圾堆了三天没人清理")
    assert m is not None
    assert (m.precision, m.entry_id, m.matched) == ("point", road["id"], "张杨路1500号")
    assert m.confidence >= 0.85
    expected = place_on_line(road["line"], 1500, road["number_max"])
    assert (m.lon, m.lat) == pytest.approx(expected, abs=1e-6)
    assert LineString(road["line"]).distance(Point(m.lon, m.lat)) < 1e-6
    assert m.grid_code == p.grids.locate(m.lon, m.lat)
    # a higher number lies further along the road
    far = geocode(p, "张杨路2500号")
    assert far is not None
    line = LineString(road["line"])
    assert line.project(Point(far.lon, far.lat)) > line.project(Point(m.lon, m.lat))


def test_lane_and_number(gazetteer_platform: Platform) -> None:
    m = geocode(gazetteer_platform, "张杨路1500弄3号楼道里堆满杂物")
    assert m is not None
    assert m.precision == "point"
    assert m.matched == "张杨路1500弄3号"


def test_full_width_digits_and_chinese_numerals(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    plain = geocode(p, "张杨路1500号")
    assert plain is not None
    for text in (
        "张杨路１５００号有人占道",
        "张杨路一千五百号有人占道",
        "张杨路一五零零号有人占道",
    ):
        m = geocode(p, text)
        assert m is not None, text
        assert (m.lon, m.lat, m.precision) == (plain.lon, plain.lat, "point"), text


def test_compound_with_building(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    compound = _entry(p, "金桥新村")
    m = geocode(p, "金桥新村12号楼下水管爆了，水漫到路上")
    assert m is not None
    assert (m.precision, m.entry_id, m.matched) == ("compound", compound["id"], "金桥新村12号楼")
    assert (m.lon, m.lat) == (compound["lon"], compound["lat"])
    assert m.grid_code == compound["grid_code"]
    assert m.grid_code.startswith("310115120")  # 金桥镇, where the compound belongs


def test_alias_finds_the_entry(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    m = geocode(p, "金桥小区3号楼楼道灯坏了")
    assert m is not None
    assert m.entry_id == _entry(p, "金桥新村")["id"]


def test_landmark(gazetteer_platform: Platform) -> None:
    p = gazetteer_platform
    m = geocode(p, "东方医院门口有人乱设摊")
    assert m is not None
    assert (m.precision, m.matched, m.entry_id) == (
        "point",
        "东方医院",
        _entry(p, "东方医院")["id"],
    )
    station = geocode(p, "世纪大道站2号口共享单车堆满了")
    assert station is not None
    assert station.entry_id == _entry(p, "世纪大道站")["id"]  # the station, not the road


@pytest.mark.parametrize("text", ["张杨路与浦东南路交叉口红绿灯坏了", "张杨路浦东南路口积水很深"])
def test_intersection(gazetteer_platform: Platform, text: str) -> None:
    p = gazetteer_platform
    m = geocode(p, text)
    assert m is not None
    assert m.precision == "intersection"
    a = LineString(_entry(p, "张杨路")["line"])
    b = LineString(_entry(p, "浦东南路")["line"])
    assert a.distance(Point(m.lon, m.lat)) < 1e-6
    assert b.distance(Point(m.lon, m.lat)) < 1e-6
    assert m.matched.startswith("张杨路") and m.matched.endswith("口")


def test_road_without_number_is_imprecise(gazetteer_platform: Platform) -> None:
    m = geocode(gazetteer_platform, "世纪大道上好几盏路灯不亮")
    assert m is not None
    assert m.precision == "road"
    assert m.confidence < gazetteer_platform.settings.triage_confidence


def test_street_only(gazetteer_platform: Platform) -> None:
    m = geocode(gazetteer_platform, "花木街道晚上噪音扰民")
    assert m is not None
    assert m.precision == "street"
    assert m.grid_code.startswith("310115016")


@pytest.mark.parametrize("text", ["", "   ", "今天天气很好，谢谢你们的工作", "一网统管一起管"])
def test_no_place_gives_none(gazetteer_platform: Platform, text: str) -> None:
    assert geocode(gazetteer_platform, text) is None
