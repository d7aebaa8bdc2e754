"""Reading Chinese addresses into parts (pure)."""

from __future__ import annotations

import pytest

from civicloop.registry.address import building_keys, format_address, parse


@pytest.mark.parametrize(
    "text",
    [
        "张杨路500弄12号502室",
        "上海市浦东新区陆家嘴街道张杨路500弄12号502室",
        "张杨路５００弄１２号５０２室",
        "张杨路五百弄十二号502室",
        "张杨路500弄12号楼502",
        "张杨路500弄12-502",
        "张杨路 500 弄 12 号 502 室",
    ],
)
def test_variants_read_as_one_address(text: str) -> None:
    parts = parse(text)
    assert (parts.road, parts.lane, parts.number, parts.room) == ("张杨路", 500, 12, 502)
    assert building_keys(parts)[0] == "R|张杨路|500|12"


def test_district_and_street_are_parts() -> None:
    parts = parse("上海市浦东新区南码头路街道临沂路88号")
    assert parts.district == "浦东新区"
    assert parts.street == "南码头路街道"
    assert (parts.road, parts.number) == ("临沂路", 88)


def test_compound_form_with_unit() -> None:
    parts = parse("金桥新村12号楼3单元502室")
    assert (parts.compound, parts.building, parts.unit, parts.room) == ("金桥新村", 12, 3, 502)
    assert building_keys(parts) == ["C|金桥新村|12"]
    dashed = parse("金桥新村12-3-502")
    assert (dashed.building, dashed.unit, dashed.room) == (12, 3, 502)


def test_block_inside_a_house_number_and_a_stem_key() -> None:
    parts = parse("川沙新镇川沙路5号3幢201室")
    assert (parts.street, parts.road, parts.number, parts.building, parts.room) == (
        "川沙新镇",
        "川沙路",
        5,
        3,
        201,
    )
    assert building_keys(parse("世纪大道100号"))[1] == "S|世纪||100"


def test_no_building_no_key_and_canonical_form() -> None:
    assert building_keys(parse("浦东新区陆家嘴街道")) == []
    assert format_address(parse("张杨路五百弄十二号502室")) == "张杨路500弄12号502室"
