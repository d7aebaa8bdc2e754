"""Chinese addresses read into their parts, and the keys the building registry is matched on.

Why a parser of its own beside the intake geocoder: the geocoder finds *a place named somewhere
in a sentence* (jieba + the gazetteer); a registry address is a whole field that must be split
into road–number–lane–compound–building–unit–room and compared part by part with stored rooms,
100,000 times per import. This module is pure (regexes over the text the intake normaliser has
already cleaned: full width → ASCII, Chinese house numbers → digits), so it is fast and
testable; free text still goes to the geocoder, which asks :func:`building_keys` of this module
through the registry service first.

Variants that read as one address::

    上海市浦东新区陆家嘴街道张杨路500弄12号502室
    张杨路５００弄十二号５０２室            (full width, Chinese numerals)
    张杨路500弄12号楼502                   (号楼 for 号, no 室)
    张杨路500弄12-502                      (building-room with a dash)
    金桥新村12号楼3单元502室               (compound and building instead of road and lane)

A building has up to two keys: ``R|road|lane|number`` (the postal form) and
``C|compound|building`` (the compound form). A room adds ``|unit|room``. Road names keep their
suffix (路/大道/街/公路) but a stem key without it is kept for a fallback match
(``世纪大道`` written ``世纪路``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

from civicloop.intake.model import chinese_to_int
from civicloop.intake.model import normalise as _intake_normalise

_CN = "零〇○一二两三四五六七八九十百千万"
_CN_BEFORE = re.compile(rf"[{_CN}]+(?=\s*(?:单元|号楼|号|弄|支弄|栋|幢|座|室|层|楼))")
_SPACES = re.compile(r"[\s,，、·]+")
_PREFIX = re.compile(r"^(?:中国)?(?:上海市|上海)")
_DISTRICT = re.compile(r"^([\u4e00-\u9fff]{2,3}(?:新区|区|县))")
_STREET = re.compile(r"^([\u4e00-\u9fff]{2,6}?(?:街道|新镇|镇))")
_ROAD = re.compile(
    r"^([\u4e00-\u9fffA-Za-z]{1,10}?(?:大道|公路|路|大街|街|巷))(?=\d|$|[\u4e00-\u9fff])"
)
_LANE = re.compile(r"^(\d{1,5})弄(?:(\d{1,4})支弄)?")
_NUMBER = re.compile(r"^(\d{1,5})(?:号(?!楼)|(?=-))")
_COMPOUND = re.compile(
    r"^([\u4e00-\u9fffA-Za-z]{2,12}?(?:小区|新村|花园|公寓|家园|大厦|广场|苑|园|城|坊|里|庭))"
)
_BUILDING = re.compile(r"^(\d{1,4})(?:号楼|幢|栋|座|号|(?=-))")
_BLOCK = re.compile(r"^(\d{1,4})(?:号楼|幢|栋|座)")
_UNIT = re.compile(r"^-?(\d{1,3})(?:单元|(?=-\d))")
_ROOM = re.compile(r"^-?(\d{1,5})(?:室|房|号房)?$")
_DASHED = re.compile(r"^(\d{1,4})-(\d{1,3})-(\d{1,5})(?:室)?$")  # 12-3-502: building-unit-room
# Where an address ends in free text: a lane or house number (``500弄12号``, ``12号楼``); the
# geocoder reads back from each such mark to find the road or compound before it.
NUMBER_MARK = re.compile(r"\d{1,5}(?:弄(?:\d{1,4}号(?:楼)?)?|号楼|号|幢|栋)")
BUILDING_TAIL = re.compile(r"^\d{1,4}(?:号楼|幢|栋|座)")
_ROAD_SUFFIXES = ("大道", "公路", "大街", "路", "街", "巷")
_NOT_DISTRICT = ("小区", "社区", "园区", "校区", "街区", "景区")


@dataclass(frozen=True)
class AddressParts:
    """One address split into its parts; a part the text did not name is None."""

    district: str | None = None
    street: str | None = None
    road: str | None = None
    lane: int | None = None
    sublane: int | None = None
    number: int | None = None
    compound: str | None = None
    building: int | None = None
    unit: int | None = None
    room: int | None = None
    rest: str = ""  # what could not be read (empty for a clean address)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def has_building(self) -> bool:
        return (self.road is not None and self.number is not None) or (
            self.compound is not None and self.building is not None
        )


def normalise(text: str) -> str:
    """NFKC, no spaces, Chinese numerals before address words → digits, 衖 → 弄, 號 → 号."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("衖", "弄").replace("號", "号").replace("－", "-").replace("—", "-")
    text = _SPACES.sub("", text)

    def repl(m: re.Match[str]) -> str:
        value = chinese_to_int(m.group(0))
        return m.group(0) if value is None else str(value)

    text = _CN_BEFORE.sub(repl, text)
    return _intake_normalise(text)


def parse(text: str) -> AddressParts:
    """Split an address into its parts (see the module docstring for the forms read)."""
    s = _PREFIX.sub("", normalise(text))
    found: dict[str, object] = {}

    def take(pattern: re.Pattern[str]) -> re.Match[str] | None:
        nonlocal s
        m = pattern.match(s)
        if m:
            s = s[m.end() :]
        return m

    m = _DISTRICT.match(s)
    if m and not m.group(1).endswith(_NOT_DISTRICT) and len(s) > m.end():
        found["district"] = m.group(1)
        s = s[m.end() :]
    if m := take(_STREET):
        found["street"] = m.group(1)
    if m := take(_ROAD):
        found["road"] = m.group(1)
        if m := take(_LANE):
            found["lane"] = int(m.group(1))
            if m.group(2):
                found["sublane"] = int(m.group(2))
        if m := take(_NUMBER):
            found["number"] = int(m.group(1))
    if m := take(_COMPOUND):
        found["compound"] = m.group(1)
    if m := _DASHED.match(s):  # 金桥新村12-3-502
        found["building"], found["unit"], found["room"] = (int(g) for g in m.groups())
        s = ""
    elif "number" not in found or "compound" in found:
        if m := take(_BUILDING):
            found["building"] = int(m.group(1))
    elif m := take(_BLOCK):  # 川沙路5号3幢: a block inside the house number
        found["building"] = int(m.group(1))
    if m := take(_UNIT):
        found["unit"] = int(m.group(1))
    if m := take(_ROOM):
        found["room"] = int(m.group(1))
    # 张杨路500弄12号楼: the building is the lane's house number
    if "road" in found and "building" in found and not {"number", "compound"} & found.keys():
        found["number"] = found.pop("building")
    return AddressParts(**found, rest=s)  # type: ignore[arg-type]


def road_stem(road: str) -> str:
    """``世纪大道`` → ``世纪``: the road name without its kind, for a fallback match."""
    for suffix in _ROAD_SUFFIXES:
        if road.endswith(suffix) and len(road) > len(suffix):
            return road[: -len(suffix)]
    return road


def building_keys(parts: AddressParts) -> list[str]:
    """The keys a building with these parts is stored and found under (best first)."""
    keys: list[str] = []
    if parts.road and parts.number is not None:
        lane = f"{parts.lane}" + (f".{parts.sublane}" if parts.sublane else "")
        block = "" if parts.compound or parts.building is None else f"|{parts.building}"
        keys.append(f"R|{parts.road}|{lane if parts.lane else ''}|{parts.number}{block}")
        keys.append(f"S|{road_stem(parts.road)}|{lane if parts.lane else ''}|{parts.number}{block}")
    if parts.compound and parts.building is not None:
        keys.append(f"C|{parts.compound}|{parts.building}")
    return keys


def room_suffix(parts: AddressParts) -> str:
    return f"#{parts.unit or ''}#{parts.room or ''}"


def format_address(parts: AddressParts) -> str:
    """The canonical written form (postal form when a road is known)."""
    out = [parts.district or "", parts.street or ""]
    if parts.road:
        out.append(parts.road)
        if parts.lane:
            out.append(f"{parts.lane}弄")
            if parts.sublane:
                out.append(f"{parts.sublane}支弄")
        if parts.number is not None:
            out.append(f"{parts.number}号")
    if parts.compound:
        out.append(parts.compound)
        if parts.building is not None:
            out.append(f"{parts.building}号楼")
    if parts.unit:
        out.append(f"{parts.unit}单元")
    if parts.room:
        out.append(f"{parts.room}室")
    return "".join(out)
