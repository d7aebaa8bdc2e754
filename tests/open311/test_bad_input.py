"""Bad Open311 input gets the spec's error body and status (400/403/404), never a 500, and
never a half-written record: no case and no Open311 row is left behind."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.cases import store as case_store
from civicloop.open311.store import open311_requests
from civicloop.runtime import Platform

V2 = "/open311/v2"


def _counts(p: Platform) -> tuple[int, int]:
    with p.db.read() as conn:
        n_cases = conn.execute(select(func.count()).select_from(case_store.cases)).scalar()
        n_rows = conn.execute(select(func.count()).select_from(open311_requests)).scalar()
    return int(n_cases or 0), int(n_rows or 0)


def _refused(
    client: TestClient, p: Platform, form: dict[str, Any], status: int, *, query: str = ""
) -> str:
    before = _counts(p)
    for fmt in ("xml", "json"):
        r = client.post(f"{V2}/requests.{fmt}{query}", data=form)
        assert r.status_code == status, (fmt, r.text)
        if fmt == "json":
            body: Any = r.json()
            assert isinstance(body, list) and body[0]["code"] == status
            text = str(body[0]["description"])
        else:
            head = b'<?xml version="1.0" encoding="utf-8"?>\n<errors><error>'
            assert r.content.startswith(head)
    assert _counts(p) == before
    return text


@pytest.fixture
def form(api_key: str, where: tuple[float, float]) -> dict[str, str]:
    lon, lat = where
    return {"api_key": api_key, "service_code": "C0101", "lat": str(lat), "long": str(lon)}


def test_the_well_formed_request_is_accepted(
    client: TestClient, platform: Platform, form: dict[str, str]
) -> None:
    before = _counts(platform)
    assert client.post(f"{V2}/requests.json", data=form).status_code == 200
    assert _counts(platform) == (before[0] + 1, before[1] + 1)


def test_no_location(client: TestClient, platform: Platform, form: dict[str, str]) -> None:
    del form["lat"], form["long"]
    assert "location" in _refused(client, platform, form, 400)
    assert "long" in _refused(client, platform, {**form, "lat": "31.2"}, 400)


def test_unknown_service_code(client: TestClient, platform: Platform, form: dict[str, str]) -> None:
    assert "NOPE" in _refused(client, platform, {**form, "service_code": "NOPE"}, 404)
    assert "service_code" in _refused(client, platform, {**form, "service_code": ""}, 400)


def test_bad_attribute_values(client: TestClient, platform: Platform, form: dict[str, str]) -> None:
    text = _refused(client, platform, {**form, "attribute[FILING_CONDITION]": "99"}, 400)
    assert "FILING_CONDITION" in text
    _refused(client, platform, {**form, "attribute[COLOUR]": "red"}, 400)
    # two values for a singlevaluelist (multivaluelist spelling)
    two: Any = {**form, "attribute[FILING_CONDITION][]": ["01", "02"]}
    _refused(client, platform, two, 400)


def test_missing_or_invalid_api_key(
    client: TestClient, platform: Platform, form: dict[str, str]
) -> None:
    key = form.pop("api_key")
    assert "api_key" in _refused(client, platform, form, 403)
    assert "api_key" in _refused(client, platform, {**form, "api_key": "clk_wrong"}, 403)
    # the key in the query string is accepted, as the PyPI open311 client sends it
    r = client.post(f"{V2}/requests.json?api_key={key}&jurisdiction_id=", data=form)
    assert r.status_code == 200, r.text


def test_text_rules(client: TestClient, platform: Platform, form: dict[str, str]) -> None:
    assert "4000" in _refused(client, platform, {**form, "description": "坑" * 4001}, 400)
    assert "HTML" in _refused(
        client, platform, {**form, "description": "<script>alert(1)</script>"}, 400
    )
    _refused(client, platform, {**form, "media_url": "javascript:alert(1)"}, 400)
    _refused(client, platform, {**form, "phone": "1" * 40}, 400)
    _refused(client, platform, {**form, "description": "bell\x07"}, 400)


def test_places_outside_or_unknown(
    client: TestClient, platform: Platform, form: dict[str, str]
) -> None:
    # Beijing's Tiananmen: WGS84 degrees, but outside the district's grids
    assert "outside" in _refused(
        client, platform, {**form, "lat": "39.9087", "long": "116.3975"}, 400
    )
    _refused(client, platform, {**form, "lat": "95", "long": "121.5"}, 400)
    _refused(client, platform, {**form, "lat": "north", "long": "121.5"}, 400)
    del form["lat"], form["long"]
    _refused(client, platform, {**form, "address_id": "NO-SUCH-GRID"}, 400)
    assert "address_string" in _refused(
        client, platform, {**form, "address_string": "火星大道99999号"}, 400
    )


def test_wrong_jurisdiction_and_format(
    client: TestClient, platform: Platform, form: dict[str, str]
) -> None:
    _refused(client, platform, {**form, "jurisdiction_id": "sfgov.org"}, 404)
    r = client.post(f"{V2}/requests.csv", data=form)
    assert r.status_code == 400 and r.content.startswith(b"<?xml")


def test_bad_query_parameters(client: TestClient) -> None:
    for params in (
        {"status": "pending"},
        {"page": "0"},
        {"page_size": "5000"},
        {"start_date": "yesterday"},
        {"start_date": "2026-11-20T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
    ):
        r = client.get(f"{V2}/requests.json", params=params)
        assert r.status_code == 400, params
        assert r.json()[0]["code"] == 400
    assert client.get(f"{V2}/tokens/nope.xml").status_code == 404
