"""Bad input gets a 4xx naming the field and the rule, and nothing is half-written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from civicloop.cases.store import case_steps, cases
from civicloop.ledger.store import ledger_entries
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body


def _counts(p: Platform) -> tuple[int, int, int]:
    with p.db.read() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar() or 0  # type: ignore[return-value]
            for t in (cases, case_steps, ledger_entries)
        )


def test_malformed_json(client: TestClient, platform: Platform) -> None:
    before = _counts(platform)
    h = {**login(client, "citizen"), "Content-Type": "application/json"}
    r = client.post("/api/v1/cases", content=b'{"element_code": "E0101", "descr', headers=h)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "input.invalid" and body["rule"] == "json_invalid"
    assert "Traceback" not in r.text
    assert _counts(platform) == before


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"element_code": "X9999"}, "element_code", "must be an element of the active catalogue"),
        ({"lon": 116.39, "lat": 39.9}, "lon", "inside_district"),  # Beijing, not Pudong
        ({"lon": 500.0}, "lon", "less_than_equal"),
        ({"description": "测" * 5001}, "description", "string_too_long"),
        ({"description": "   "}, "description", "string_too_short"),
        ({"reporter_phone": "call me maybe"}, "reporter_phone", "string_pattern_mismatch"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
        ({"channel": "carrier-pigeon"}, "channel", "enum"),
    ],
)
def test_bad_fields_name_the_field_and_rule(
    client: TestClient, platform: Platform, change: dict[str, Any], field: str, rule: str
) -> None:
    before = _counts(platform)
    body = {**report_body(platform, element(platform)), **change}
    r = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and r.json()["rule"] == rule
    assert _counts(platform) == before


def test_missing_fields(client: TestClient, platform: Platform) -> None:
    r = client.post(
        "/api/v1/cases", json={"description": "路灯不亮"}, headers=login(client, "citizen")
    )
    assert (
        r.status_code == 422
        and r.json()["field"] == "element_code"
        and r.json()["rule"] == "missing"
    )
    e = element(platform)
    r = client.post(
        "/api/v1/cases",
        json={"element_code": e.code, "description": "路灯不亮"},
        headers=login(client, "citizen"),
    )
    assert r.status_code == 422 and r.json()["field"] == "lon" and r.json()["rule"] == "required"
    r = client.post(
        "/api/v1/cases",
        json={"element_code": e.code, "description": "x", "lon": 121.5},
        headers=login(client, "citizen"),
    )
    assert r.status_code == 422 and r.json()["field"] == "lat"


def test_bad_action_bodies(client: TestClient, platform: Platform) -> None:
    cid = client.post(
        "/api/v1/cases",
        json=report_body(platform, element(platform, check=False)),
        headers=login(client, "citizen"),
    ).json()["id"]
    chief = login(client, "chief")
    assert (
        client.post(f"/api/v1/cases/{cid}/void", json={}, headers=chief).json()["field"] == "reason"
    )
    client.post(f"/api/v1/cases/{cid}/accept", headers=chief)
    r = client.post(f"/api/v1/cases/{cid}/file", json={"filing_condition": "nope"}, headers=chief)
    assert r.status_code == 422 and r.json()["field"] == "filing_condition"
    client.post(f"/api/v1/cases/{cid}/file", headers=chief)
    r = client.post(f"/api/v1/cases/{cid}/dispatch", json={"lead": "no-such-dept"}, headers=chief)
    assert r.status_code == 422 and r.json()["field"] == "lead"
    detail = client.get(f"/api/v1/cases/{cid}", headers=chief).json()
    assert detail["status"] == "filed" and detail["assignments"] == {}
    r = client.post(f"/api/v1/cases/{cid}/dispatch", headers={**chief, "If-Match": "abc"})
    assert r.status_code == 422 and r.json()["field"] == "If-Match"


def test_evidence_type_and_size_are_checked(client: TestClient, platform: Platform) -> None:
    cid = client.post(
        "/api/v1/cases",
        json=report_body(platform, element(platform)),
        headers=login(client, "citizen"),
    ).json()["id"]
    op = login(client, "operator")
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=op,
        files={"file": ("x.exe", b"MZ", "application/x-msdownload")},
    )
    assert r.status_code == 422 and r.json()["field"] == "file"


def test_unknown_route_and_method_are_problem_json(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert client.delete("/healthz").status_code == 405


def test_messages_are_chinese_first_with_english_available(
    client: TestClient, platform: Platform
) -> None:
    body = {**report_body(platform, element(platform)), "lon": 116.39, "lat": 39.9}
    h = login(client, "citizen")
    zh = client.post("/api/v1/cases", json=body, headers=h).json()
    en = client.post(
        "/api/v1/cases", json=body, headers={**h, "Accept-Language": "en-GB,en;q=0.9"}
    ).json()
    assert (
        zh["title"] == "输入不符合要求"
        and "字段「lon」" in zh["detail"]
        and "inside_district" in zh["detail"]
    )
    assert en["title"] == "Invalid input" and en["detail"].startswith("lon:")
    assert zh["code"] == en["code"] == "input.invalid"
    missing = client.get("/api/v1/cases/nope", headers=h).json()
    assert missing["title"] == "案件不存在"


def test_evidence_content_must_match_its_type(client: TestClient, platform: Platform) -> None:
    cid = client.post(
        "/api/v1/cases",
        json=report_body(platform, element(platform)),
        headers=login(client, "citizen"),
    ).json()["id"]
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=login(client, "operator"),
        files={"file": ("x.png", b"MZ\x90\x00not a png", "image/png")},
    )
    assert r.status_code == 422 and r.json()["rule"] == "content_matches_type"


def test_timeline_masks_numbers_for_viewers_without_need(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform, check=False)
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    chief = login(client, "chief")
    client.post(f"/api/v1/cases/{cid}/accept", headers=chief)
    client.post(f"/api/v1/cases/{cid}/file", headers=chief)
    client.post(f"/api/v1/cases/{cid}/dispatch", headers=chief)
    client.post(
        f"/api/v1/cases/{cid}/notes", json={"text": "已联系业主 13912345678"}, headers=chief
    )
    seen_by_chief = client.get(f"/api/v1/cases/{cid}/timeline", headers=chief).json()
    seen_by_citizen = client.get(
        f"/api/v1/cases/{cid}/timeline", headers=login(client, "citizen")
    ).json()
    assert "13912345678" in str(seen_by_chief)
    assert "13912345678" not in str(seen_by_citizen) and "139****5678" in str(seen_by_citizen)
