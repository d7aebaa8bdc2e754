"""The authorisation matrix: each role against a case inside and outside its scope.

A case outside the actor's scope answers 404, exactly like a missing one, for reads and writes.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body

# (username, sees the case in 陆家嘴 (gridworker's community), sees the case in gridworker2's place)
TERRITORIAL = [
    ("operator", True, True),
    ("dispatcher", True, True),
    ("chief", True, True),
    ("supervisor", True, True),
    ("auditor", True, True),
    ("admin", True, True),
    ("gridworker", True, False),
    ("gridworker2", False, True),
    ("street-ljz", True, False),
]


@pytest.fixture
def two_cases(client: TestClient, platform: Platform) -> dict[str, str]:
    e = element(platform, check=False)
    citizen = login(client, "citizen")
    inside = client.post(
        "/api/v1/cases", json=report_body(platform, e, where="gridworker"), headers=citizen
    )
    outside = client.post(
        "/api/v1/cases",
        json=report_body(platform, e, where="gridworker2"),
        headers=login(client, "citizen2"),
    )
    assert inside.status_code == outside.status_code == 201
    return {"inside": inside.json()["id"], "outside": outside.json()["id"], "element": e.code}


@pytest.mark.parametrize(("username", "sees_inside", "sees_outside"), TERRITORIAL)
def test_territorial_roles_see_their_subtree(
    client: TestClient,
    two_cases: dict[str, str],
    username: str,
    sees_inside: bool,
    sees_outside: bool,
) -> None:
    h = login(client, username)
    for key, expected in (("inside", sees_inside), ("outside", sees_outside)):
        r = client.get(f"/api/v1/cases/{two_cases[key]}", headers=h)
        assert r.status_code == (200 if expected else 404), (username, key, r.text)
        listed = {c["id"] for c in client.get("/api/v1/cases?limit=500", headers=h).json()["items"]}
        assert (two_cases[key] in listed) is expected


def test_out_of_scope_looks_exactly_like_missing(
    client: TestClient, two_cases: dict[str, str]
) -> None:
    h = login(client, "gridworker")
    hidden = client.get(f"/api/v1/cases/{two_cases['outside']}", headers=h)
    missing = client.get("/api/v1/cases/0123456789abcdef0123456789abcdef", headers=h)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "case.not_found"
    write = client.post(
        f"/api/v1/cases/{two_cases['outside']}/check", json={"is_valid": True}, headers=h
    )
    assert write.status_code == 404


def test_citizens_see_only_their_own_reports(client: TestClient, two_cases: dict[str, str]) -> None:
    mine = login(client, "citizen")
    assert client.get(f"/api/v1/cases/{two_cases['inside']}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/cases/{two_cases['outside']}", headers=mine).status_code == 404
    listed = client.get("/api/v1/cases", headers=mine).json()
    assert {c["id"] for c in listed["items"]} == {two_cases["inside"]}
    ent = login(client, "enterprise")
    assert client.get("/api/v1/cases", headers=ent).json()["total"] == 0


def test_departments_see_cases_they_lead_or_assist(
    client: TestClient, platform: Platform, two_cases: dict[str, str]
) -> None:
    e = platform.catalogue.element(two_cases["element"])
    assert e is not None
    handler = login(client, handler_for(e))
    assert client.get(f"/api/v1/cases/{two_cases['inside']}", headers=handler).status_code == 404
    chief, dispatcher = login(client, "chief"), login(client, "dispatcher")
    cid = two_cases["inside"]
    client.post(f"/api/v1/cases/{cid}/accept", headers=chief)
    client.post(f"/api/v1/cases/{cid}/file", headers=chief)
    other = next(
        d
        for d in platform.catalogue.departments
        if d != e.lead_department
        and d not in e.assist_departments
        and f"handler-{d}" in _handlers(client)
    )
    r = client.post(f"/api/v1/cases/{cid}/dispatch", json={"assists": [other]}, headers=dispatcher)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/cases/{cid}", headers=handler).status_code == 200
    assistant = login(client, f"handler-{other}")
    assert client.get(f"/api/v1/cases/{cid}", headers=assistant).status_code == 200
    # the assisting department may add notes but not sign for the lead
    assert (
        client.post(
            f"/api/v1/cases/{cid}/notes", json={"text": "配合处置"}, headers=assistant
        ).status_code
        == 200
    )
    refused = client.post(f"/api/v1/cases/{cid}/sign", headers=assistant)
    assert refused.status_code == 409 and "sign" not in refused.json()["allowed"]
    # a department on neither side sees nothing
    stranger = next(
        u
        for u in _handlers(client)
        if u not in (handler_for(e), f"handler-{other}") and u != "handler-street"
    )
    assert client.get(f"/api/v1/cases/{cid}", headers=login(client, stranger)).status_code == 404


def _handlers(client: TestClient) -> set[str]:
    from sqlalchemy import select

    from civicloop.org.store import users

    p = client.app.state.platform  # type: ignore[attr-defined]
    with p.db.read() as conn:
        return {
            u for u in conn.execute(select(users.c.username)).scalars() if u.startswith("handler-")
        }


@pytest.mark.parametrize(
    "username", ["citizen", "enterprise", "auditor", "street-ljz", "gridworker"]
)
def test_roles_without_the_right_cannot_act(
    client: TestClient, two_cases: dict[str, str], username: str
) -> None:
    r = client.post(f"/api/v1/cases/{two_cases['inside']}/accept", headers=login(client, username))
    assert r.status_code in (404, 409)
    if r.status_code == 409:
        assert r.json()["code"] == "case.transition_refused"


def test_every_case_route_needs_authentication(
    client: TestClient, two_cases: dict[str, str]
) -> None:
    cid = two_cases["inside"]
    for method, path in [
        ("get", "/api/v1/cases"),
        ("get", f"/api/v1/cases/{cid}"),
        ("get", f"/api/v1/cases/{cid}/timeline"),
        ("post", f"/api/v1/cases/{cid}/accept"),
        ("get", "/api/v1/regions"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/catalogue/elements"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, path
        assert r.json()["code"] == "auth.required"
    bad = client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "auth.invalid_token"


def test_phone_numbers_are_masked_for_viewers_without_need(
    client: TestClient, platform: Platform, two_cases: dict[str, str]
) -> None:
    cid = two_cases["inside"]
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=login(client, "operator")).json()[
            "reporter_phone"
        ]
        == "13812345678"
    )
    seen = client.get(f"/api/v1/cases/{cid}", headers=login(client, "gridworker")).json()
    assert seen["reporter_phone"] == "138****5678"
    assert (
        client.get(f"/api/v1/cases/{cid}", headers=login(client, "auditor")).json()["reporter_name"]
        is None
    )
