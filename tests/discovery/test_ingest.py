"""Ingestion through the HTTP receivers: every entity type in both NGSI-LD formats, the
@context in a Link header or the body, idempotency, partial batches, the ETSI error types,
the quarantine and API-key authentication."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.discovery import service, store
from civicloop.discovery.model import ENTITY_TYPES, Device
from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.helpers import login, point_in

FIXTURES = Path(__file__).parent / "fixtures" / "ngsi"
ATTRIBUTES: dict[str, dict[str, Any]] = json.loads((FIXTURES / "attributes.json").read_text())
LINK = (
    '<https://smartdatamodels.org/context.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; '
    'type="application/ld+json"'
)
ETSI = "https://uri.etsi.org/ngsi-ld/errors/"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def gateway_key(
    p: Platform, name: str = "gateway", department: str | None = None
) -> dict[str, str]:
    return {"X-API-Key": org.create_api_key(p, name, department_code=department)}


def register(p: Platform, device_id: str, entity_type: str, **extra: Any) -> Device:
    lon, lat = point_in(p, "310115004001")
    device = Device(device_id, entity_type, lat, lon, None, None, extra.pop("interval", 900), extra)
    service.register_devices(p, [device])
    return service.read_device(p, device_id)


def stored(p: Platform, device_id: str | None = None) -> list[dict[str, Any]]:
    r = store.readings
    q = select(r)
    if device_id:
        q = q.where(r.c.device_id == device_id)
    with p.db.read() as conn:
        return [dict(x._mapping) for x in conn.execute(q.order_by(r.c.observed_at))]


def entity(device_id: str, entity_type: str, at: str, **attrs: Any) -> dict[str, Any]:
    return {"id": device_id, "type": entity_type, "dateObserved": at, **attrs}


def notification(
    *entities: dict[str, Any], nid: str = "urn:ngsi-ld:Notification:1"
) -> dict[str, Any]:
    return {
        "id": nid,
        "type": "Notification",
        "notifiedAt": "2026-11-25T01:59:00Z",
        "data": list(entities),
    }


@pytest.mark.parametrize("entity_type", sorted(ENTITY_TYPES))
@pytest.mark.parametrize("shape", ["normalized", "keyvalues"])
def test_every_entity_type_in_both_formats_is_stored(
    platform: Platform, client: TestClient, entity_type: str, shape: str
) -> None:
    body = fixture(f"{entity_type}.{shape}.json")
    device_id = body["data"][0]["id"]
    register(platform, device_id, entity_type)
    headers = {**gateway_key(platform), "Link": LINK}
    r = client.post("/ngsi-ld/notify", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1 and r.json()["errors"] == []
    rows = stored(platform, device_id)
    assert len(rows) == 1
    row = rows[0]
    attrs = row["attrs"]
    assert attrs == ATTRIBUTES[entity_type]
    assert row["observed_at"].isoformat() == "2026-11-25T01:55:00+00:00"
    assert row["entity_type"] == entity_type
    assert row["grid_code"] is not None  # the device's grid, or the reported position's
    if entity_type == "VehiclePosition":
        assert (row["lon"], row["lat"]) == (121.523065, 31.227981)
        assert row["grid_code"] == platform.grids.locate(121.523065, 31.227981)
    assert r.json()["contexts"] == ["https://smartdatamodels.org/context.jsonld"]


def test_redelivery_stores_once(platform: Platform, client: TestClient) -> None:
    register(platform, "urn:ngsi-ld:WasteContainer:w1", "WasteContainer")
    body = notification(
        entity(
            "urn:ngsi-ld:WasteContainer:w1",
            "WasteContainer",
            "2026-11-25T01:00:00Z",
            fillingLevel=0.4,
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:w1",
            "WasteContainer",
            "2026-11-25T01:10:00Z",
            fillingLevel=0.5,
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:w1",
            "WasteContainer",
            "2026-11-25T01:10:00Z",
            fillingLevel=0.5,
        ),
    )
    key = gateway_key(platform)
    first = client.post("/ngsi-ld/notify", json=body, headers=key).json()
    assert (first["stored"], first["duplicates"]) == (2, 1)
    again = client.post("/ngsi-ld/notify", json=body, headers=key).json()
    assert (again["stored"], again["duplicates"]) == (0, 3)
    assert [r["attrs"]["fillingLevel"] for r in stored(platform)] == [0.4, 0.5]


def test_keyvalues_without_a_time_take_notified_at(platform: Platform, client: TestClient) -> None:
    register(platform, "urn:ngsi-ld:NoiseLevelObserved:n1", "NoiseLevelObserved")
    body = notification(
        {"id": "urn:ngsi-ld:NoiseLevelObserved:n1", "type": "NoiseLevelObserved", "LAeq": 55}
    )
    r = client.post("/ngsi-ld/notify", json=body, headers=gateway_key(platform))
    assert r.status_code == 200
    assert stored(platform)[0]["observed_at"].isoformat() == "2026-11-25T01:59:00+00:00"


def test_context_in_the_body_and_expanded_names(platform: Platform, client: TestClient) -> None:
    register(platform, "urn:ngsi-ld:WasteContainer:w2", "WasteContainer")
    body = {
        "id": "urn:ngsi-ld:Notification:ld",
        "type": "Notification",
        "notifiedAt": "2026-11-25T01:59:00Z",
        "@context": [
            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
            {"fill": "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"},
        ],
        "data": [
            {
                "id": "urn:ngsi-ld:WasteContainer:w2",
                "type": "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer",
                "fill": {"type": "Property", "value": 0.93, "observedAt": "2026-11-25T01:58:00Z"},
                "https://uri.fiware.org/ns/data-models#temperature": {
                    "type": "Property",
                    "value": 9,
                },
            }
        ],
    }
    r = client.post(
        "/ngsi-ld/notify",
        content=json.dumps(body),
        headers={**gateway_key(platform), "Content-Type": "application/ld+json"},
    )
    assert r.status_code == 200, r.text
    assert stored(platform)[0]["attrs"] == {"fillingLevel": 0.93, "temperature": 9}
    assert "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld" in r.json()["contexts"]


def test_ld_json_without_context_is_bad_request_data(
    platform: Platform, client: TestClient
) -> None:
    body = notification(
        entity("urn:x:1", "WasteContainer", "2026-11-25T01:00:00Z", fillingLevel=0.1)
    )
    r = client.post(
        "/ngsi-ld/notify",
        content=json.dumps(body),
        headers={**gateway_key(platform), "Content-Type": "application/ld+json"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == ETSI + "BadRequestData"


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"{not json", "InvalidRequest"),
        (b'"just a string"', "BadRequestData"),
        (b'{"type": "Notification", "data": {"id": "x"}}', "BadRequestData"),
        (b'{"type": "Notification", "data": []}', "BadRequestData"),
        (
            b'{"type": "Notification", "notifiedAt": "yesterday", "data": [{"id": "a", "type": "T"}]}',
            "BadRequestData",
        ),
    ],
)
def test_malformed_envelopes_get_the_etsi_error_type(
    platform: Platform, client: TestClient, content: bytes, kind: str
) -> None:
    r = client.post(
        "/ngsi-ld/notify",
        content=content,
        headers={**gateway_key(platform), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["type"] == ETSI + kind
    assert problem["status"] == 400 and problem["detail"]
    assert stored(platform) == []


def test_one_bad_entity_does_not_stop_the_others(platform: Platform, client: TestClient) -> None:
    register(platform, "urn:ngsi-ld:WasteContainer:w3", "WasteContainer")
    register(platform, "urn:ngsi-ld:NoiseLevelObserved:n3", "NoiseLevelObserved")
    body = notification(
        entity(
            "urn:ngsi-ld:WasteContainer:w3",
            "WasteContainer",
            "2026-11-25T01:00:00Z",
            fillingLevel=0.7,
        ),
        entity(
            "urn:ngsi-ld:NoiseLevelObserved:n3",
            "NoiseLevelObserved",
            "2026-11-25T01:00:00Z",
            LAeq="loud",
        ),
        {"type": "WasteContainer", "fillingLevel": 0.2},
        entity(
            "urn:ngsi-ld:WasteContainer:w3",
            "WasteContainer",
            "2026-11-25T01:05:00Z",
            fillingLevel=1.7,
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:w3", "NoiseLevelObserved", "2026-11-25T01:06:00Z", LAeq=50
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:w3",
            "WasteContainer",
            "2030-01-01T00:00:00Z",
            fillingLevel=0.1,
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:w3",
            "WasteContainer",
            "2026-11-25T01:10:00Z",
            fillingLevel=0.8,
        ),
    )
    r = client.post("/ngsi-ld/notify", json=body, headers=gateway_key(platform))
    assert r.status_code == 207, r.text
    out = r.json()
    assert (out["stored"], out["rejected"]) == (2, 5)
    errors = {e["index"]: e for e in out["errors"]}
    assert set(errors) == {1, 2, 3, 4, 5}
    assert errors[1]["entityId"] == "urn:ngsi-ld:NoiseLevelObserved:n3"
    assert errors[1]["error"]["type"] == ETSI + "BadRequestData"
    assert (errors[1]["error"]["field"], errors[1]["error"]["rule"]) == ("LAeq", "type")
    assert (errors[2]["error"]["field"], errors[2]["error"]["rule"]) == ("id", "required")
    assert (errors[3]["error"]["field"], errors[3]["error"]["rule"]) == ("fillingLevel", "maximum")
    assert errors[4]["error"]["rule"] == "matches_device"
    assert errors[5]["error"]["rule"] == "not_in_future"
    assert [r["attrs"]["fillingLevel"] for r in stored(platform)] == [0.7, 0.8]


def test_unknown_devices_are_quarantined_then_replayed(
    platform: Platform, client: TestClient
) -> None:
    body = notification(
        entity(
            "urn:ngsi-ld:WasteContainer:new",
            "WasteContainer",
            "2026-11-25T01:00:00Z",
            fillingLevel=0.3,
        ),
        entity(
            "urn:ngsi-ld:WasteContainer:new",
            "WasteContainer",
            "2026-11-25T01:30:00Z",
            fillingLevel=0.6,
        ),
    )
    key = gateway_key(platform)
    r = client.post("/ngsi-ld/notify", json=body, headers=key)
    assert r.status_code == 200
    assert (r.json()["stored"], r.json()["quarantined"]) == (0, 2)
    assert client.post("/ngsi-ld/notify", json=body, headers=key).json()["quarantined"] == 0
    admin = login(client, "admin")
    listed = client.get("/api/v1/readings/quarantine", headers=admin)
    assert listed.status_code == 200
    assert {q["device_id"] for q in listed.json()} == {"urn:ngsi-ld:WasteContainer:new"}
    assert listed.json()[0]["reason"] == "unknown_device"
    # Registering the device replays its quarantined readings.
    lon, lat = point_in(platform, "310115004001")
    r = client.put(
        "/api/v1/devices/urn:ngsi-ld:WasteContainer:new",
        json={"entity_type": "WasteContainer", "lon": lon, "lat": lat, "report_interval_s": 600},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert [x["attrs"]["fillingLevel"] for x in stored(platform)] == [0.3, 0.6]
    assert client.get("/api/v1/readings/quarantine", headers=admin).json() == []
    every = client.get("/api/v1/readings/quarantine?pending=false", headers=admin).json()
    assert all(q["reprocessed_at"] for q in every) and len(every) == 2


def test_quarantine_reprocess_endpoint(platform: Platform, client: TestClient) -> None:
    body = notification(entity("urn:x:wm", "WaterMeter", "2026-11-25T01:00:00Z", volume=1.5))
    client.post("/ngsi-ld/notify", json=body, headers=gateway_key(platform))
    lon, lat = point_in(platform, "310115004001")
    # Registered behind the pipeline's back (another process): the endpoint replays it.
    with platform.db.write() as conn:
        conn.execute(
            store.devices.insert().values(
                device_id="urn:x:wm",
                entity_type="WaterMeter",
                lat=lat,
                lon=lon,
                attrs={},
                created_at=platform.clock.now(),
                updated_at=platform.clock.now(),
            )
        )
    service.forget_devices(platform)
    r = client.post("/api/v1/readings/quarantine/reprocess", headers=login(client, "admin"))
    assert r.status_code == 200 and r.json()["stored"] == 1
    assert stored(platform, "urn:x:wm")[0]["attrs"] == {"volume": 1.5}


def test_ingestion_needs_a_machine_key_or_an_admin(platform: Platform, client: TestClient) -> None:
    body = notification(
        entity("urn:x:1", "WasteContainer", "2026-11-25T01:00:00Z", fillingLevel=0.1)
    )
    assert client.post("/ngsi-ld/notify", json=body).status_code == 401
    assert (
        client.post("/ngsi-ld/notify", json=body, headers={"X-API-Key": "nope"}).status_code == 401
    )
    citizen = login(client, "citizen")
    assert client.post("/ngsi-ld/notify", json=body, headers=citizen).status_code == 403
    assert (
        client.post("/api/v1/readings", json={"readings": []}, headers=citizen).status_code == 403
    )


def test_plain_batch_takes_the_type_from_the_registry(
    platform: Platform, client: TestClient
) -> None:
    register(platform, "meter-7", "WaterMeter", room_id="3-201")
    r = client.post(
        "/api/v1/readings",
        json={
            "readings": [
                {
                    "device_id": "meter-7",
                    "observed_at": "2026-11-25T01:00:00+08:00",
                    "attrs": {"volume": 10.5},
                },
                {
                    "device_id": "meter-7",
                    "observed_at": "2026-11-25T02:00:00+08:00",
                    "attrs": {"volume": -1},
                },
            ]
        },
        headers=gateway_key(platform),
    )
    assert r.status_code == 207, r.text
    assert r.json()["stored"] == 1
    assert r.json()["errors"][0]["error"]["rule"] == "minimum"
    row = stored(platform, "meter-7")[0]
    assert row["entity_type"] == "WaterMeter"
    assert row["observed_at"].isoformat() == "2026-11-24T17:00:00+00:00"


def test_a_notification_over_the_batch_limit_is_refused(
    platform: Platform, client: TestClient
) -> None:
    many = [
        entity(f"urn:x:{i}", "WasteContainer", "2026-11-25T01:00:00Z", fillingLevel=0.1)
        for i in range(1001)
    ]
    r = client.post("/ngsi-ld/notify", json=notification(*many), headers=gateway_key(platform))
    assert r.status_code == 400 and r.json()["type"] == ETSI + "BadRequestData"
    with platform.db.read() as conn:
        assert (
            conn.execute(select(func.count()).select_from(store.readings_quarantine)).scalar() == 0
        )
