"""Utility use as group renting's witness: counters through resets, coverage, the norms, and
batching (one meter query whatever the number of rooms), on readings stored by the real
pipeline — raw, compacted into hourly aggregates, or both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from civicloop.core.clock import FrozenClock
from civicloop.discovery import utility
from civicloop.discovery.ingest import ingest
from civicloop.discovery.model import Device
from civicloop.discovery.ngsi import parse_entities
from civicloop.discovery.service import compact_readings, register_devices
from civicloop.discovery.utility import HourSample, counter_use, meter_use
from civicloop.registry.model import GroupRentingRules
from civicloop.runtime import Platform
from tests.helpers import point_in

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # the fixtures' clock
RULES = GroupRentingRules()
COUNTER = {"WaterMeter": "volume", "ElectricityMeter": "energy"}


def hour(h: int, mn: float, mx: float, last: float | None = None) -> HourSample:
    at = T0.timestamp() + h * 3600
    return HourSample(at, mn, mx, mx if last is None else last, at + 50 * 60)


def meter(p: Platform, device_id: str, room_id: str, kind: str = "WaterMeter") -> None:
    lon, lat = point_in(p, "310115004001")
    register_devices(p, [Device(device_id, kind, lat, lon, attrs={"room_id": room_id})])
    utility.forget_meters(p)


def feed(
    p: Platform,
    device_id: str,
    per_day: float,
    days: float,
    *,
    kind: str = "WaterMeter",
    every_h: int = 6,
    start: float = 100.0,
    reset_at: int | None = None,
) -> None:
    """A cumulative counter rising ``per_day`` for ``days`` up to now, a reading every
    ``every_h`` hours; at reading number ``reset_at`` the counter restarts from 0."""
    steps = int(days * 24 / every_h)
    value, rows = start, []
    for k in range(steps + 1):
        if k == reset_at:
            value = 0.0
        elif k:
            value += per_day * every_h / 24
        at = T0 - timedelta(hours=every_h * (steps - k))
        rows.append(
            {
                "id": device_id,
                "type": kind,
                "observedAt": at.isoformat(),
                COUNTER[kind]: round(value, 6),
            }
        )
    now = p.clock.now()
    parsed = parse_entities(rows, notification_id=None, default_time=now, now=now)
    result = ingest(p, parsed, run_rules=False)
    assert result.stored == len(rows), result.errors


@pytest.fixture
def statements(platform: Platform) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    event.listen(platform.db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(platform.db.engine, "before_cursor_execute", record)


# ---------------------------------------------------------------- the arithmetic


def test_a_steady_counter_counts_every_rise() -> None:
    assert counter_use([hour(0, 10, 12), hour(1, 12.5, 14), hour(5, 15, 15)]) == (5.0, 0)


def test_a_reset_between_hours_is_dropped_not_subtracted() -> None:
    # 10 → 14, replaced meter starts at 0, → 3: use 4 + 3, never 4 − 14
    assert counter_use([hour(0, 10, 14), hour(1, 0, 3)]) == (7.0, 1)


def test_a_reset_inside_an_hour_counts_both_climbs() -> None:
    # previous hour ended at 99; this hour climbed to 99.9, wrapped to 0 and reached 0.6
    use, resets = counter_use([hour(0, 98, 99), hour(1, 0.0, 99.9, last=0.6)])
    assert resets == 1 and use == pytest.approx(1 + 0.9 + 0.6)


def test_span_and_norms() -> None:
    used = meter_use("m", "water", [hour(0, 0, 0), hour(72, 3.9, 3.9)])
    assert used.days == pytest.approx(3 + 50 / 60 / 24) and used.use == pytest.approx(3.9)
    assert utility.implied_residents(1.3, 0.13) == 10  # float noise does not lose a person
    assert utility.implied_residents(1.29, 0.13) == 9
    assert utility.implied_residents(5.0, 0.0) == 0
    assert utility.room_evidence("R", [used], RULES) is not None
    short = meter_use("m", "water", [hour(0, 0, 0), hour(47, 9.0, 9.0)])
    assert utility.room_evidence("R", [short], RULES) is None  # 2 days say nothing


DAY = 86_400.0


def test_both_kinds_must_agree() -> None:
    water = utility.MeterUse("w", "water", 13.0, 0.0, 10 * DAY, 0)  # 1.3 m³/day: 10 people
    power = utility.MeterUse("e", "electricity", 120.0, 0.0, 10 * DAY, 0)  # 12 kWh: 4 people
    found = utility.room_evidence("R", [water, power], RULES)
    assert found is not None and found.implied == 4
    assert found.meters == ("e", "w") and found.days_covered == 10.0


def test_meters_side_by_side_add_up_and_a_replaced_meter_counts_once() -> None:
    kitchen = utility.MeterUse("k", "water", 6.5, 0.0, 10 * DAY, 0)
    bathroom = utility.MeterUse("b", "water", 6.5, 0.0, 10 * DAY, 0)
    both = utility.room_evidence("R", [kitchen, bathroom], RULES)
    assert both is not None and both.implied == 10 and both.water_m3_per_day == 1.3
    old = utility.MeterUse("old", "water", 6.5, 0.0, 5 * DAY, 0)  # replaced on day 5
    new = utility.MeterUse("new", "water", 6.5, 5 * DAY, 10 * DAY, 0)
    replaced = utility.room_evidence("R", [old, new], RULES)
    assert replaced is not None and replaced.implied == 10 and replaced.days_covered == 10.0
    # two short stretches far apart still cover the window between them
    early = utility.MeterUse("e1", "water", 0.65, 0.0, 0.5 * DAY, 0)
    late = utility.MeterUse("e2", "water", 0.65, 9.5 * DAY, 10 * DAY, 0)
    sparse = utility.room_evidence("R", [early, late], RULES)
    assert sparse is not None and sparse.implied == 1  # the gap lowers the estimate


# ---------------------------------------------------------------- on stored readings


def test_water_use_over_a_week_implies_residents(platform: Platform) -> None:
    meter(platform, "wm-u1", "R-U1")
    feed(platform, "wm-u1", per_day=1.3, days=7)
    [(room, found)] = utility.utility_evidence(platform, ["R-U1", "R-none"], RULES).items()
    assert room == "R-U1" and found.implied == 10
    assert found.water_m3_per_day == pytest.approx(1.3)
    assert found.days_covered == pytest.approx(7.0) and found.meters == ("wm-u1",)
    assert found.electricity_kwh_per_day is None
    assert found.public()["implied_residents"] == 10


def test_compacted_hours_and_raw_readings_give_the_same_answer(
    platform: Platform, clock: FrozenClock
) -> None:
    meter(platform, "wm-c", "R-C")
    feed(platform, "wm-c", per_day=0.65, days=10, every_h=2)
    before = utility.utility_evidence(platform, ["R-C"], RULES)["R-C"]
    report = compact_readings(platform, days=4)  # older raw readings → hourly aggregates
    assert report.compacted > 0
    after = utility.utility_evidence(platform, ["R-C"], RULES)["R-C"]
    assert after.implied == before.implied == 5
    assert after.water_m3_per_day == pytest.approx(before.water_m3_per_day)


def test_a_meter_reset_does_not_erase_or_invent_use(platform: Platform) -> None:
    meter(platform, "wm-r", "R-R")
    feed(platform, "wm-r", per_day=1.3, days=7, every_h=6, start=9999.0, reset_at=10)
    found = utility.utility_evidence(platform, ["R-R"], RULES)["R-R"]
    # the 6 hours that ended in the reset are lost (0.325 m³ of 9.1): 9 people, not 10 and
    # not a negative count
    assert found.resets == 1 and found.implied == 9
    assert found.water_m3_per_day == pytest.approx((9.1 - 0.325) / 7)


def test_too_little_data_is_no_evidence(platform: Platform) -> None:
    meter(platform, "wm-s", "R-S")
    feed(platform, "wm-s", per_day=5.0, days=2)
    assert utility.utility_evidence(platform, ["R-S"], RULES) == {}
    meter(platform, "wm-one", "R-O")
    feed(platform, "wm-one", per_day=5.0, days=0)  # one reading
    assert utility.utility_evidence(platform, ["R-O"], RULES) == {}


def test_an_electricity_only_room(platform: Platform) -> None:
    meter(platform, "em-1", "R-E", kind="ElectricityMeter")
    feed(platform, "em-1", per_day=30.0, days=5, kind="ElectricityMeter")
    found = utility.utility_evidence(platform, ["R-E"], RULES)["R-E"]
    assert found.implied == 10 and found.water_m3_per_day is None
    assert found.electricity_kwh_per_day == pytest.approx(30.0)


def test_readings_older_than_the_look_back_are_ignored(platform: Platform) -> None:
    meter(platform, "wm-old", "R-old")
    feed(platform, "wm-old", per_day=1.3, days=7)
    shifted = GroupRentingRules(utility_days=2)
    assert utility.utility_evidence(platform, ["R-old"], shifted) == {}


def test_many_rooms_one_meter_query_and_a_cache(platform: Platform, statements: list[str]) -> None:
    lon, lat = point_in(platform, "310115004001")
    register_devices(
        platform,
        [
            Device(f"wm-{i:04d}", "WaterMeter", lat, lon, attrs={"room_id": f"R{i:04d}"})
            for i in range(600)
        ]
        + [Device("em-0001", "ElectricityMeter", lat, lon, attrs={"room_id": "R0001"})]
        + [Device("wm-loose", "WaterMeter", lat, lon, attrs={})],
    )
    utility.forget_meters(platform)
    statements.clear()
    rooms = [f"R{i:04d}" for i in range(600)]
    assert utility.utility_evidence(platform, rooms, RULES) == {}  # no readings yet
    on_devices = [s for s in statements if "FROM devices" in s]
    on_readings = [s for s in statements if "FROM readings" in s]
    assert len(on_devices) == 1
    assert len(on_readings) == 4  # raw and hourly, for two batches of 500 meters
    by_room = utility.meters_by_room(platform)
    assert len(by_room) == 600 and "wm-loose" not in str(by_room)
    assert sorted(by_room["R0001"]) == [("em-0001", "ElectricityMeter"), ("wm-0001", "WaterMeter")]
    statements.clear()
    utility.utility_evidence(platform, rooms[:10], RULES)
    assert not [s for s in statements if "FROM devices" in s]  # cached
