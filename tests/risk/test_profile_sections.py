"""Profiles carry the risk, credit and links sections of a registered enterprise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from civicloop.cases import service as cases
from civicloop.org import service as org
from civicloop.registry import service as registry_service
from civicloop.risk import service as risk
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body
from tests.risk.test_api import registry  # noqa: F401  (the small generated registry)
from tests.risk.test_data_loop import _close, _walk


@pytest.mark.slow
def test_an_enterprise_profile_shows_its_risk_credit_and_links(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    p = registry
    entity = next(iter(registry_service.iter_records(p, "entity")))[0]
    code = entity["credit_code"]
    _close(p, _walk(client, p, text=f"{entity['name']}（{code}）门前堆物"))
    risk.consume(p)
    admin = login(client, "admin")
    assert client.post("/api/v1/links/run", json={}, headers=admin).status_code == 200

    r = client.get(f"/api/v1/profiles/entity/{code}", headers=admin)
    assert r.status_code == 200, r.text
    sections = r.json()["sections"]
    assert sections["risk"]["score"] == 12.0
    assert sections["risk"]["explanation"]["indicators"][0]["indicator"] == "violations_confirmed"
    assert sections["credit"]["grade"] == "B"
    assert sections["credit"]["history"][0]["previous_grade"] is None
    links = sections["links"]
    assert links["golden_id"].startswith("G")
    assert {"source": "registry.entity", "record_id": code} in [
        {k: x[k] for k in ("source", "record_id")} for x in links["records"]
    ]


@pytest.mark.slow
def test_a_case_at_a_registered_room_scores_the_room_and_its_building(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    p = registry
    room = next(iter(registry_service.iter_records(p, "room")))[0]
    e = element(p, check=False, verify=True)
    body = report_body(p, e, address=room["address"])
    created = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    # the case is voided as unfounded after an on-site check: the room gains an unfounded report
    operator = org.actor_for_user(p, "operator")
    cases.void_case(p, operator, cid, reason="现场核实不属实")
    assert risk.consume(p)["outcomes"] == 1
    admin = org.actor_for_user(p, "admin")
    for kind, key in (("room", room["id"]), ("building", room["building_id"])):
        s = risk.read_score(p, admin, kind, key)
        ind = {i["indicator"]: i for i in s["explanation"]["indicators"]}
        assert ind["unfounded_reports"]["raw"] == 1.0 and s["score"] == 0.0
        assert s["is_stored"] and s["history"][0]["cause"]["outcome"] == "unfounded"


@pytest.mark.slow
def test_a_site_correction_raises_the_room_risk(
    client: TestClient,
    registry: Platform,  # noqa: F811
) -> None:
    """A grid worker finds 4 more people living in a room than its limit: once approved, the
    data loop rescores the room (over_occupied), explained and in the ledger."""
    from civicloop.ledger import service as ledger
    from civicloop.registry import corrections

    p = registry
    rooms = [r for b in registry_service.iter_records(p, "room") for r in b]
    room = next(r for r in rooms if r.get("residents_limit"))
    admin = org.actor_for_user(p, "admin")
    c = corrections.propose_correction(
        p, admin, "room", room["id"], {"observed_residents": room["residents_limit"] + 4},
        "现场核查：实际居住人数超出登记",
    )  # fmt: skip
    corrections.review_correction(p, admin, c["id"], approve=True)
    assert risk.consume(p)["scores_changed"] == 1
    s = risk.read_score(p, admin, "room", room["id"])
    ind = {i["indicator"]: i for i in s["explanation"]["indicators"]}
    assert ind["over_occupied"]["raw"] == 4.0 and s["score"] == 24.0 and s["band"] == "medium"
    assert s["history"][0]["cause"]["registry_correction"] == c["id"]
    trail = [e.action for e in ledger.timeline(p.db, "room", room["id"])]
    assert trail[-1] == "risk.score_changed"
