"""``address_string`` alone is placed by the intake context's geocoder when it is available.

Skipped while ``civicloop.intake.geocoder`` / ``civicloop.intake.gazetteer`` are not importable:
then such requests are refused with a 400 naming ``address_string`` (tests/open311/test_bad_input).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicloop.runtime import Platform

V2 = "/open311/v2"


def test_a_landmark_name_is_placed_on_its_grid(
    client: TestClient, platform: Platform, api_key: str
) -> None:
    gazetteer = pytest.importorskip("civicloop.intake.gazetteer")
    pytest.importorskip("civicloop.intake.geocoder")
    gazetteer.seed_gazetteer(platform, seed=11)
    entry = next(
        e
        for e in gazetteer.list_entries(platform)
        if e["kind"] not in ("road",) and e["grid_code"] and len(e["name"]) >= 4
    )
    r = client.post(
        f"{V2}/requests.json",
        data={"api_key": api_key, "service_code": "C0101", "address_string": entry["name"]},
    )
    assert r.status_code == 200, r.text
    number = r.json()[0]["service_request_id"]
    record = client.get(f"{V2}/requests/{number}.json").json()[0]
    assert record["address_id"] == entry["grid_code"]
    assert record["address"] == entry["name"]
    assert abs(record["lat"] - entry["lat"]) < 0.01 and abs(record["long"] - entry["lon"]) < 0.01
