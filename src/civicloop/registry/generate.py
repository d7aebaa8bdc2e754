"""A reproducible synthetic registry over the demo district (rooms, people, entities as CSV).

Why: the import must be shown at district scale (100,000 people, 20,000 entities, 50,000
rooms) and its error report on known bad rows, without real personal data. Everything is drawn
from one seed, so the same district, gazetteer and seed give byte-identical files.

Buildings sit along the gazetteer's real road lines (``张杨路500弄12号``): a lane number is
placed on its road like a house number, and each lane holds a few buildings of 6 floors × 2
rooms. People are written with the address variants people really type (full-width digits,
Chinese numerals, ``号楼``, a district prefix), so the import exercises the address matcher.
A few rooms are over-occupied (group renting) and some elders live alone. ``bad_rows`` seeds
that many faulty rows into each file, one of each kind of fault in turn.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from civicloop.core.errors import ConflictError
from civicloop.core.idcodes import (
    CREDIT_CODE_ALPHABET,
    credit_code_check_char,
    resident_id_check_char,
)
from civicloop.intake import gazetteer as intake_gazetteer
from civicloop.intake.model import place_on_line
from civicloop.registry.model import COLUMNS, Kind
from civicloop.runtime import Platform

DIVISION = "310115"  # 浦东新区
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅志文斌宇浩然晨欣怡子涵梓轩佳琪"
)
_FIRM_WORDS = (
    "浦江", "东方", "金桥", "张江", "陆家", "海港", "申通", "新纪", "汇通", "宏达",
    "鑫源", "瑞丰", "佳禾", "盛世", "永安", "恒信", "致远", "联创", "锦程", "华宇",
)  # fmt: skip
_INDUSTRIES = (
    ("餐饮", "餐饮管理"),
    ("零售", "商贸"),
    ("科技", "信息科技"),
    ("物流", "物流"),
    ("建筑", "建设工程"),
    ("制造", "机械制造"),
    ("服务", "物业管理"),
    ("教育", "教育科技"),
)
_SUFFIX = ("有限公司", "有限责任公司", "股份有限公司")
FLOORS, PER_FLOOR, BUILDINGS_PER_LANE = 6, 2, 8


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, born: date, seq: int, male: bool) -> str:
    s = seq % 500 * 2 + (1 if male else 0)
    first = f"{DIVISION}{born:%Y%m%d}{s:03d}"
    return first + resident_id_check_char(first)


def _credit_code(rng: random.Random) -> str:
    first = "91" + DIVISION + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return first + credit_code_check_char(first)


_CN_DIGITS = "零一二三四五六七八九"


def _cn_number(n: int) -> str:
    """12 → 十二, 500 → 五百, 1203 → 一千二百零三 (how people write numbers out)."""
    if n < 10:
        return _CN_DIGITS[n]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        d = n // value % 10
        if d:
            if zero:
                out += "零"
            out += ("" if (unit == "十" and not out and d == 1) else _CN_DIGITS[d]) + unit
            zero = False
        elif out:
            zero = True
    if n % 10:
        out += ("零" if zero else "") + _CN_DIGITS[n % 10]
    return out


def _variant(rng: random.Random, road: str, lane: int, number: int, room: int) -> str:
    pick = rng.random()
    if pick < 0.55:
        return f"{road}{lane}弄{number}号{room}室"
    if pick < 0.7:
        return f"上海市浦东新区{road}{lane}弄{number}号{room}室"
    if pick < 0.8:
        return f"{road}{lane}弄{number}号{room}室".translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        )
    if pick < 0.9:
        return f"{road}{_cn_number(lane)}弄{_cn_number(number)}号{room}室"
    return f"{road}{lane}弄{number}号楼{room}"


def generate(
    p: Platform, *, people: int, entities: int, rooms: int, seed: int = 7, bad_rows: int = 0
) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The three files' (header, rows). Raises ConflictError without a gazetteer of roads."""
    roads = [
        e
        for e in intake_gazetteer.list_entries(p)
        if e["kind"] == "road" and e["line"] and e["number_max"]
    ]
    if not roads:
        raise ConflictError(
            "no roads in the gazetteer: run `civicloop demo` (or generate the gazetteer) first",
            code="registry.no_gazetteer",
        )
    rng = random.Random(seed)
    room_rows: list[list[str]] = []
    residential: list[tuple[str, str, int, int, int]] = []  # room id, road, lane, number, room
    commercial_buildings: list[str] = []
    used_lanes: set[tuple[str, int]] = set()
    attempts = 0
    while len(room_rows) < rooms and attempts < rooms * 10:
        attempts += 1
        road = rng.choice(roads)
        lane = rng.randint(1, int(road["number_max"]))
        if (road["name"], lane) in used_lanes:
            continue
        used_lanes.add((road["name"], lane))
        lon0, lat0 = place_on_line(road["line"], lane, int(road["number_max"]))
        for number in range(1, BUILDINGS_PER_LANE + 1):
            lon = round(lon0 + rng.uniform(-3e-4, 3e-4), 6)
            lat = round(lat0 + rng.uniform(-3e-4, 3e-4), 6)
            if p.grids.locate(lon, lat) is None:
                lon, lat = round(lon0, 6), round(lat0, 6)
                if p.grids.locate(lon, lat) is None:
                    break
            shops = number == 1
            if shops:
                commercial_buildings.append(f"{road['name']}{lane}弄{number}号")
            for floor in range(1, FLOORS + 1):
                for k in range(1, PER_FLOOR + 1):
                    if len(room_rows) >= rooms:
                        break
                    room_no = floor * 100 + k
                    rid = f"R{len(room_rows) + 1:07d}"
                    commercial = shops and floor == 1
                    use = "商业" if commercial else "住宅"
                    area = rng.randint(20, 300) if commercial else rng.randint(35, 140)
                    limit = str(rng.randint(2, 6)) if rng.random() < 0.2 and not commercial else ""
                    address = f"{road['name']}{lane}弄{number}号{room_no}室"
                    room_rows.append([rid, address, use, str(area), limit, str(lon), str(lat), ""])
                    if not commercial:
                        residential.append((rid, road["name"], lane, number, room_no))
    # people: a few over-occupied rooms first, the rest spread at random
    today = p.clock.now().date()
    occupants: dict[int, int] = {}
    crowded = rng.sample(range(len(residential)), k=min(len(residential), max(1, rooms // 400)))
    assignment: list[int] = []
    for i in crowded:
        n = rng.randint(10, 15)
        assignment += [i] * n
    while len(assignment) < people:
        assignment.append(rng.randrange(len(residential)))
    assignment = assignment[:people]
    for i in assignment:
        occupants[i] = occupants.get(i, 0) + 1
    person_rows: list[list[str]] = []
    seen_ids: set[str] = set()
    for n, i in enumerate(assignment, start=1):
        rid, road_name, lane, number, room_no = residential[i]
        alone = occupants[i] == 1
        age = rng.randint(62, 95) if alone and rng.random() < 0.5 else rng.randint(1, 90)
        born = today - timedelta(days=age * 365 + rng.randint(0, 364))
        male = rng.random() < 0.5
        idn = _id_number(rng, born, n, male)
        while idn in seen_ids:
            born -= timedelta(days=1)
            idn = _id_number(rng, born, n, male)
        seen_ids.add(idn)
        phone = (
            f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}" if rng.random() < 0.8 else ""
        )
        person_rows.append(
            [
                f"P{n:07d}",
                idn,
                _name(rng),
                "男" if male else "女",
                born.isoformat(),
                f"H{i + 1:07d}",
                _variant(rng, road_name, lane, number, room_no),
                "",
                phone,
                "1" if alone and age >= 60 else "0",
                "1" if rng.random() < 0.02 else "0",
                "1" if alone and age >= 80 else "0",
            ]
        )
    entity_rows: list[list[str]] = []
    codes: set[str] = set()
    while len(entity_rows) < entities:
        code = _credit_code(rng)
        if code in codes:
            continue
        codes.add(code)
        industry, trade = rng.choice(_INDUSTRIES)
        name = f"上海{rng.choice(_FIRM_WORDS)}{rng.choice(_FIRM_WORDS)}{trade}{rng.choice(_SUFFIX)}"
        where = rng.choice(commercial_buildings) if commercial_buildings else ""
        status = rng.choices(("存续", "吊销", "注销"), weights=(94, 3, 3))[0]
        entity_rows.append([code, name, _name(rng), industry, where, where, status])
    files = {
        "rooms": (list(COLUMNS[Kind.ROOM]), room_rows),
        "people": (list(COLUMNS[Kind.PERSON]), person_rows),
        "entities": (list(COLUMNS[Kind.ENTITY]), entity_rows),
    }
    if bad_rows:
        _seed_bad_rows(files, bad_rows, rng)
    return files


def _seed_bad_rows(
    files: dict[str, tuple[list[str], list[list[str]]]], n: int, rng: random.Random
) -> None:
    """Overwrite ``n`` rows per file with faults, one kind after another (row numbers differ per
    seed; the fault kinds are fixed so a report can be checked)."""
    for name, (_, rows) in files.items():
        if not rows:
            continue
        picks = rng.sample(range(1, len(rows)), k=min(n, len(rows) - 1))
        for j, i in enumerate(picks):
            row = rows[i]
            fault = j % 5
            if name == "people":
                if fault == 0:  # bad checksum
                    row[1] = row[1][:17] + ("0" if row[1][17] != "0" else "1")
                elif fault == 1:
                    row[4] = "1990-02-30"
                elif fault == 2:
                    row[6] = "不存在路999弄9号101室"
                elif fault == 3:
                    row[1], row[4], row[3] = rows[0][1], rows[0][4], rows[0][3]
                else:
                    row[2] = ""
            elif name == "entities":
                if fault == 0:
                    row[0] = row[0][:17] + ("0" if row[0][17] != "0" else "1")
                elif fault == 1:
                    row[6] = "歇业中"
                elif fault == 2:
                    row[5] = "不存在路999号"
                elif fault == 3:
                    row[0] = rows[0][0]
                else:
                    row[1] = ""
            else:
                if fault == 0:
                    row[3] = "大约九十"
                elif fault == 1:
                    row[0] = rows[0][0]
                elif fault == 2:
                    row[1] = "某处某地"
                elif fault == 3:
                    row[2] = ""
                else:  # a new building placed outside the district
                    row[1], row[5], row[6] = f"不存在路{j + 1}弄1号101室", "0", "0"


def write_dataset(
    p: Platform,
    out: Path,
    *,
    people: int,
    entities: int,
    rooms: int,
    seed: int = 7,
    bad_rows: int = 0,
) -> dict[str, Any]:
    """Write rooms.csv, people.csv, entities.csv into ``out``; returns the row counts."""
    out.mkdir(parents=True, exist_ok=True)
    files = generate(p, people=people, entities=entities, rooms=rooms, seed=seed, bad_rows=bad_rows)
    counts: dict[str, Any] = {}
    for name, (header, rows) in files.items():
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
        counts[name] = len(rows)
    return counts
