"""Emergency mode (战平一体): a typhoon warning switches it on and off, operators switch it by
API and CLI, task packages become cases, deadlines tighten, emergency thresholds apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from civicloop.cases.queries import read_case
from civicloop.core.rawsql import Raw
from civicloop.core.settings import Settings
from civicloop.discovery import alerts as alert_service
from civicloop.discovery import emergency
from civicloop.discovery import rules as engine
from civicloop.discovery import rules_offline as offline
from civicloop.discovery.model import Reading
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def warning(minutes: float, level: str, hazard: str = "typhoon", **extra: Any) -> Reading:
    return Reading(
        device_id="urn:ngsi-ld:WeatherAlert:sh-qx",
        entity_type="WeatherAlert",
        observed_at=T0 + timedelta(minutes=minutes),
        attrs={"awarenessLevel": level, "awarenessType": hazard, **extra},
    )


def actions(p: Platform, pattern: str) -> list[str]:
    with p.db.read() as conn:
        rows = Raw(conn).all(
            "SELECT action FROM ledger_entries WHERE action LIKE :a ORDER BY seq", {"a": pattern}
        )
    return [str(r["action"]) for r in rows]


def task_cases(p: Platform) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        return Raw(conn).all(
            "SELECT case_id, kind, mode_id FROM discovery_emergency_cases WHERE kind = 'task'"
        )


def test_a_typhoon_warning_switches_emergency_mode_on_and_off(
    platform: Platform, client: TestClient
) -> None:
    p = platform
    engine.use_rules(p, [])
    streets = len(emergency._streets(p))
    assert streets >= 2
    engine.evaluate(p, [warning(0, "yellow")])  # below the trigger level: nothing
    assert emergency.list_modes(p, active_only=True) == []
    engine.evaluate(p, [warning(10, "orange")])
    modes = emergency.list_modes(p, active_only=True)
    assert [(m["scope_kind"], m["level"], m["hazard"], m["source"]) for m in modes] == [
        ("district", "orange", "typhoon", "weather")
    ]
    # flood package: one E0404 per street + one E0406 for the district; wind: E0406 per street
    tasks = task_cases(p)
    assert len(tasks) == 2 * streets + 1
    case = read_case(p, SYSTEM_ACTOR, tasks[0]["case_id"])
    assert case["channel"] == "data_rule"
    assert case["description"].startswith("【应急任务")
    banner = client.get("/api/v1/emergency", headers=login(client, "gridworker")).json()
    assert banner["is_active"] is True
    assert banner["banner"] == "应急模式：台风橙色预警（全区）"
    engine.evaluate(p, [warning(20, "orange")])  # the same warning again: nothing new
    assert len(task_cases(p)) == 2 * streets + 1
    engine.evaluate(p, [warning(30, "red")])  # escalation: same mode, no orange tasks again
    assert [m["level"] for m in emergency.list_modes(p, active_only=True)] == ["red"]
    assert len(task_cases(p)) == 2 * streets + 1
    engine.evaluate(p, [warning(240, "blue")])  # downgraded below orange: the mode ends
    assert emergency.list_modes(p, active_only=True) == []
    ended = emergency.list_modes(p)[0]
    assert ended["ended_at"] == T0 and ended["ended_by"] == "system"  # frozen test clock
    assert "降级" in ended["end_reason"]
    assert actions(p, "emergency.%") == [
        "emergency.entered",
        *["emergency.task_dispatched"] * (2 * streets + 1),
        "emergency.escalated",
        "emergency.left",
    ]
    after = client.get("/api/v1/emergency", headers=login(client, "gridworker")).json()
    assert after == {"is_active": False, "banner": "", "modes": []}


def test_a_cancelled_warning_ends_the_mode(platform: Platform) -> None:
    p = platform
    engine.use_rules(p, [])
    engine.evaluate(p, [warning(0, "orange", "rainstorm")])
    assert len(emergency.list_modes(p, active_only=True)) == 1
    engine.evaluate(p, [warning(60, "orange", "rainstorm", status="cancelled")])
    assert emergency.list_modes(p, active_only=True) == []


def test_deadlines_tighten_for_cases_filed_under_the_mode(platform: Platform) -> None:
    from civicloop.cases import service as cases
    from civicloop.org.model import Actor, Role

    p = platform
    engine.use_rules(p, [])
    mode = emergency.enter_emergency(
        p, SYSTEM_ACTOR, scope_kind="district", level="orange", hazard="typhoon", reason="演练"
    )
    task = next(t for t in mode["tasks"] if t["element"] == "E0404")
    chief = Actor(id="chief-test", role=Role.SHIFT_CHIEF, name="chief", region_path="/")
    cases.accept_case(p, chief, task["case_id"])
    cases.file_case(p, chief, task["case_id"], filing_condition="02")  # handle: urgent_4h
    cases.dispatch_case(p, chief, task["case_id"])
    before = read_case(p, SYSTEM_ACTOR, task["case_id"])
    handle = next(s for s in before["steps"] if s["step"] == "handle")
    assert handle["due_at"] - handle["started_at"] == timedelta(hours=4)
    assert emergency.tighten_deadlines(p) >= 1  # the periodic tick
    after = read_case(p, SYSTEM_ACTOR, task["case_id"])
    handle = next(s for s in after["steps"] if s["step"] == "handle")
    assert handle["due_at"] - handle["started_at"] == timedelta(hours=2)  # factor 0.5
    assert after["handle_due_at"] == handle["due_at"]
    assert "case.deadline_tightened" in actions(p, "case.deadline%")
    assert emergency.tighten_deadlines(p) == 0  # each step once
    emergency.leave_emergency(p, SYSTEM_ACTOR, str(mode["id"]), reason="解除")
    cases.sign_case  # noqa: B018  (later steps of a case whose mode ended keep normal deadlines)


def test_emergency_thresholds_and_alert_cases_under_the_mode(platform: Platform) -> None:
    p = platform
    found, problems = offline.read_rule_files([engine.DEFAULT_RULES_DIR])
    assert problems == []
    engine.use_rules(p, [r for r in found if r.id.startswith("flood.level.alert")])
    lon, lat = point_in(p, user_region(p, "gridworker"))

    def level(minutes: float, metres: float) -> Reading:
        return Reading(
            "flood-1",
            "FloodMonitoring",
            T0 + timedelta(minutes=minutes),
            {"currentLevel": metres},
            lon=lon,
            lat=lat,
        )

    assert engine.evaluate(p, [level(0, 0.10)]) == []  # 10 cm: below the normal 15 cm
    emergency.enter_emergency(
        p,
        SYSTEM_ACTOR,
        scope_kind="scene",
        scope_code="smart_weather",
        level="orange",
        hazard="rainstorm",
        reason="暴雨橙色预警",
    )
    out = engine.evaluate(p, [level(5, 0.10)])  # the emergency variant acts at 8 cm
    assert [(a.rule_id, a.evidence["transition"]) for a in out] == [
        ("flood.level.alert.emergency", "raised")
    ]
    summary = alert_service.raise_alerts(p, out)
    with p.db.read() as conn:
        row = Raw(conn).one(
            "SELECT kind FROM discovery_emergency_cases WHERE case_id = :c",
            {"c": summary.case_ids[0]},
        )
    assert row is not None and row["kind"] == "alert"


def test_operators_switch_the_mode_by_api(platform: Platform, client: TestClient) -> None:
    p = platform
    street = emergency.street_of(p, p.grids.locate(*point_in(p, user_region(p, "gridworker"))))  # type: ignore[arg-type]
    own = client.post(
        "/api/v1/emergency",
        json={
            "scope_kind": "street",
            "scope_code": street,
            "level": "orange",
            "hazard": "rainstorm",
            "reason": "街镇启动防汛应急",
        },
        headers=login(client, "street-ljz"),
    )
    assert own.status_code == 201, own.text
    assert own.json()["is_new"] is True
    assert {t["street"] for t in own.json()["tasks"]} == {street}
    other = client.post(
        "/api/v1/emergency",
        json={"scope_kind": "street", "scope_code": street, "level": "red", "hazard": "rainstorm"},
        headers=login(client, "street-hm"),
    )
    assert other.status_code == 403
    bad = client.post(
        "/api/v1/emergency",
        json={"scope_kind": "district", "level": "purple", "hazard": "typhoon"},
        headers=login(client, "chief"),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "level"
    assert (
        client.post(
            "/api/v1/emergency",
            json={"level": "red", "hazard": "x"},
            headers=login(client, "citizen"),
        ).status_code
        == 403
    )
    mode_id = own.json()["id"]
    left = client.post(
        f"/api/v1/emergency/{mode_id}/leave",
        json={"reason": "雨停"},
        headers=login(client, "chief"),
    )
    assert left.status_code == 200, left.text
    again = client.post(
        f"/api/v1/emergency/{mode_id}/leave", json={}, headers=login(client, "chief")
    )
    assert again.status_code == 409
    assert actions(p, "emergency.left") == ["emergency.left"]


def test_cli_switches_the_mode(platform: Platform, settings: Settings) -> None:
    from civicloop.cli import app

    env = {"CIVICLOOP_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["CIVICLOOP_DATABASE_URL"] = settings.database_url
    runner = CliRunner()
    on = runner.invoke(
        app, ["rules", "emergency-on", "--level", "orange", "--hazard", "typhoon"], env=env
    )
    assert on.exit_code == 0, on.output
    status = runner.invoke(app, ["rules", "emergency-status"], env=env)
    assert "1 active mode(s)" in status.output
    mode_id = status.output.split()[0]
    off = runner.invoke(app, ["rules", "emergency-off", mode_id, "--reason", "解除"], env=env)
    assert off.exit_code == 0, off.output
    assert "0 active mode(s)" in runner.invoke(app, ["rules", "emergency-status"], env=env).output
    wrong = runner.invoke(
        app,
        [
            "rules",
            "emergency-on",
            "--level",
            "orange",
            "--hazard",
            "typhoon",
            "--scope",
            "street",
            "--code",
            "nowhere",
        ],
        env=env,
    )
    assert wrong.exit_code == 2


def test_cases_reported_by_any_channel_during_the_mode_are_adopted(
    platform: Platform, client: TestClient
) -> None:
    p = platform
    before = client.post(
        "/api/v1/cases",
        json={
            "element_code": "E0404",
            "description": "路口积水很深，车辆无法通行",
            "lon": point_in(p, user_region(p, "gridworker"))[0],
            "lat": point_in(p, user_region(p, "gridworker"))[1],
            "channel": "app",
        },
        headers=login(client, "citizen"),
    )
    assert before.status_code in (200, 201)
    mode = emergency.enter_emergency(
        p, SYSTEM_ACTOR, scope_kind="district", level="orange", hazard="rainstorm", reason="暴雨"
    )
    lon, lat = point_in(p, user_region(p, "gridworker2"))
    during = client.post(
        "/api/v1/cases",
        json={
            "element_code": "E0404",
            "description": "小区门口道路积水",
            "lon": lon,
            "lat": lat,
            "channel": "app",
        },
        headers=login(client, "citizen"),
    )
    assert during.status_code in (200, 201)
    engine.tick(p)
    with p.db.read() as conn:
        kinds = {
            r["case_id"]: r["kind"]
            for r in Raw(conn).all("SELECT case_id, kind FROM discovery_emergency_cases")
        }
    assert kinds[during.json()["id"]] == "filed"
    # the frozen clock: the earlier report has the same time, so it is adopted too; what
    # matters is that adoption is by report time and scope, and idempotent
    assert emergency.adopt_cases(p) == 0
    assert len([k for k in kinds.values() if k == "task"]) == len(mode["tasks"])
