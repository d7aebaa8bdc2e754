"""Alert → case: placed on a grid, filed once, suppressed while open, a close suggestion when
readings return to normal, attached to a citizen's open case of the same place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases.queries import read_case
from civicloop.cases.service import void_case
from civicloop.core.rawsql import Raw
from civicloop.discovery import alerts as alert_service
from civicloop.discovery import rules as engine
from civicloop.discovery import rules_offline as offline
from civicloop.discovery.model import Reading
from civicloop.discovery.rules_model import parse_rules
from civicloop.org.model import SYSTEM_ACTOR, Actor, Role
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
BIN_RULE = {
    "id": "bin.full",
    "element": "E0104",
    "entity_type": "WasteContainer",
    "attributes": ["fillingLevel"],
    "kind": "threshold",
    "when": "fillingLevel >= 0.9",
    "clear": "fillingLevel < 0.6",
    "summary": "垃圾桶满溢 {fillingLevel:.0%}",
}


def setup_rules(p: Platform) -> None:
    found, problems = parse_rules({"rules": [BIN_RULE]}, "t")
    assert problems == []
    engine.use_rules(p, found)


def bin_reading(p: Platform, minutes: float, level: float, device: str = "bin-1") -> Reading:
    lon, lat = point_in(p, user_region(p, "gridworker"))
    return Reading(
        device_id=device,
        entity_type="WasteContainer",
        observed_at=T0 + timedelta(minutes=minutes),
        attrs={"fillingLevel": level},
        lon=lon,
        lat=lat,
    )


def run(p: Platform, *readings: Reading) -> alert_service.AlertSummary:
    return alert_service.raise_alerts(p, engine.evaluate(p, list(readings)))


def ledger_actions(p: Platform, prefix: str) -> list[str]:
    with p.db.read() as conn:
        rows = Raw(conn).all(
            "SELECT action FROM ledger_entries WHERE action LIKE :a ORDER BY seq", {"a": prefix}
        )
    return [str(r["action"]) for r in rows]


def alert_rows(p: Platform) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        return Raw(conn).all("SELECT * FROM discovery_alerts ORDER BY raised_at, id")


def test_an_alert_files_one_sensor_case_on_its_grid(platform: Platform) -> None:
    p = platform
    setup_rules(p)
    summary = run(p, bin_reading(p, 0, 0.5), bin_reading(p, 1, 0.95))
    assert (summary.filed, summary.suppressed) == (1, 0)
    case = read_case(p, SYSTEM_ACTOR, summary.case_ids[0])
    r = bin_reading(p, 0, 0)
    assert case["grid_code"] == p.grids.locate(r.lon, r.lat)  # type: ignore[arg-type]
    assert case["channel"] == "sensor"
    assert case["element_code"] == "E0104"
    assert case["description"] == "垃圾桶满溢 95%"
    rows = alert_rows(p)
    assert [(x["status"], x["case_id"]) for x in rows] == [("open", case["id"])]
    assert ledger_actions(p, "alert.%") == ["alert.raised"]


def test_raises_while_the_case_is_open_are_suppressed(platform: Platform) -> None:
    p = platform
    setup_rules(p)
    first = run(p, bin_reading(p, 0, 0.95))
    # the bin's alert clears (close suggestion) and rises again while the case is still open
    run(p, bin_reading(p, 10, 0.1))
    # the cleared alert row is no longer "open", so the next raise is a new episode; but a
    # second raise without a clear is held by the state machine: nothing reaches the cases
    again = run(p, bin_reading(p, 20, 0.99), bin_reading(p, 30, 0.97), bin_reading(p, 40, 0.98))
    assert again.suppressed == 0
    assert again.attached + again.filed == 1
    # the same alert arriving twice (two pipelines) is suppressed by the alert table
    dup = engine.make_alert(
        engine.engine_for(p).rules[0],
        "bin-1",
        T0 + timedelta(minutes=50),
        bin_reading(p, 0, 0).lon,
        bin_reading(p, 0, 0).lat,
        None,
        "raise",
        {"fillingLevel": 0.99},
    )
    suppressed = alert_service.raise_alerts(p, [dup, dup])
    assert suppressed.suppressed == 2
    assert first.case_ids
    open_rows = [x for x in alert_rows(p) if x["status"] == "open"]
    assert len(open_rows) == 1 and open_rows[0]["repeat_count"] == 2
    assert ledger_actions(p, "alert.suppressed") == ["alert.suppressed"] * 2


def test_back_to_normal_puts_a_close_suggestion_on_the_case(platform: Platform) -> None:
    p = platform
    setup_rules(p)
    filed = run(p, bin_reading(p, 0, 0.95))
    case_id = filed.case_ids[0]
    assert run(p, bin_reading(p, 5, 0.8)).cleared == 0  # between the thresholds: nothing
    cleared = run(p, bin_reading(p, 10, 0.2))
    assert (cleared.cleared, cleared.close_suggested) == (1, 1)
    case = read_case(p, SYSTEM_ACTOR, case_id)
    texts = [n["text"] for n in case["notes"]]
    assert any("建议结案" in t and "须网格员现场核查" in t for t in texts), texts
    assert case["status"] == "reported"  # suggested, never closed by the machine
    assert [x["status"] for x in alert_rows(p)] == ["cleared"]
    assert ledger_actions(p, "alert.%") == ["alert.raised", "alert.cleared"]


def test_a_closed_case_lets_the_next_alert_file_anew(platform: Platform) -> None:
    p = platform
    setup_rules(p)
    first = run(p, bin_reading(p, 0, 0.95))
    operator = _operator(p)
    void_case(p, operator, first.case_ids[0], reason="传感器误报")
    dup = engine.make_alert(
        engine.engine_for(p).rules[0],
        "bin-1",
        T0 + timedelta(minutes=30),
        bin_reading(p, 0, 0).lon,
        bin_reading(p, 0, 0).lat,
        None,
        "raise",
        {"fillingLevel": 0.99},
    )
    second = alert_service.raise_alerts(p, [dup])
    assert second.filed + second.attached == 1
    assert second.case_ids[0] != first.case_ids[0]
    assert sorted(x["status"] for x in alert_rows(p)) == ["closed", "open"]


def test_an_alert_joins_a_citizens_open_case_at_the_same_place(
    platform: Platform, client: TestClient
) -> None:
    p = platform
    setup_rules(p)
    r = bin_reading(p, 0, 0)
    body = {
        "element_code": "E0104",
        "description": "这个垃圾桶满了，垃圾溢出到地上",
        "lon": r.lon,
        "lat": r.lat,
        "channel": "app",
    }
    got = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert got.status_code in (200, 201), got.text
    citizen_case = got.json()["id"]
    summary = run(p, bin_reading(p, 1, 0.97))
    assert (summary.filed, summary.attached) == (0, 1)
    assert summary.case_ids == [citizen_case]
    assert alert_rows(p)[0]["case_id"] == citizen_case


def test_an_alert_outside_the_district_is_kept_unplaced(platform: Platform) -> None:
    p = platform
    setup_rules(p)
    far = Reading("bin-far", "WasteContainer", T0, {"fillingLevel": 0.99}, lon=100.0, lat=30.0)
    summary = run(p, far)
    assert (summary.filed, summary.unplaced) == (0, 1)
    assert [x["status"] for x in alert_rows(p)] == ["unplaced"]
    assert ledger_actions(p, "alert.%") == ["alert.unplaced"]


def test_alert_list_follows_territory(platform: Platform, client: TestClient) -> None:
    p = platform
    setup_rules(p)
    run(p, bin_reading(p, 0, 0.95))
    mine = client.get("/api/v1/alerts", headers=login(client, "gridworker"))
    assert mine.status_code == 200
    assert [a["rule_id"] for a in mine.json()] == ["bin.full"]
    other = client.get("/api/v1/alerts", headers=login(client, "gridworker2"))
    assert other.status_code == 200 and other.json() == []
    citizen = client.get("/api/v1/alerts", headers=login(client, "citizen"))
    assert citizen.status_code == 403
    assert citizen.headers["content-type"].startswith("application/problem+json")
    rules = client.get("/api/v1/rules", headers=login(client, "operator"))
    assert [r["id"] for r in rules.json()["rules"]] == ["bin.full"]


def _operator(p: Platform) -> Actor:
    with p.db.read() as conn:
        row = Raw(conn).one("SELECT id FROM users WHERE username = 'operator'")
    assert row is not None
    return Actor(id=str(row["id"]), role=Role.OPERATOR, name="operator", region_path="/")


def test_end_to_end_from_an_ngsi_ld_notification_to_a_case(
    platform: Platform, client: TestClient
) -> None:
    """Ingestion's receiver → rules → alert → case; then a typhoon warning → emergency mode."""
    from civicloop.discovery import service
    from civicloop.discovery.model import Device
    from civicloop.org import service as org

    p = platform
    found, problems = offline.read_rule_files([engine.DEFAULT_RULES_DIR])
    assert problems == []
    engine.use_rules(p, found)
    lon, lat = point_in(p, user_region(p, "gridworker"))
    service.register_devices(
        p,
        [
            Device("urn:ngsi-ld:Streetlight:sl-1", "Streetlight", lat, lon, None, None, 900, {}),
            Device("urn:ngsi-ld:WeatherAlert:qx", "WeatherAlert", None, None, None, None, 3600, {}),
        ],
    )
    key = {"X-API-Key": org.create_api_key(p, "gateway")}

    def notify(nid: str, *entities: dict[str, Any]) -> None:
        body = {
            "id": nid,
            "type": "Notification",
            "notifiedAt": "2026-11-25T02:00:00Z",
            "data": list(entities),
        }
        got = client.post("/ngsi-ld/notify", json=body, headers=key)
        assert got.status_code < 300, got.text

    notify(
        "urn:n:1",
        {
            "id": "urn:ngsi-ld:Streetlight:sl-1",
            "type": "Streetlight",
            "dateObserved": "2026-11-25T02:00:00Z",
            "status": "defectiveLamp",
        },
    )
    rows = alert_rows(p)
    assert [(x["rule_id"], x["status"]) for x in rows] == [("streetlight.fault", "open")]
    case = read_case(p, SYSTEM_ACTOR, rows[0]["case_id"])
    assert (case["element_code"], case["channel"]) == ("C0201", "sensor")
    notify(
        "urn:n:2",
        {
            "id": "urn:ngsi-ld:WeatherAlert:qx",
            "type": "WeatherAlert",
            "dateObserved": "2026-11-25T02:05:00Z",
            "awarenessLevel": "orange",
            "awarenessType": "typhoon",
        },
    )
    banner = client.get("/api/v1/emergency", headers=login(client, "operator")).json()
    assert banner["is_active"] is True and "台风橙色预警" in banner["banner"]
