"""Pure rules: Chinese numerals, text normalisation, house numbers along a road line."""

from __future__ import annotations

import pytest

from civicloop.intake.model import chinese_to_int, normalise, place_on_line


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一千五百", 1500),
        ("一五零零", 1500),
        ("十二", 12),
        ("十", 10),
        ("二十三", 23),
        ("两百", 200),
        ("一百零八", 108),
        ("三千零五", 3005),
        ("一万两千", 12000),
    ],
)
def test_chinese_numerals(text: str, value: int) -> None:
    assert chinese_to_int(text) == value


def test_not_a_number() -> None:
    assert chinese_to_int("一五百") is None
    assert chinese_to_int("") is None


def test_normalise_rewrites_house_numbers_only() -> None:
    assert normalise("张杨路一千五百号") == "张杨路1500号"
    assert normalise("张杨路１５００弄３号") == "张杨路1500弄3号"
    assert normalise("金桥新村十二号楼") == "金桥新村12号楼"
    # numerals that are words, not house numbers, stay as they are
    assert normalise("一网统管，一起处理") == "一网统管,一起处理"


def test_place_on_line_walks_the_polyline() -> None:
    line = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]
    assert place_on_line(line, 1, 201) == (0.0, 0.0)
    assert place_on_line(line, 201, 201) == (1.0, 1.0)
    lon, lat = place_on_line(line, 151, 201)  # three quarters of the way: on the second leg
    assert lon == pytest.approx(1.0, abs=1e-3)
    assert lat == pytest.approx(0.5, abs=1e-2)
    assert place_on_line(line, 9999, 201) == (1.0, 1.0)  # beyond the last number: the end
