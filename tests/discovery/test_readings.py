"""The readings store: the query endpoint (raw and hourly), retention and downsampling
(compaction folds old raw readings into hourly aggregates that answer the same questions),
CSV replay and a property test of the aggregate arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicloop.core.clock import FrozenClock
from civicloop.discovery import service, store
from civicloop.discovery.ingest import ingest
from civicloop.discovery.ngsi import parse_entities
from civicloop.discovery.readings import Aggregate, aggregate_rows
from civicloop.runtime import Platform
from tests.discovery.test_ingest import register
from tests.helpers import login

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)


def _feed(p: Platform, device_id: str, values: list[tuple[datetime, float]]) -> None:
    entities = [
        {"id": device_id, "type": "WaterMeter", "observedAt": at.isoformat(), "volume": v}
        for at, v in values
    ]
    now = p.clock.now()
    result = ingest(p, parse_entities(entities, notification_id=None, default_time=now, now=now))
    assert result.stored == len(values), result.errors


def _count(p: Platform, table: object) -> int:
    with p.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _series() -> list[tuple[datetime, float]]:
    # 3 hours × 4 readings, 15 minutes apart: volumes 0, 1, 2 … 11.
    return [(DAY0 + timedelta(minutes=15 * i), float(i)) for i in range(12)]


def test_raw_and_hourly_queries(platform: Platform, client: TestClient) -> None:
    register(platform, "wm-q", "WaterMeter")
    _feed(platform, "wm-q", _series())
    admin = login(client, "admin")
    url = "/api/v1/devices/wm-q/readings"
    raw = client.get(url, params={"attr": "volume"}, headers=admin).json()
    assert [r["attrs"]["volume"] for r in raw["items"]] == [float(i) for i in range(12)]
    window = client.get(
        url,
        params={"from": "2026-10-01T00:30:00Z", "to": "2026-10-01T01:00:00Z"},
        headers=admin,
    ).json()
    assert [r["attrs"]["volume"] for r in window["items"]] == [2.0, 3.0]
    hourly = client.get(url, params={"agg": "hour", "attr": "volume"}, headers=admin).json()
    assert [(h["count"], h["min"], h["max"], h["avg"], h["last"]) for h in hourly["items"]] == [
        (4, 0.0, 3.0, 1.5, 0.0 + 3),
        (4, 4.0, 7.0, 5.5, 7.0),
        (4, 8.0, 11.0, 9.5, 11.0),
    ]
    bad = client.get(url, params={"agg": "minute"}, headers=admin)
    assert bad.status_code == 422
    reversed_range = client.get(
        url, params={"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"}, headers=admin
    )
    assert reversed_range.status_code == 422 and reversed_range.json()["field"] == "from"
    assert client.get("/api/v1/devices/nope/readings", headers=admin).status_code == 404


def test_compaction_keeps_the_answers_and_drops_the_rows(
    platform: Platform, clock: FrozenClock, client: TestClient
) -> None:
    register(platform, "wm-c", "WaterMeter")
    _feed(platform, "wm-c", _series())
    recent = clock.now() - timedelta(hours=1)
    _feed(platform, "wm-c", [(recent, 99.0)])
    admin = login(client, "admin")
    url = "/api/v1/devices/wm-c/readings"
    before = client.get(url, params={"agg": "hour"}, headers=admin).json()["items"]
    report = service.compact_readings(platform, days=30)
    assert (report.compacted, report.hours) == (12, 3)
    assert _count(platform, store.readings) == 1  # the recent reading stays raw
    assert _count(platform, store.readings_hourly) == 3
    after = client.get(url, params={"agg": "hour"}, headers=admin).json()["items"]
    assert after == before
    # Compacting again finds nothing; an hour met in two runs is merged, not replaced.
    assert service.compact_readings(platform, days=30).compacted == 0
    _feed(platform, "wm-c", [(DAY0 + timedelta(minutes=50), 100.0)])
    service.compact_readings(platform, days=30)
    first = client.get(url, params={"agg": "hour"}, headers=admin).json()["items"][0]
    assert (first["count"], first["max"], first["last"]) == (5, 100.0, 100.0)


def test_retention_setting(platform: Platform) -> None:
    assert service.raw_days(platform) == 30
    platform.settings.extra["readings_raw_days"] = "7"
    try:
        assert service.raw_days(platform) == 7
    finally:
        platform.settings.extra.pop("readings_raw_days")


def test_csv_replay_cli(platform: Platform, tmp_path: Path) -> None:
    from civicloop.cli import app

    register(platform, "wm-r", "WaterMeter")
    path = tmp_path / "readings.csv"
    path.write_text(
        "device_id,entity_type,observed_at,volume,flow\n"
        "wm-r,WaterMeter,2026-11-25T00:00:00Z,1.5,0\n"
        "wm-r,,2026-11-25T01:00:00Z,2.5,0.2\n"
        "wm-r,WaterMeter,2026-11-25T01:00:00Z,2.5,0.2\n"
        "ghost,WaterMeter,2026-11-25T01:00:00Z,7,\n"
        "wm-r,WaterMeter,not-a-time,3,\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(
        app,
        ["discovery", "replay", str(path), "--data-dir", str(platform.settings.data_dir)],
        env={"CIVICLOOP_DATABASE_URL": platform.settings.database_url},
    )
    assert r.exit_code == 0, r.output
    assert "stored 2, duplicates 1, quarantined 1, rejected 1" in r.output
    rows = service.list_readings(platform, "wm-r")
    assert [x["attrs"] for x in rows] == [{"volume": 1.5, "flow": 0}, {"volume": 2.5, "flow": 0.2}]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3 * 3600 - 1),
            st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from(["on", "off"])),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(min_value=1, max_value=39),
)
def test_merging_parts_equals_aggregating_all(values: list[tuple[int, object]], cut: int) -> None:
    rows = [("d", DAY0 + timedelta(seconds=s), {"x": v}) for s, v in values]
    whole = aggregate_rows(rows)
    left, right = aggregate_rows(rows[:cut]), aggregate_rows(rows[cut:])
    for key, agg in whole.items():
        parts = [a for a in (left.get(key), right.get(key)) if a is not None]
        merged = parts[0] if len(parts) == 1 else parts[0].merge(parts[1])
        assert (merged.count, merged.numeric_count, merged.min, merged.max) == (
            agg.count,
            agg.numeric_count,
            agg.min,
            agg.max,
        )
        assert merged.last_at == agg.last_at
        if agg.sum is not None:
            assert merged.sum is not None and abs(merged.sum - agg.sum) <= 1e-6 * (1 + abs(agg.sum))
    assert Aggregate().avg is None
