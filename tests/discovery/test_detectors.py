"""Detectors that join data: muck trucks against their permits, elders' water meters."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases.queries import read_case
from civicloop.discovery import alerts as alert_service
from civicloop.discovery import detectors
from civicloop.discovery import rules as engine
from civicloop.discovery.model import Reading
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
M_LAT = 111_320.0


def route(p: Platform) -> tuple[tuple[float, float], tuple[float, float]]:
    """An east-west route through a point of the district, about 1.4 km long."""
    lon, lat = point_in(p, user_region(p, "gridworker"))
    dlon = 700 / (M_LAT * math.cos(math.radians(lat)))
    return (lon - dlon, lat), (lon + dlon, lat)


def permit(p: Platform, **extra: Any) -> dict[str, Any]:
    (x0, y0), (x1, y1) = route(p)
    return {
        "permit_no": "ZT-2026-001",
        "plate": "沪A 12345",
        "company_credit_code": "91310000MA1FL4KQ2E",
        "company_name": "浦江渣土运输有限公司",
        "route": {"type": "LineString", "coordinates": [[x0, y0], [x1, y1]]},
        "corridor_m": 60,
        "window": "09:00-17:00",
        "disposal_sites": [{"name": "东区消纳场", "lon": x1, "lat": y1, "radius_m": 150}],
        **extra,
    }


def truck(minutes: float, lon: float, lat: float, speed: float = 30.0) -> Reading:
    return Reading(
        device_id="truck-1",
        entity_type="VehiclePosition",
        observed_at=T0 + timedelta(minutes=minutes),
        attrs={"plate": "沪A12345", "speed": speed},
        lon=lon,
        lat=lat,
    )


def found(alerts: list[Any]) -> list[tuple[str, str]]:
    return [(a.rule_id, a.evidence["transition"]) for a in alerts]


def import_permit(client: TestClient, p: Platform, **extra: Any) -> None:
    got = client.post("/api/v1/permits", json=[permit(p, **extra)], headers=login(client, "admin"))
    assert got.status_code == 201, got.text


def test_a_muck_truck_leaving_its_corridor_files_an_enforcement_case(
    platform: Platform, client: TestClient
) -> None:
    p = platform
    engine.use_rules(p, [])
    import_permit(client, p)
    (x0, y), (x1, _) = route(p)
    off = 150 / M_LAT  # 150 m north of the road
    track = [
        truck(0, x0, y),
        truck(1, (x0 + x1) / 2, y + 20 / M_LAT),  # 20 m: inside the 60 m corridor
        truck(2, (x0 + x1) / 2, y + off),  # left the corridor
        truck(3, (x0 + x1) / 2 + 0.0005, y + off),  # still off: no second alert
        truck(4, x1, y),  # back on the route
    ]
    out = engine.evaluate(p, track)
    assert found(out) == [
        ("detector.muck.off_route", "raised"),
        ("detector.muck.off_route", "cleared"),
    ]
    assert out[0].evidence["distance_m"] == __import__("pytest").approx(90, abs=3)
    summary = alert_service.raise_alerts(p, out)
    assert (summary.filed, summary.cleared) == (1, 1)
    case = read_case(p, SYSTEM_ACTOR, summary.case_ids[0])
    assert (case["element_code"], case["channel"]) == ("E0601", "data_rule")
    assert "沪A12345" in case["description"]


def test_no_permit_and_outside_the_permitted_hours(platform: Platform, client: TestClient) -> None:
    p = platform
    engine.use_rules(p, [])
    (x0, y), _ = route(p)
    assert found(engine.evaluate(p, [truck(0, x0, y)])) == [("detector.muck.no_permit", "raised")]
    import_permit(client, p)
    # Wednesday 18:30 local: the permit's 09:00–17:00 window is over
    late = engine.evaluate(p, [truck(8.5 * 60, x0, y)])
    assert found(late) == [
        ("detector.muck.no_permit", "cleared"),
        ("detector.muck.off_hours", "raised"),
    ]


def test_stopping_away_from_a_disposal_site(platform: Platform, client: TestClient) -> None:
    p = platform
    engine.use_rules(p, [])
    import_permit(client, p)
    (x0, y), (x1, _) = route(p)
    away = (x0 + x1) / 2, y + 300 / M_LAT
    stops = [truck(m, *away, speed=0.0) for m in (0, 4, 8, 11)]
    out = engine.evaluate(p, stops)
    assert ("detector.muck.stopped", "raised") in found(out)
    assert [a.observed_at for a in out if a.rule_id == "detector.muck.stopped"] == [
        T0 + timedelta(minutes=11)
    ]
    # stopping at the registered site is unloading, not dumping
    engine.use_rules(p, [])
    at_site = [
        Reading(
            "truck-2",
            "VehiclePosition",
            T0 + timedelta(minutes=20 + m),
            {"plate": "沪A12345", "speed": 0.0},
            lon=x1 + 0.0003,
            lat=y + 0.0003,
        )
        for m in (0, 6, 12)
    ]
    assert "detector.muck.stopped" not in [a.rule_id for a in engine.evaluate(p, at_site)]


def test_a_bad_permit_file_names_the_field_and_stores_nothing(
    platform: Platform, client: TestClient
) -> None:
    p = platform
    bad = [
        permit(p),
        permit(p, permit_no="ZT-2", route={"type": "LineString", "coordinates": [[1, 2]]}),
    ]
    got = client.post("/api/v1/permits", json=bad, headers=login(client, "admin"))
    assert got.status_code == 422
    body = got.json()
    assert body["field"] == "permits[1].route"
    assert "LineString" in body["rule"]
    assert client.get("/api/v1/permits", headers=login(client, "operator")).json() == []
    denied = client.post("/api/v1/permits", json=[permit(p)], headers=login(client, "gridworker"))
    assert denied.status_code == 403


def test_an_elder_living_alone_with_no_water_for_12_hours(platform: Platform) -> None:
    p = platform
    engine.use_rules(p, [])
    lon, lat = point_in(p, user_region(p, "gridworker"))
    detectors.add_resident(
        p,
        room_id="R-101",
        name="张阿婆",
        birth_year=1940,
        lives_alone=True,
        meter_device_id="wm-101",
        lon=lon,
        lat=lat,
    )
    detectors.add_resident(
        p,
        room_id="R-102",
        name="李先生",
        birth_year=1990,
        lives_alone=True,
        meter_device_id="wm-102",
        lon=lon,
        lat=lat,
    )

    def meter(device: str, hours: float, flow: float) -> Reading:
        return Reading(device, "WaterMeter", T0 + timedelta(hours=hours), {"flow": flow})

    quiet = [meter(d, h, 0.0) for h in range(0, 13) for d in ("wm-101", "wm-102")]
    out = engine.evaluate(p, quiet)
    assert [(a.rule_id, a.device_id) for a in out] == [("detector.elder.no_water", "wm-101")]
    assert out[0].severity == "urgent"
    summary = alert_service.raise_alerts(p, out)
    case = read_case(p, SYSTEM_ACTOR, summary.case_ids[0])
    assert case["element_code"] == "E0801"
    assert "张阿婆" not in case["description"]  # the room, never the elder's name
    back = engine.evaluate(p, [meter("wm-101", 13.5, 12.0)])
    assert found(back) == [("detector.elder.no_water", "cleared")]


def test_an_elders_meter_that_goes_silent(platform: Platform) -> None:
    p = platform
    engine.use_rules(p, [])
    detectors.add_resident(
        p,
        room_id="R-201",
        name="王老伯",
        birth_year=1938,
        lives_alone=True,
        meter_device_id="wm-201",
        grid_code=p.grids.codes[0],
    )
    engine.evaluate(p, [Reading("wm-201", "WaterMeter", T0, {"flow": 3.0})])
    assert engine.check_silence(p, T0 + timedelta(hours=11)) == []
    out = engine.check_silence(p, T0 + timedelta(hours=13))
    assert [(a.rule_id, a.device_id) for a in out] == [("detector.elder.meter_silent", "wm-201")]
    assert engine.check_silence(p, T0 + timedelta(hours=14)) == []
    summary = alert_service.raise_alerts(p, out)
    assert summary.filed == 1


def test_an_elder_from_the_population_registry_with_no_water(
    platform: Platform, tmp_path: Path
) -> None:
    """The registry's elder living alone, joined to the water meter registered in her room."""
    import csv

    from civicloop.core.idcodes import resident_id_check_char
    from civicloop.discovery.model import Device
    from civicloop.discovery.service import register_devices
    from civicloop.intake.gazetteer import seed_gazetteer
    from civicloop.registry.generate import generate
    from civicloop.registry.importer import import_file

    p = platform
    engine.use_rules(p, [])
    seed_gazetteer(p, seed=7)
    files = generate(p, people=1, entities=1, rooms=4, seed=3)
    header, rooms = files["rooms"]
    room_id, address = rooms[0][0], rooms[0][1]
    with (tmp_path / "rooms.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rooms])
    first17 = "31011519400101002"  # born 1940-01-01, an even sequence digit: a woman
    id_number = first17 + resident_id_check_char(first17)
    people_header = files["people"][0]
    row = dict.fromkeys(people_header, "")
    row |= {
        "person_id": "P-ELDER",
        "id_number": id_number,
        "name": "张阿婆",
        "sex": "女",
        "birth_date": "1940-01-01",
        "address": address,
        "room_id": room_id,
        "living_alone": "1",
        "disability": "0",
        "key_care": "0",
    }
    with (tmp_path / "people.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([people_header, [row[c] for c in people_header]])
    import_file(p, "rooms", tmp_path / "rooms.csv")
    import_file(p, "people", tmp_path / "people.csv")
    lon, lat = float(rooms[0][5]), float(rooms[0][6])
    register_devices(
        p, [Device("wm-reg-1", "WaterMeter", lon=lon, lat=lat, attrs={"room_id": room_id})]
    )
    assert "wm-reg-1" in detectors.elders_by_meter(p)

    quiet = [
        Reading("wm-reg-1", "WaterMeter", T0 + timedelta(hours=h), {"flow": 0.0}) for h in range(13)
    ]
    out = engine.evaluate(p, quiet)
    assert [(a.rule_id, a.device_id) for a in out] == [("detector.elder.no_water", "wm-reg-1")]
    assert "张阿婆" not in out[0].summary
