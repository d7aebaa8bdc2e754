"""The console's server side through HTTP (SQLite and PostgreSQL): page shells in the right
language, static files without path escapes, the screen's aggregates in the viewer's scope,
simplified outlines, the SSE ledger feed, and configuration validation and saving."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from civicloop.runtime import Platform
from tests.helpers import element, login, report_body


def test_pages_speak_chinese_by_default_and_remember_english(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text and "用户名" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    r = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in r.text and "Username" in r.text
    r = client.get("/console/screen?lang=en")
    assert r.cookies.get("civicloop_lang") == "en"
    r = client.get("/console/screen")  # the cookie now wins over the (absent) header
    assert '<html lang="en">' in r.text
    # the dictionary is embedded for t() in the browser, safely inside its script element
    assert (
        'id="i18n-data"' in r.text
        and "</script>" not in r.text.split('id="i18n-data">')[1][:-1].split("</script>")[0]
    )


def test_static_files_are_served_without_escaping_the_folder(client: TestClient) -> None:
    r = client.get("/static/js/api.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/vendor/echarts/LICENSE").status_code == 200
    assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200
    for bad in (
        "/static/../console.py",
        "/static/%2e%2e/console.py",
        "/static/js/../../console.py",
    ):
        assert client.get(bad).status_code == 404, bad
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/console/profiles/spaceship/1").status_code == 404


def test_screen_aggregates_follow_the_viewer_scope(client: TestClient) -> None:
    assert client.get("/console/api/screen").status_code == 401
    chief = client.get("/console/api/screen", headers=login(client, "chief")).json()
    street = client.get("/console/api/screen", headers=login(client, "street-ljz")).json()
    assert set(chief["kpi"]) >= {
        "today_cases",
        "closure_rate",
        "on_time_rate",
        "proactive_rate",
        "satisfaction_rate",
    }
    assert street["kpi"]["total_cases"] <= chief["kpi"]["total_cases"]
    assert len(chief["trend"]["days"]) == 30
    assert client.get("/console/api/screen", headers=login(client, "citizen")).status_code == 403


def test_outlines_are_simplified_geojson_and_grids_need_a_box(client: TestClient) -> None:
    h = login(client, "chief")
    streets = client.get("/console/api/geo?level=street", headers=h).json()
    assert streets["type"] == "FeatureCollection" and streets["features"]
    lon, lat = streets["features"][0]["geometry"]["coordinates"][0][0][:2]
    r = client.get("/console/api/geo?level=grid", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "bbox"
    box = f"{lon - 0.05},{lat - 0.05},{lon + 0.05},{lat + 0.05}"
    grids = client.get(f"/console/api/geo?level=grid&bbox={box}", headers=h).json()
    assert grids["features"] and all(len(f["properties"]["code"]) == 15 for f in grids["features"])


def test_the_feed_streams_ledger_entries_for_the_centre_only(
    client: TestClient, platform: Platform
) -> None:
    # a reported case gives the ledger a case entry to stream (the fixture district has none)
    body = report_body(platform, element(platform))
    assert (
        client.post("/api/v1/cases", json=body, headers=login(client, "citizen")).status_code == 201
    )
    token = login(client, "chief")["Authorization"].split()[1]
    r = client.get(f"/console/events?limit=1&token={token}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [b for b in r.text.split("\n\n") if b.startswith("id:")]
    assert len(events) == 1 and "event: ledger" in events[0] and "case.reported" in events[0]
    assert client.get("/console/events?limit=1").status_code == 401
    citizen = login(client, "citizen")["Authorization"].split()[1]
    assert client.get(f"/console/events?limit=1&token={citizen}").status_code == 403


def test_config_validation_points_at_lines_and_only_admins_save(
    client: TestClient, platform: Platform
) -> None:
    admin, auditor = login(client, "admin"), login(client, "auditor")
    text = client.get("/console/api/config/files/rules/city.yaml", headers=auditor).json()["text"]
    broken = text.replace("tiltAngle >= 15", "tiltAngle >= = 15")
    r = client.post(
        "/console/api/config/validate",
        json={"kind": "rules", "name": "city.yaml", "text": broken},
        headers=auditor,
    )
    problem = r.json()["problems"][0]
    assert r.json()["is_valid"] is False and "when" in problem["message"]
    assert "tiltAngle >= = 15" in broken.splitlines()[problem["line"] - 1]
    assert (
        client.put(
            "/console/api/config/rules/city.yaml", json={"text": text}, headers=auditor
        ).status_code
        == 403
    )
    r = client.put("/console/api/config/rules/city.yaml", json={"text": broken}, headers=admin)
    assert r.status_code == 422 and r.json()["rule"] == "valid_rules" and r.json()["problems"]
    assert not (Path(platform.settings.data_dir) / "rules" / "city.yaml").exists()
    r = client.put("/console/api/config/rules/city.yaml", json={"text": text}, headers=admin)
    assert r.status_code == 200 and r.json()["saved"] is True
    assert (Path(platform.settings.data_dir) / "rules" / "city.yaml").read_text("utf-8") == text
    from civicloop.ledger.service import timeline

    assert [e.action for e in timeline(platform.db, "rules", "city.yaml")] == ["config.rules_saved"]
    r = client.post(
        "/console/api/config/validate",
        json={"kind": "rules", "name": "../x.yaml", "text": text},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["field"] == "name"
    cat = client.get("/console/api/config/files", headers=admin).json()
    assert any(
        f["kind"] == "catalogue" and f["editable"] and f["source"] == "packaged" for f in cat
    )
