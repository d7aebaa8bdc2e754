"""Free-text reports with photos: the photo's EXIF GPS places the report, the photos reach the case."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicloop.runtime import Platform
from tests.api.test_photos import jpeg
from tests.helpers import login, spread_point, user_region

B = "/api/v1/intake"


def test_a_citizen_report_with_a_geotagged_photo_becomes_a_case_with_that_photo(
    client: TestClient, platform: Platform
) -> None:
    lon, lat = spread_point(platform, user_region(platform, "gridworker"), 3)
    photo = jpeg(gps=(lon, lat))
    r = client.post(
        f"{B}/reports/with-photos",
        data={"text": "这里垃圾堆了好几天，没人清理，味道很大"},
        files=[("photos", ("bin.jpg", photo, "image/jpeg"))],
        headers=login(client, "citizen"),
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert abs(report["given_lon"] - lon) < 1e-5 and abs(report["given_lat"] - lat) < 1e-5
    assert report["proposal"]["location"]["grid_code"] == platform.grids.locate(lon, lat)
    assert [ph["content_type"] for ph in report["photos"]] == ["image/jpeg"]
    done = client.post(
        f"{B}/reports/{report['id']}/confirm",
        json={"element_code": "E0101"},
        headers=login(client, "operator"),
    )
    assert done.status_code == 200, done.text
    case_id = done.json()["case_id"]
    detail = client.get(f"/api/v1/cases/{case_id}", headers=login(client, "operator")).json()
    shas = [n["attachment"]["sha256"] for n in detail["notes"] if n.get("attachment")]
    assert shas == [report["photos"][0]["sha256"]]


def test_photos_are_checked_before_anything_is_stored(
    client: TestClient, platform: Platform
) -> None:
    citizen = login(client, "citizen")
    fake = client.post(
        f"{B}/reports/with-photos",
        data={"text": "路灯坏了"},
        files=[("photos", ("x.jpg", b"GIF89a not a jpeg", "image/jpeg"))],
        headers=citizen,
    )
    assert fake.status_code in (415, 422) and fake.json()["field"] == "photos"
    too_many = client.post(
        f"{B}/reports/with-photos",
        data={"text": "路灯坏了"},
        files=[("photos", (f"{i}.jpg", jpeg(), "image/jpeg")) for i in range(6)],
        headers=citizen,
    )
    assert too_many.status_code == 422 and too_many.json()["field"] == "photos"
    assert client.get(f"{B}/queue", headers=login(client, "operator")).json()["total"] == 0
