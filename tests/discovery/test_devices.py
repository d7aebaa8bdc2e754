"""The device registry: import from CSV and GeoJSON (all or none, dry run), the API, who sees
which device, the ledger trace and the cache."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civicloop.core.errors import InputError
from civicloop.discovery import service
from civicloop.discovery.devices import devices_from_csv, devices_from_geojson
from civicloop.discovery.model import Device
from civicloop.ledger import store as ledger_store
from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.helpers import login, point_in


def _csv(p: Platform) -> str:
    lon, lat = point_in(p, "310115004001")
    lon2, lat2 = point_in(p, "310115005001")
    return (
        "device_id,entity_type,lon,lat,owner_department,report_interval_s,room_id,name\n"
        f"wm-1,WaterMeter,{lon},{lat},,3600,3-201,独居老人水表\n"
        f"bin-1,WasteContainer,{lon2},{lat2},,900,,\n"
        "alert-feed,WeatherAlert,,,,,,\n"
    )


def test_csv_import_places_devices_on_grids(platform: Platform) -> None:
    devices = devices_from_csv(_csv(platform))
    report = service.register_devices(platform, devices)
    assert (report.created, report.updated) == (3, 0)
    wm = service.read_device(platform, "wm-1")
    assert wm.grid_code == platform.grids.locate(wm.lon or 0, wm.lat or 0)
    assert wm.grid_code is not None and wm.grid_code.startswith("310115004001")
    assert wm.attrs == {"room_id": "3-201", "name": "独居老人水表"}
    assert wm.report_interval_s == 3600
    assert service.read_device(platform, "alert-feed").grid_code is None
    # A second import of the same file changes nothing.
    again = service.register_devices(platform, devices_from_csv(_csv(platform)))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    with platform.db.read() as conn:
        actions = [
            r.action
            for r in conn.execute(select(ledger_store.ledger_entries.c.action))
            if r.action.startswith("device.")
        ]
    assert actions == ["device.registered"] * 3


def test_geojson_import_and_update(platform: Platform) -> None:
    lon, lat = point_in(platform, "310115004001")
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"id": "light-1", "type": "Streetlight", "report_interval_s": 600},
            }
        ],
    }
    service.register_devices(platform, devices_from_geojson(json.dumps(doc)))
    doc["features"][0]["properties"]["report_interval_s"] = 1200
    report = service.register_devices(platform, devices_from_geojson(json.dumps(doc)))
    assert report.updated == 1
    assert service.read_device(platform, "light-1").report_interval_s == 1200


def test_one_bad_row_writes_nothing(platform: Platform) -> None:
    text = _csv(platform) + "bad-1,Toaster,,,,,,\nbad-2,WaterMeter,500,10,,,,\n"
    try:
        service.register_devices(platform, devices_from_csv(text))
    except InputError as exc:
        assert len(exc.data["problems"]) == 2
        assert "entity_type" in exc.data["problems"][0]
    else:
        raise AssertionError("a bad row must refuse the import")
    assert service.list_devices(platform)[1] == 0
    try:
        devices_from_csv("device_id,entity_type,lon\nx,WaterMeter,east\n")
    except InputError as exc:
        assert exc.data["problems"] == ["line 2: lon: lon must be a number"]


def test_cli_import_dry_run_then_real(platform: Platform, tmp_path: Path) -> None:
    from civicloop.cli import app

    path = tmp_path / "devices.csv"
    path.write_text(_csv(platform), encoding="utf-8")
    data_dir = str(platform.settings.data_dir)
    env = {"CIVICLOOP_DATABASE_URL": platform.settings.database_url}
    runner = CliRunner()
    r = runner.invoke(
        app,
        ["discovery", "devices", "import", str(path), "--dry-run", "--data-dir", data_dir],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert "3 device(s) would be created" in r.output
    assert service.list_devices(platform)[1] == 0
    r = runner.invoke(
        app, ["discovery", "devices", "import", str(path), "--data-dir", data_dir], env=env
    )
    assert r.exit_code == 0, r.output
    service.forget_devices(platform)
    assert service.list_devices(platform)[1] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("device_id,entity_type\nx,Toaster\n", encoding="utf-8")
    r = runner.invoke(
        app, ["discovery", "devices", "import", str(bad), "--data-dir", data_dir], env=env
    )
    assert r.exit_code == 2 and "unknown entity type" in r.output


def test_api_register_read_list_delete(platform: Platform, client: TestClient) -> None:
    admin = login(client, "admin")
    lon, lat = point_in(platform, "310115004001")
    body = {
        "devices": [
            {
                "device_id": "truck-1",
                "entity_type": "VehiclePosition",
                "report_interval_s": 30,
                "attrs": {"plate": "沪A12345", "permit_id": "P-1"},
            },
            {"device_id": "bin-9", "entity_type": "WasteContainer", "lon": lon, "lat": lat},
        ]
    }
    r = client.post("/api/v1/devices", json={**body, "dry_run": True}, headers=admin)
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["dry_run"]
    assert client.get("/api/v1/devices/bin-9", headers=admin).status_code == 404
    assert client.post("/api/v1/devices", json=body, headers=admin).json()["created"] == 2
    got = client.get("/api/v1/devices/truck-1", headers=admin).json()
    assert got["attrs"]["plate"] == "沪A12345"
    page = client.get("/api/v1/devices?entity_type=WasteContainer", headers=admin).json()
    assert [d["device_id"] for d in page["items"]] == ["bin-9"] and page["total"] == 1
    bad = client.post(
        "/api/v1/devices",
        json={"devices": [{"device_id": "x", "entity_type": "Toaster"}]},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "devices"
    assert client.delete("/api/v1/devices/bin-9", headers=admin).status_code == 204
    assert client.get("/api/v1/devices/bin-9", headers=admin).status_code == 404
    assert client.delete("/api/v1/devices/bin-9", headers=admin).status_code == 404


def test_who_sees_which_device(platform: Platform, client: TestClient) -> None:
    lon, lat = point_in(platform, "310115005001")  # 陆家嘴街道
    far_lon, far_lat = point_in(platform, "310115004001")
    service.register_devices(
        platform,
        [
            Device("near", "WaterMeter", lat, lon, None, None, 3600, {"room_id": "3-201"}),
            Device("far", "WaterMeter", far_lat, far_lon, None, None, 3600, {}),
        ],
    )
    citizen = login(client, "citizen")
    assert client.get("/api/v1/devices", headers=citizen).status_code == 403
    assert client.get("/api/v1/devices/near", headers=citizen).status_code == 404
    street = login(client, "street-ljz")
    seen = {d["device_id"] for d in client.get("/api/v1/devices", headers=street).json()["items"]}
    assert seen == {"near"}
    assert client.get("/api/v1/devices/far", headers=street).status_code == 404
    near = client.get("/api/v1/devices/near", headers=street).json()
    assert near["attrs"]["room_id"] == "3-***"  # masked for staff without the need
    admin = login(client, "admin")
    assert client.get("/api/v1/devices/near", headers=admin).json()["attrs"]["room_id"] == "3-201"


def test_gateway_keys_register_only_their_departments_devices(
    platform: Platform, client: TestClient
) -> None:
    dept = next(iter(platform.catalogue.departments))
    key = {"X-API-Key": org.create_api_key(platform, "dept-gw", department_code=dept)}
    ok = {"entity_type": "CallButton", "owner_department": dept}
    assert client.put("/api/v1/devices/btn-1", json=ok, headers=key).status_code == 200
    other = {"entity_type": "CallButton"}
    assert client.put("/api/v1/devices/btn-2", json=other, headers=key).status_code == 403


def test_devices_by_id_is_cached_and_forgotten_on_change(platform: Platform) -> None:
    lon, lat = point_in(platform, "310115004001")
    service.register_devices(platform, [Device("c-1", "WaterMeter", lat, lon)])
    assert set(service.devices_by_id(platform, ["c-1", "nope"])) == {"c-1"}
    service.register_devices(platform, [Device("c-1", "WaterMeter", lat, lon, None, None, 60)])
    assert service.devices_by_id(platform, ["c-1"])["c-1"].report_interval_s == 60
