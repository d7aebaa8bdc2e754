"""The group-renting detector with its built-in utility signal: a room over its limit whose
meters imply a crowd is alerted and the case says why; normal use alone raises nothing (unless
the excess is large); too little data is no signal; every over-occupied room's meters are read
in one batch."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from civicloop.cases.queries import read_case
from civicloop.core.idcodes import resident_id_check_char
from civicloop.discovery import utility
from civicloop.discovery.ingest import ingest
from civicloop.discovery.model import Device
from civicloop.discovery.ngsi import parse_entities
from civicloop.discovery.service import register_devices
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.registry.group_renting import detect_group_renting, support_text
from civicloop.registry.importer import import_file
from civicloop.registry.model import GroupRentingRules, judge_occupancy
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

ROAD = "测量路"  # not in the gazetteer: only the building registry knows it
COUNTER = {"WaterMeter": "volume", "ElectricityMeter": "energy"}


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _id(seq: int) -> str:
    first = f"31011519800101{seq:03d}"
    return first + resident_id_check_char(first)


def flats(p: Platform, tmp_path: Path, residents: dict[str, int]) -> dict[str, Any]:
    """Flats of 30 m² with a registered limit of 3 in the grid worker's community (one
    building per flat), each with the given number of registered residents."""
    lon, lat = point_in(p, user_region(p, "gridworker"))
    rooms = [["room_id", "address", "use", "area_m2", "residents_limit", "lon", "lat"]]
    people = [["person_id", "id_number", "name", "address", "room_id", "living_alone"]]
    seq = 0
    for i, (room, n) in enumerate(residents.items()):
        address = f"{ROAD}{i + 1}号101室"
        rooms.append([room, address, "住宅", "30", "3", str(lon), str(lat)])
        for _ in range(n):
            seq += 1
            people.append([f"P{seq}", _id(seq), f"住户{seq}", address, room, "0"])
    import_file(p, "rooms", _csv(tmp_path / "rooms.csv", rooms))
    import_file(p, "people", _csv(tmp_path / "people.csv", people))
    return {"lon": lon, "lat": lat}


def metered(
    p: Platform,
    device_id: str,
    room: str,
    per_day: float,
    days: float,
    kind: str = "WaterMeter",
    reset_at: int | None = None,
) -> None:
    """A meter in ``room`` whose counter rose ``per_day`` for ``days`` up to now (a reading
    every 6 hours through the ingestion pipeline)."""
    lon, lat = point_in(p, user_region(p, "gridworker"))
    register_devices(p, [Device(device_id, kind, lat, lon, attrs={"room_id": room})])
    utility.forget_meters(p)
    now = p.clock.now()
    steps, value, rows = int(days * 4), 50.0, []
    for k in range(steps + 1):
        value = 0.0 if k == reset_at else value + (per_day / 4 if k else 0.0)
        at = now - timedelta(hours=6 * (steps - k))
        rows.append(
            {
                "id": device_id,
                "type": kind,
                "observedAt": at.isoformat(),
                COUNTER[kind]: round(value, 6),
            }
        )
    result = ingest(
        p, parse_entities(rows, notification_id=None, default_time=now, now=now), run_rules=False
    )
    assert result.stored == len(rows), result.errors


def by_room(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["room_id"]: r for r in results}


def test_water_implying_ten_people_supports_the_alert(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    flats(platform, tmp_path, {"U1": 4, "U2": 4})
    metered(platform, "wm-u1", "U1", per_day=1.3, days=7)  # 10 people's water
    metered(platform, "wm-u2", "U2", per_day=0.39, days=7)  # 3 people's: normal
    results = by_room(detect_group_renting(platform))
    crowded, normal = results["U1"], results["U2"]
    assert (crowded["residents"], crowded["limit"]) == (4, 3)
    assert crowded["signals"] == {"complaints": 0, "utility": 7}
    assert crowded["outcome"] == "alerted" and crowded["case_id"]
    assert crowded["utility"] == {
        "implied_residents": 10,
        "days_covered": 7.0,
        "water_m3_per_day": 1.3,
        "electricity_kwh_per_day": None,
        "meters": ["wm-u1"],
        "resets": 0,
    }
    case = read_case(platform, SYSTEM_ACTOR, crowded["case_id"])
    assert "日均用水1.30立方米" in case["description"]
    assert "推算约10人居住" in case["description"]
    # the same room with normal use and no complaints: over its limit, but nothing agrees
    assert normal["signals"] == {"complaints": 0, "utility": 0}
    assert normal["utility"]["implied_residents"] == 3
    assert (normal["outcome"], normal["case_id"]) == ("no_supporting_signal", None)
    # over HTTP the evidence is in the run's answer, and a second run files nothing new
    run = client.post(
        "/api/v1/registry/group-renting/detect", json={}, headers=login(client, "admin")
    )
    assert run.status_code == 200, run.text
    again = by_room(run.json()["results"])
    assert again["U1"]["outcome"] == "already_alerted"
    assert again["U1"]["utility"]["meters"] == ["wm-u1"]


def test_a_large_excess_raises_even_with_normal_use(platform: Platform, tmp_path: Path) -> None:
    flats(platform, tmp_path, {"S1": 7})  # 7 ≥ 2 × 3
    metered(platform, "wm-s1", "S1", per_day=0.39, days=7)
    [result] = detect_group_renting(platform)
    assert result["signals"]["utility"] == 0 and result["outcome"] == "alerted"
    case = read_case(platform, SYSTEM_ACTOR, result["case_id"])
    assert "超标倍数较大" in case["description"] and "推算" not in case["description"]


def test_a_reset_meter_still_measures_and_too_little_data_is_no_signal(
    platform: Platform, tmp_path: Path
) -> None:
    flats(platform, tmp_path, {"R1": 4, "R2": 4})
    metered(platform, "wm-r1", "R1", per_day=1.3, days=7, reset_at=12)
    metered(platform, "wm-r2", "R2", per_day=13.0, days=2)  # a flood of water, for 2 days
    results = by_room(detect_group_renting(platform))
    reset = results["R1"]
    assert reset["utility"]["resets"] == 1 and reset["utility"]["implied_residents"] == 9
    assert reset["signals"]["utility"] == 6 and reset["outcome"] == "alerted"
    short = results["R2"]
    assert short["utility"] is None and short["signals"]["utility"] == 0
    assert short["outcome"] == "no_supporting_signal"


def test_an_electricity_only_room(platform: Platform, tmp_path: Path) -> None:
    flats(platform, tmp_path, {"E1": 5})
    metered(platform, "em-e1", "E1", per_day=27.0, days=5, kind="ElectricityMeter")
    [result] = detect_group_renting(platform)
    assert result["utility"]["implied_residents"] == 9
    assert result["signals"]["utility"] == 6 and result["outcome"] == "alerted"
    case = read_case(platform, SYSTEM_ACTOR, result["case_id"])
    assert "日均用电27.0千瓦时" in case["description"] and "日均用水" not in case["description"]


def test_the_norms_are_configurable(platform: Platform, tmp_path: Path) -> None:
    flats(platform, tmp_path, {"N1": 4})
    metered(platform, "wm-n1", "N1", per_day=1.3, days=7)
    thirsty = GroupRentingRules(water_m3_per_person_day=0.4)  # 1.3 m³ is then 3 people
    [result] = detect_group_renting(platform, rules=thirsty)
    assert result["utility"]["implied_residents"] == 3
    assert result["outcome"] == "no_supporting_signal"


def test_every_room_meters_in_one_query(platform: Platform, tmp_path: Path) -> None:
    rooms = {f"M{i}": 4 for i in range(12)}
    flats(platform, tmp_path, rooms)
    for i in range(12):
        metered(platform, f"wm-m{i}", f"M{i}", per_day=0.39, days=4)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    event.listen(platform.db.engine, "before_cursor_execute", record)
    try:
        results = detect_group_renting(platform)
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", record)
    assert len(results) == 12 and all(r["utility"] for r in results)
    assert len([s for s in seen if "FROM devices" in s]) == 1
    assert len([s for s in seen if "FROM readings" in s]) == 2  # raw and hourly, one batch


def test_utility_agreeing_supports_like_complaints() -> None:
    rules = GroupRentingRules()
    by_utility = judge_occupancy("R", 4, 3, {"complaints": 0, "utility": 2}, rules)
    by_complaints = judge_occupancy("R", 4, 3, {"complaints": 1, "utility": 0}, rules)
    neither = judge_occupancy("R", 4, 3, {"complaints": 0, "utility": 0}, rules)
    strong = judge_occupancy("R", 6, 3, {"complaints": 0, "utility": 0}, rules)
    assert (by_utility.should_alert, by_utility.supported_by) == (True, ("utility",))
    assert (by_complaints.should_alert, by_complaints.supported_by) == (True, ("complaints",))
    assert not neither.should_alert and neither.supported_by == ()
    assert strong.should_alert and strong.is_strong
    within = judge_occupancy("R", 3, 3, {"complaints": 5, "utility": 4}, rules)
    assert not within.should_alert  # signals never raise a room within its limit


def test_the_support_text_names_each_signal() -> None:
    evidence = {
        "implied_residents": 8,
        "days_covered": 6.5,
        "water_m3_per_day": 1.05,
        "electricity_kwh_per_day": 26.4,
    }
    text = support_text({"complaints": 2, "utility": 5, "noise": 1}, evidence, 180)
    assert text == (
        "附近180天内投诉2件；日均用水1.05立方米、日均用电26.4千瓦时（6.5天读数），"
        "推算约8人居住；noise 1"
    )
    assert support_text({"complaints": 0, "utility": 0}, None, 180) == "超标倍数较大"


def test_a_stopped_meter_is_no_signal(platform: Platform, tmp_path: Path) -> None:
    flats(platform, tmp_path, {"Z1": 4})
    metered(platform, "wm-z1", "Z1", per_day=0.0, days=7)
    [result] = detect_group_renting(platform)
    assert result["utility"]["implied_residents"] == 0
    assert result["signals"]["utility"] == 0 and result["outcome"] == "no_supporting_signal"


def test_the_demo_meters_the_over_occupied_rooms(loaded: Platform) -> None:
    from civicloop.demo.extras import seed_room_meters

    counts = seed_room_meters(loaded, seed=3)
    results = detect_group_renting(loaded)
    assert counts["room_meters"] >= len(results) >= 1
    assert counts["room_readings"] == counts["room_meters"] * 29
    assert all(r["utility"] and r["utility"]["days_covered"] >= 6.9 for r in results)
    first = results[0]  # metered at its limit: the meters do not support it
    assert first["utility"]["implied_residents"] <= first["limit"]
    assert first["signals"]["utility"] == 0
    crowded = [r for r in results[1:] if r["signals"]["utility"] > 0]
    assert len(crowded) == len(results) - 1
