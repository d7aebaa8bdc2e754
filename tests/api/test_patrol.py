"""Patrol reports: a grid worker's photo and GPS become a proactive-discovery case."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicloop.runtime import Platform
from tests.api.test_photos import jpeg
from tests.helpers import element, login, spread_point, user_region


def test_a_patrol_report_takes_its_place_from_the_photo_exif(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform)
    lon, lat = spread_point(platform, user_region(platform, "gridworker"), 7)
    photo = jpeg(gps=(lon, lat))
    gw = login(client, "gridworker")
    r = client.post(
        "/api/v1/patrols",
        data={"element_code": e.code, "description": "巡查发现：路面破损"},
        files=[
            ("photos", ("p1.jpg", photo, "image/jpeg")),
            ("photos", ("p2.png", jpeg(colour="blue"), "image/jpeg")),
        ],
        headers=gw,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["channel"] == "patrol" and case["status"] == "reported"
    assert abs(case["lon"] - lon) < 1e-5 and abs(case["lat"] - lat) < 1e-5
    assert case["grid_code"] == platform.grids.locate(lon, lat)
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=gw).json()
    photos = [n["attachment"] for n in detail["notes"] if n.get("attachment")]
    assert len(photos) == 2
    got = client.get(f"/api/v1/cases/{case['id']}/attachments/{photos[0]['sha256']}", headers=gw)
    assert got.status_code == 200 and got.content == photo
    listed = client.get("/api/v1/cases", params={"channel": "patrol"}, headers=gw).json()
    assert case["id"] in {c["id"] for c in listed["items"]}


def test_a_patrol_report_needs_a_position_photos_and_a_grid_worker(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform)
    gw = login(client, "gridworker")
    no_place = client.post(
        "/api/v1/patrols",
        data={"element_code": e.code, "description": "没有位置"},
        files=[("photos", ("p.jpg", jpeg(), "image/jpeg"))],
        headers=gw,
    )
    assert no_place.status_code == 422 and no_place.json()["field"] == "lon"
    lon, lat = spread_point(platform, user_region(platform, "gridworker"), 9)
    no_photo = client.post(
        "/api/v1/patrols",
        data={"element_code": e.code, "description": "没有照片", "lon": lon, "lat": lat},
        headers=gw,
    )
    assert no_photo.status_code == 422
    not_image = client.post(
        "/api/v1/patrols",
        data={"element_code": e.code, "description": "假照片", "lon": lon, "lat": lat},
        files=[("photos", ("p.jpg", b"not a photo at all", "image/jpeg"))],
        headers=gw,
    )
    assert not_image.status_code in (415, 422) and not_image.json()["field"] == "photos"
    citizen = client.post(
        "/api/v1/patrols",
        data={"element_code": e.code, "description": "市民", "lon": lon, "lat": lat},
        files=[("photos", ("p.jpg", jpeg(), "image/jpeg"))],
        headers=login(client, "citizen"),
    )
    assert citizen.status_code == 403
    with platform.db.read() as conn:
        from sqlalchemy import func, select

        from civicloop.cases.store import cases

        assert conn.execute(select(func.count()).select_from(cases)).scalar() == 0
