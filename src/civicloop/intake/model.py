"""Pure rules of free-text intake: text normalisation, Chinese numerals, places on a line.

People write house numbers every way there is: ``1500``, full-width ``１５００``, ``一千五百``,
digit by digit ``一五零零``, ``两百``. The geocoder first rewrites all of them to ASCII digits
(only where a number is plainly a number: before 号/弄/号楼/栋/幢/室/支弄, so "一网统管" stays
text), then reads the address with regexes over the segmented text.

A road's house numbers run along its line from number 1 at the first point to ``number_max``
at the last (Chinese roads are numbered from one end; odd and even sides are not modelled),
so ``place_on_line`` turns a number into a point by walking the polyline.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from enum import StrEnum


class EntryKind(StrEnum):
    ROAD = "road"
    COMPOUND = "compound"  # 小区 / 苑 / 花园 / 新村
    SCHOOL = "school"
    HOSPITAL = "hospital"
    METRO_STATION = "metro_station"
    MARKET = "market"
    PARK = "park"
    LANDMARK = "landmark"  # any other named place (a tower, a museum, a sports centre)


class ReportStatus(StrEnum):
    PROPOSED = "proposed"  # the platform is confident: one-step confirmation
    TRIAGE = "triage"  # a person must look: low confidence in the element or the place
    CONFIRMED = "confirmed"  # a case was filed from it
    REJECTED = "rejected"  # not a matter for the platform (with a reason)


OPEN_STATUSES = (ReportStatus.PROPOSED, ReportStatus.TRIAGE)

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGITS.update({"六": 6, "七": 7, "八": 8, "九": 9})
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_NUMBER = re.compile(r"[零〇○一二两三四五六七八九十百千万]+(?=\s*(?:号|弄|支弄|栋|幢|室|层|楼))")


def chinese_to_int(text: str) -> int | None:
    """``一千五百`` → 1500, ``十二`` → 12, ``一五零零`` → 1500; None when it is not a number."""
    if not text:
        return None
    if all(ch in _DIGITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    for ch in text:
        if _DIGITS.get(ch) == 0:
            continue  # 零 only holds a place in 一百零八
        if ch in _DIGITS:
            if digit is not None:
                return None  # two digits without a unit between them (一五百)
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
        else:
            return None
    return total + section + (digit or 0)


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters → ASCII) and Chinese house numbers → digits."""
    text = unicodedata.normalize("NFKC", text)

    def repl(m: re.Match[str]) -> str:
        value = chinese_to_int(m.group(0))
        return m.group(0) if value is None else str(value)

    return _CN_NUMBER.sub(repl, text)


def place_on_line(
    line: list[list[float]] | list[tuple[float, float]], number: int, number_max: int
) -> tuple[float, float]:
    """The point at house ``number`` on a road numbered 1…``number_max`` along ``line``."""
    if len(line) == 1 or number_max <= 1:
        return float(line[0][0]), float(line[0][1])
    fraction = min(max((number - 1) / (number_max - 1), 0.0), 1.0)
    # lengths in a local equirectangular frame: good to a metre over a district
    k = math.cos(math.radians(float(line[0][1])))
    seg = [math.hypot((b[0] - a[0]) * k, b[1] - a[1]) for a, b in itertools.pairwise(line)]
    target = fraction * sum(seg)
    for (a, b), length in zip(itertools.pairwise(line), seg, strict=True):
        if target <= length and length > 0:
            t = target / length
            return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        target -= length
    return float(line[-1][0]), float(line[-1][1])
