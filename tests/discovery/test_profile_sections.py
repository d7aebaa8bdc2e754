"""Profiles carry the devices that serve an object, their readings and alerts, and permits."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from civicloop.discovery import rules as engine
from civicloop.discovery import service
from civicloop.discovery.model import Device
from civicloop.discovery.rules_model import parse_rules
from civicloop.org import service as org
from civicloop.registry import service as registry_service
from civicloop.runtime import Platform
from tests.discovery.test_detectors import permit
from tests.helpers import login
from tests.risk.test_api import registry  # noqa: F401  (the small generated registry)

LEAK = {
    "id": "meter.leak",
    "element": "E0104",
    "entity_type": "WaterMeter",
    "attributes": ["flow"],
    "kind": "threshold",
    "when": "flow > 5",
    "summary": "水表流量异常 {flow}",
}


def _notify(client: TestClient, key: dict[str, str], nid: str, *entities: dict[str, Any]) -> None:
    body = {"id": nid, "type": "Notification", "notifiedAt": "2026-11-25T02:00:00Z"}
    got = client.post("/ngsi-ld/notify", json={**body, "data": list(entities)}, headers=key)
    assert got.status_code < 300, got.text


def _meter(mid: str, at: str, volume: float, flow: float) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "WaterMeter",
        "volume": {"type": "Property", "value": volume, "observedAt": at},
        "flow": {"type": "Property", "value": flow, "observedAt": at},
    }


@pytest.mark.slow
def test_a_room_and_its_building_show_their_meters_readings_and_alerts(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    p = registry
    first = next(iter(registry_service.iter_records(p, "room")))[0]
    room = registry_service.get_room(p, first["id"])  # with its building's position
    found, problems = parse_rules({"rules": [LEAK]}, "t")
    assert problems == []
    engine.use_rules(p, found)
    meter, button = "urn:ngsi-ld:WaterMeter:wm-room", "urn:ngsi-ld:CallButton:cb-bldg"
    service.register_devices(
        p,
        [
            Device(
                meter,
                "WaterMeter",
                room["lat"],
                room["lon"],
                None,
                None,
                900,
                {"room_id": room["id"]},
            ),
            Device(
                button,
                "CallButton",
                room["lat"],
                room["lon"],
                None,
                None,
                3600,
                {"building_id": room["building_id"]},
            ),
            Device(
                "urn:ngsi-ld:WaterMeter:elsewhere",
                "WaterMeter",
                room["lat"],
                room["lon"],
                None,
                None,
                900,
                {"room_id": "R-not-this-one"},
            ),
        ],
    )
    key = {"X-API-Key": org.create_api_key(p, "gateway")}
    _notify(client, key, "urn:n:1", _meter(meter, "2026-11-25T01:00:00Z", 10.0, 0.2))
    _notify(client, key, "urn:n:2", _meter(meter, "2026-11-25T01:30:00Z", 12.5, 9.0))

    admin = login(client, "admin")
    r = client.get(f"/api/v1/profiles/room/{room['id']}", headers=admin)
    assert r.status_code == 200, r.text
    sections = r.json()["sections"]
    devices = sections["devices"]["items"]
    assert [d["device_id"] for d in devices] == [meter]
    assert devices[0]["latest"]["attrs"] == {"volume": 12.5, "flow": 9.0}
    assert devices[0]["last_24h"]["volume"] == {"count": 2, "min": 10.0, "max": 12.5}
    alerts = sections["alerts"]
    assert [(a["rule_id"], a["device_id"], a["status"]) for a in alerts] == [
        ("meter.leak", meter, "open")
    ]
    assert alerts[0]["case_id"]

    r = client.get(f"/api/v1/profiles/building/{room['building_id']}", headers=admin)
    assert r.status_code == 200, r.text
    sections = r.json()["sections"]
    assert {d["device_id"] for d in sections["devices"]["items"]} == {meter, button}
    assert [a["device_id"] for a in sections["alerts"]] == [meter]


@pytest.mark.slow
def test_an_enterprise_shows_its_permits_and_vehicles(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    p = registry
    entity = next(iter(registry_service.iter_records(p, "entity")))[0]
    code = entity["credit_code"]
    got = client.post(
        "/api/v1/permits",
        json=[permit(p, company_credit_code=code, plate="沪B 54321")],
        headers=login(client, "admin"),
    )
    assert got.status_code == 201, got.text
    service.register_devices(
        p,
        [
            Device("truck-9", "VehiclePosition", None, None, None, None, 60, {"plate": "沪B54321"}),
            Device("truck-0", "VehiclePosition", None, None, None, None, 60, {"plate": "沪C00000"}),
        ],
    )
    r = client.get(f"/api/v1/profiles/entity/{code}", headers=login(client, "admin"))
    assert r.status_code == 200, r.text
    sections = r.json()["sections"]
    assert [x["permit_no"] for x in sections["permits"]] == ["ZT-2026-001"]
    assert [d["device_id"] for d in sections["devices"]["items"]] == ["truck-9"]
    assert sections["alerts"] == []
