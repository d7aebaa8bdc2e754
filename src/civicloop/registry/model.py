"""Domain model of the registry context: record kinds, the rules a row must meet, group renting.

A registry row arrives as text (a CSV cell, an XLSX cell turned into text). ``check_row``
turns it into a record or a list of problems, each naming the column and the rule — the import
shows *every* problem of a file before anything is written. Lookups that need the database
(is this address a known building? is this ID number already in the file?) are done by the
service; the rules here are pure: identity checksums (GB 11643, GB 32100), dates, enumerations,
numbers.

Group renting (群租): a room is over-occupied when its residents exceed the smaller of its
registered limit and what its area allows (``area / min_area_per_person``, rounded down), or
more than ``max_per_room``. Over-occupation alone is a suspicion; the detector raises an alert
when a supporting signal agrees (complaints at the address, utility use) or when the room holds
at least ``strong_ratio`` times its limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from civicloop.core.idcodes import check_credit_code, check_resident_id


class Kind(StrEnum):
    PERSON = "person"
    ENTITY = "entity"
    ROOM = "room"
    BUILDING = "building"


# CLI and file names use the plural
KIND_OF_FILE = {"people": Kind.PERSON, "entities": Kind.ENTITY, "rooms": Kind.ROOM}


class RoomUse(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    OFFICE = "office"
    INDUSTRIAL = "industrial"
    OTHER = "other"


class LicenceStatus(StrEnum):
    ACTIVE = "active"  # 存续 / 在业
    REVOKED = "revoked"  # 吊销
    CANCELLED = "cancelled"  # 注销
    MOVED = "moved"  # 迁出


class CorrectionStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


_USE_WORDS = {
    "住宅": RoomUse.RESIDENTIAL,
    "居住": RoomUse.RESIDENTIAL,
    "商业": RoomUse.COMMERCIAL,
    "商铺": RoomUse.COMMERCIAL,
    "办公": RoomUse.OFFICE,
    "工业": RoomUse.INDUSTRIAL,
    "厂房": RoomUse.INDUSTRIAL,
    "其他": RoomUse.OTHER,
}
_LICENCE_WORDS = {
    "存续": LicenceStatus.ACTIVE,
    "在业": LicenceStatus.ACTIVE,
    "开业": LicenceStatus.ACTIVE,
    "吊销": LicenceStatus.REVOKED,
    "注销": LicenceStatus.CANCELLED,
    "迁出": LicenceStatus.MOVED,
}
_TRUE = {"1", "true", "yes", "y", "是", "t", "x", "√"}
_FALSE = {"", "0", "false", "no", "n", "否", "f"}
_PHONE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")
_ROOM_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")

# Column names people put in their spreadsheets → ours.
HEADER_ALIASES = {
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "姓名": "name",
    "性别": "sex",
    "出生日期": "birth_date",
    "户号": "household",
    "地址": "address",
    "居住地址": "address",
    "房屋编号": "room_id",
    "电话": "phone",
    "手机": "phone",
    "独居": "living_alone",
    "残疾": "disability",
    "重点关爱": "key_care",
    "人员编号": "person_id",
    "统一社会信用代码": "credit_code",
    "名称": "name",
    "企业名称": "name",
    "法定代表人": "legal_representative",
    "行业": "industry",
    "注册地址": "registered_address",
    "经营地址": "operating_address",
    "登记状态": "licence_status",
    "用途": "use",
    "面积": "area_m2",
    "建筑面积": "area_m2",
    "核定人数": "residents_limit",
    "经度": "lon",
    "纬度": "lat",
    "网格": "grid_code",
}

COLUMNS: dict[Kind, tuple[str, ...]] = {
    Kind.PERSON: (
        "person_id",
        "id_number",
        "name",
        "sex",
        "birth_date",
        "household",
        "address",
        "room_id",
        "phone",
        "living_alone",
        "disability",
        "key_care",
    ),
    Kind.ENTITY: (
        "credit_code",
        "name",
        "legal_representative",
        "industry",
        "registered_address",
        "operating_address",
        "licence_status",
    ),
    Kind.ROOM: (
        "room_id",
        "address",
        "use",
        "area_m2",
        "residents_limit",
        "lon",
        "lat",
        "grid_code",
    ),
}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.PERSON: ("id_number", "name", "address"),
    Kind.ENTITY: ("credit_code", "name", "licence_status"),
    Kind.ROOM: ("room_id", "address", "use", "area_m2"),
}
# Fields a correction may change, per kind (the identity keys are never corrected on site).
CORRECTABLE: dict[Kind, frozenset[str]] = {
    Kind.ROOM: frozenset({"observed_residents", "residents_limit", "use", "area_m2"}),
    Kind.PERSON: frozenset(
        {"room_id", "phone", "is_living_alone", "has_disability", "is_key_care", "household"}
    ),
    Kind.ENTITY: frozenset({"operating_address", "licence_status", "legal_representative"}),
}


@dataclass(frozen=True)
class Problem:
    """One finding of a check: row number as a spreadsheet shows it (header = 1), column, rule."""

    row: int
    column: str
    rule: str
    message: str

    def line(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message} [{self.rule}]"


@dataclass
class RowCheck:
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # column, rule, message

    def fail(self, column: str, rule: str, message: str) -> None:
        self.problems.append((column, rule, message))


def parse_bool(raw: str) -> bool | None:
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


def parse_date(raw: str) -> date | None:
    v = raw.strip().replace("/", "-").replace(".", "-")
    if re.fullmatch(r"\d{8}", v):
        v = f"{v[:4]}-{v[4:6]}-{v[6:]}"
    try:
        return date.fromisoformat(v[:10])
    except ValueError:
        return None


def check_person(row: dict[str, str]) -> RowCheck:
    """Pure checks of a person row; the room/address lookup is the service's."""
    out = RowCheck()
    idc = check_resident_id(row.get("id_number", ""))
    if not idc.ok:
        out.fail("id_number", idc.rule or "GB11643", idc.message)
    else:
        out.values["id_number"] = idc.value
    name = row.get("name", "").strip()
    if not name:
        out.fail("name", "required", "必填 / required")
    elif len(name) > 64:
        out.fail("name", "name.length", "姓名须为1–64个字 / name must be 1–64 characters")
    out.values["name"] = name
    born_from_id = (
        date(int(idc.value[6:10]), int(idc.value[10:12]), int(idc.value[12:14])) if idc.ok else None
    )
    sex_from_id = ("M" if int(idc.value[16]) % 2 else "F") if idc.ok else None
    raw_birth = row.get("birth_date", "").strip()
    born = born_from_id
    if raw_birth:
        born = parse_date(raw_birth)
        if born is None:
            out.fail("birth_date", "date.format", f"出生日期无法识别 {raw_birth!r} / not a date")
        elif born_from_id and born != born_from_id:
            out.fail(
                "birth_date",
                "date.matches_id",
                f"出生日期与身份证号不符（应为{born_from_id}） / differs from the ID number",
            )
    out.values["birth_date"] = born
    raw_sex = row.get("sex", "").strip()
    sex = {"男": "M", "女": "F", "m": "M", "f": "F", "": sex_from_id}.get(raw_sex.lower(), "?")
    if sex == "?":
        out.fail("sex", "sex.value", f"性别应为男/女 {raw_sex!r} / sex must be 男/女 or M/F")
    elif sex_from_id and sex != sex_from_id:
        out.fail("sex", "sex.matches_id", "性别与身份证号不符 / differs from the ID number")
    out.values["sex"] = sex
    phone = row.get("phone", "").strip().replace(" ", "")
    if phone and not _PHONE.match(phone):
        out.fail(
            "phone", "phone.format", f"电话号码格式不对 / not a phone number: {len(phone)} chars"
        )
    out.values["phone"] = phone or None
    for col, key in (
        ("living_alone", "is_living_alone"),
        ("disability", "has_disability"),
        ("key_care", "is_key_care"),
    ):
        flag = parse_bool(row.get(col, ""))
        if flag is None:
            out.fail(col, "bool", f"应为 是/否 / must be yes or no: {row.get(col)!r}")
        out.values[key] = bool(flag)
    household = row.get("household", "").strip()
    if len(household) > 40:
        out.fail("household", "length", "户号过长 / longer than 40 characters")
    out.values["household"] = household or None
    room_id = row.get("room_id", "").strip()
    if room_id and not _ROOM_ID.match(room_id):
        out.fail("room_id", "room_id.format", "房屋编号格式不对 / letters, digits, - _ . only")
    out.values["room_id"] = room_id or None
    out.values["address"] = row.get("address", "").strip()
    pid = row.get("person_id", "").strip()
    if pid and not _ROOM_ID.match(pid):
        out.fail("person_id", "person_id.format", "人员编号格式不对 / letters, digits, - _ . only")
    out.values["id"] = pid or None
    return out


def check_entity(row: dict[str, str]) -> RowCheck:
    out = RowCheck()
    cc = check_credit_code(row.get("credit_code", ""))
    if not cc.ok:
        out.fail("credit_code", cc.rule or "GB32100", cc.message)
    out.values["credit_code"] = cc.value
    name = row.get("name", "").strip()
    if not name:
        out.fail("name", "required", "必填 / required")
    elif len(name) > 200:
        out.fail("name", "name.length", "名称须为1–200个字 / name must be 1–200 characters")
    out.values["name"] = name
    raw = row.get("licence_status", "").strip()
    status = _LICENCE_WORDS.get(raw) or (
        LicenceStatus(raw.lower()) if raw.lower() in set(LicenceStatus) else None
    )
    if status is None:
        out.fail(
            "licence_status",
            "licence_status.value",
            f"登记状态应为 存续/吊销/注销/迁出 {raw!r} / unknown licence status",
        )
    out.values["licence_status"] = str(status) if status else raw
    for col, limit in (
        ("legal_representative", 64),
        ("industry", 64),
        ("registered_address", 300),
        ("operating_address", 300),
    ):
        v = row.get(col, "").strip()
        if len(v) > limit:
            out.fail(col, "length", f"超过{limit}个字 / longer than {limit} characters")
        out.values[col] = v or None
    return out


def check_room(row: dict[str, str]) -> RowCheck:
    out = RowCheck()
    rid = row.get("room_id", "").strip()
    if not _ROOM_ID.match(rid):
        out.fail("room_id", "room_id.format", "房屋编号须为1–40位字母数字 / letters, digits, - _ .")
    out.values["id"] = rid
    out.values["address"] = row.get("address", "").strip()
    raw_use = row.get("use", "").strip()
    use = _USE_WORDS.get(raw_use) or (
        RoomUse(raw_use.lower()) if raw_use.lower() in set(RoomUse) else None
    )
    if use is None:
        out.fail("use", "use.value", f"用途应为 住宅/商业/办公/工业/其他 {raw_use!r} / unknown use")
    out.values["use"] = str(use) if use else raw_use
    area = _number(out, row, "area_m2", required=True)
    if area is not None and not 1 <= area <= 100_000:
        out.fail("area_m2", "area.range", "面积应在1–100000平方米之间 / area out of range")
    out.values["area_m2"] = area
    limit = row.get("residents_limit", "").strip()
    out.values["residents_limit"] = None
    if limit:
        if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
            out.fail("residents_limit", "int.range", "核定人数应为正整数 / a whole number ≥ 1")
        else:
            out.values["residents_limit"] = int(limit)
    lon = _number(out, row, "lon")
    lat = _number(out, row, "lat")
    if (lon is None) != (lat is None):
        out.fail("lon", "lonlat.pair", "经纬度须同时给出 / give lon and lat together")
    out.values["lon"], out.values["lat"] = lon, lat
    out.values["grid_code"] = row.get("grid_code", "").strip() or None
    return out


def _number(
    out: RowCheck, row: dict[str, str], col: str, *, required: bool = False
) -> float | None:
    raw = row.get(col, "").strip()
    if not raw:
        if required:
            out.fail(col, "required", "必填 / required")
        return None
    try:
        return float(raw)
    except ValueError:
        out.fail(col, "number", f"不是数字 {raw!r} / not a number")
        return None


CHECKS = {Kind.PERSON: check_person, Kind.ENTITY: check_entity, Kind.ROOM: check_room}


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# ---------------------------------------------------------------- group renting


@dataclass(frozen=True)
class GroupRentingRules:
    """Configurable limits (Shanghai's rule of thumb: ≥ 5 m² of floor per resident) and the
    per-person utility norms that turn a room's metered use into implied residents.

    The norms are starting points to tune per district, not measurements of it: water 0.13 m³
    (130 L) per person per day sits in the lower part of GB/T 50331-2002's 120–180 L band for
    Shanghai's climate zone, near what Shanghai households use; electricity 3 kWh per person
    per day is roughly a Shanghai resident's yearly household use (~1,100 kWh) spread over
    the year. Summer air conditioning and winter heating move it; raise it there."""

    min_area_per_person_m2: float = 5.0
    max_per_room: int = 12
    strong_ratio: float = 2.0  # this many times the limit raises without a supporting signal
    complaint_radius_m: float = 30.0
    complaint_days: int = 180
    realert_days: int = 30
    water_m3_per_person_day: float = 0.13
    electricity_kwh_per_person_day: float = 3.0
    utility_days: int = 14  # the look-back of the utility signal
    utility_min_days: float = 3.0  # a meter covering fewer days says nothing


def residents_limit(area_m2: float, registered_limit: int | None, rules: GroupRentingRules) -> int:
    """How many may live in a room: the strictest of the registered limit, area, hard cap."""
    by_area = max(1, int(area_m2 // rules.min_area_per_person_m2))
    limits = [by_area, rules.max_per_room]
    if registered_limit:
        limits.append(registered_limit)
    return min(limits)


@dataclass(frozen=True)
class Occupancy:
    room_id: str
    residents: int
    limit: int
    signals: dict[str, int]
    should_alert: bool
    supported_by: tuple[str, ...] = ()  # the signals that agree (> 0), in name order
    is_strong: bool = False  # over ``strong_ratio`` × the limit: raises on its own


def judge_occupancy(
    room_id: str,
    residents: int,
    limit: int,
    signals: dict[str, int],
    rules: GroupRentingRules,
) -> Occupancy:
    """Over the limit and either supported or strong. Every signal counts the same way:
    complaints near the building, ``utility`` (residents implied by metered use above the
    limit), or any registered signal — a value above 0 agrees, 0 (no data, or normal use)
    does not, and no signal ever argues a room down."""
    over = residents > limit
    supported_by = tuple(sorted(k for k, v in signals.items() if v > 0))
    strong = residents >= rules.strong_ratio * limit
    return Occupancy(
        room_id,
        residents,
        limit,
        signals,
        over and (bool(supported_by) or strong),
        supported_by,
        strong,
    )
