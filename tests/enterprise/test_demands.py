"""Enterprise demands over HTTP: registration by credit code, demands as cases, own-only views."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civicloop.cases import store as case_store
from civicloop.core.idcodes import is_valid_credit_code
from civicloop.enterprise import store
from civicloop.enterprise.demo import demo_credit_code, seed_enterprises
from civicloop.enterprise.model import CATEGORIES, DemandCategory
from civicloop.ledger import store as ledger_store
from civicloop.runtime import Platform
from tests.helpers import login, point_in, user_region


@pytest.fixture
def seeded(platform: Platform) -> Platform:
    assert seed_enterprises(platform, seed=3) == 4
    assert seed_enterprises(platform, seed=3) == 0  # idempotent
    return platform


def _demand(client: TestClient, h: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/api/v1/enterprise/demands",
        json={"category": "policy", "text": "想了解今年的研发补贴怎么申报。", **body},
        headers=h,
    )


def test_demo_enterprises_have_valid_codes_and_bound_personas(seeded: Platform) -> None:
    with seeded.db.read() as conn:
        codes = [r.credit_code for r in conn.execute(select(store.enterprises))]
        bound = conn.execute(select(store.enterprise_users)).fetchall()
    assert len(codes) == 4 and all(is_valid_credit_code(c) for c in codes)
    assert len(bound) == 2 and len({b.credit_code for b in bound}) == 2


def test_register_with_valid_and_invalid_codes(client: TestClient, platform: Platform) -> None:
    h = login(client, "enterprise")
    code = demo_credit_code(random.Random(1))
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    r = client.post(
        "/api/v1/enterprise/register", json={"credit_code": bad, "name": "x"}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["field"] == "credit_code" and r.json()["rule"] == "GB32100.check_character"
    r = client.post(
        "/api/v1/enterprise/register", json={"credit_code": "91310115MA1K3", "name": "x"}, headers=h
    )
    assert r.status_code == 422 and r.json()["rule"] == "GB32100.length"
    # the demand endpoint refuses until the user is registered
    assert _demand(client, h).status_code == 403
    lon, lat = point_in(platform, user_region(platform, "gridworker"))
    body = {
        "credit_code": code.lower(),
        "name": "浦江示范科技有限公司",
        "industry": "软件",
        "address": "示范路1号",
        "lon": lon,
        "lat": lat,
    }
    r = client.post("/api/v1/enterprise/register", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["credit_code"] == code and r.json()["grid_code"]
    again = client.post("/api/v1/enterprise/register", json=body, headers=h)
    assert again.status_code == 200  # idempotent
    other = demo_credit_code(random.Random(2))
    r = client.post(
        "/api/v1/enterprise/register", json={"credit_code": other, "name": "别家"}, headers=h
    )
    assert r.status_code == 409
    assert client.get("/api/v1/enterprise/me", headers=h).json()["credit_code"] == code
    # only enterprise users may register
    r = client.post("/api/v1/enterprise/register", json=body, headers=login(client, "citizen"))
    assert r.status_code == 403
    with platform.db.read() as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(ledger_store.ledger_entries.c.action).where(
                    ledger_store.ledger_entries.c.target_id == code
                )
            )
        ]
    assert actions == ["enterprise.registered", "enterprise.user_bound"]


def test_a_demand_is_a_routed_case_of_the_mapped_element(
    client: TestClient, seeded: Platform
) -> None:
    h = login(client, "enterprise")
    ent = client.get("/api/v1/enterprise/me", headers=h).json()
    for category in DemandCategory:
        r = _demand(client, h, category=str(category), contact_phone="13812345678")
        assert r.status_code == 201, r.text
        demand = r.json()
        spec = CATEGORIES[category]
        element = seeded.catalogue.element(spec.element_code)
        assert element is not None and element.scene_code == "enterprise_demands"
        assert demand["category"] == str(category) and demand["element_code"] == element.code
        assert demand["grid_code"] == ent["grid_code"]  # the registered place is the default
        assert demand["status"] == "reported" and demand["deadline_at"]
        with seeded.db.read() as conn:
            case = conn.execute(
                select(case_store.cases).where(case_store.cases.c.id == demand["id"])
            ).one()
        assert case.channel == "enterprise" and case.element_code == element.code
        # the operator sees it as an ordinary case, with the contact phone
        op = login(client, "operator")
        seen = client.get(f"/api/v1/cases/{demand['id']}", headers=op).json()
        assert seen["channel"] == "enterprise" and seen["reporter_phone"] == "13812345678"
    listed = client.get("/api/v1/enterprise/demands", headers=h).json()
    assert listed["total"] == len(DemandCategory)
    assert listed["enterprise"]["credit_code"] == ent["credit_code"]


def test_dispatch_goes_to_the_elements_lead_department(
    client: TestClient, seeded: Platform
) -> None:
    h = login(client, "enterprise")
    demand = _demand(client, h).json()
    chief = login(client, "chief")
    cid = demand["id"]
    for action in ("accept", "file", "dispatch"):
        r = client.post(f"/api/v1/cases/{cid}/{action}", headers=chief)
        assert r.status_code == 200, r.text
    element = seeded.catalogue.element(CATEGORIES[DemandCategory.POLICY].element_code)
    assert element is not None
    got = client.get(f"/api/v1/enterprise/demands/{cid}", headers=h).json()
    assert got["status"] == "dispatched" and got["lead_department"] == element.lead_department
    assert got["lead_department_name"] and got["deadline_at"]


def test_another_enterprise_sees_none_of_them(client: TestClient, seeded: Platform) -> None:
    mine = _demand(client, login(client, "enterprise")).json()
    other = login(client, "enterprise2")
    listed = client.get("/api/v1/enterprise/demands", headers=other).json()
    assert listed["total"] == 0 and listed["items"] == []
    assert client.get(f"/api/v1/enterprise/demands/{mine['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/cases/{mine['id']}", headers=other).status_code == 404
    assert (
        client.get(f"/api/v1/enterprise/demands/{mine['id']}", headers=login(client, "citizen"))
    ).status_code == 403


def test_rating_after_close(client: TestClient, seeded: Platform) -> None:
    h = login(client, "enterprise")
    cid = _demand(client, h).json()["id"]
    element = seeded.catalogue.element(CATEGORIES[DemandCategory.POLICY].element_code)
    assert element is not None
    chief, handler = login(client, "chief"), login(client, f"handler-{element.lead_department}")

    def act(who: dict[str, str], action: str, body: dict[str, Any] | None = None) -> Any:
        r = client.post(f"/api/v1/cases/{cid}/{action}", json=body, headers=who)
        assert r.status_code == 200, r.text
        return r.json()

    r = client.post(f"/api/v1/cases/{cid}/follow-up", json={"satisfaction": "satisfied"}, headers=h)
    assert r.status_code == 409  # not closed yet
    for who, action, body in (
        (chief, "accept", None),
        (chief, "file", None),
        (chief, "dispatch", None),
        (handler, "sign", None),
        (handler, "feedback", {"text": "已电话答复适用政策和申报路径"}),
        (chief, "close", None),
    ):
        act(who, action, body)
    assert client.get(f"/api/v1/enterprise/demands/{cid}", headers=h).json()["status"] == "closed"
    rated = act(h, "follow-up", {"satisfaction": "basically_satisfied", "comment": "答复及时"})
    assert rated["status"] == "followed_up"
    got = client.get(f"/api/v1/enterprise/demands/{cid}", headers=h).json()
    assert got["satisfaction"] == "basically_satisfied"


def test_bad_input_names_the_field(client: TestClient, seeded: Platform) -> None:
    h = login(client, "enterprise")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"category": "lottery"}, "category"),
        ({"text": ""}, "text"),
        ({"lon": 0.0, "lat": 0.0}, "lon"),
        ({"lon": 121.5}, "lat"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"colour": "red"}, "colour"),
    ]
    for extra, field in cases:
        r = _demand(client, h, **extra)
        assert r.status_code == 422, (extra, r.text)
        assert r.json()["field"] == field, (extra, r.json())
    assert client.get("/api/v1/enterprise/demands", headers=h).json()["total"] == 0
    assert client.get("/api/v1/enterprise/demands").status_code == 401


def test_without_a_registered_place_a_demand_needs_its_own(
    client: TestClient, platform: Platform
) -> None:
    h = login(client, "enterprise")
    code = demo_credit_code(random.Random(5))
    r = client.post(
        "/api/v1/enterprise/register", json={"credit_code": code, "name": "无址公司"}, headers=h
    )
    assert r.status_code == 200 and r.json()["grid_code"] is None
    r = _demand(client, h)
    assert r.status_code == 422 and r.json()["field"] == "lon"
    lon, lat = point_in(platform, user_region(platform, "gridworker"))
    r = _demand(client, h, lon=lon, lat=lat, address="示范路8号")
    assert r.status_code == 201, r.text
    assert r.json()["address"] == "示范路8号" and r.json()["grid_code"]
