"""Risk raises case priority: a case about a high-risk subject starts (or is filed) as high."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from civicloop.cases import service as cases
from civicloop.cases.model import ClosureType
from civicloop.core.clock import FrozenClock
from civicloop.enterprise.demo import demo_credit_code
from civicloop.ledger import service as ledger
from civicloop.org import service as org
from civicloop.risk import priority
from civicloop.risk import service as risk
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body
from tests.risk.test_data_loop import _close, _walk


def _make_high(client: TestClient, p: Platform, code: str) -> None:
    """Three confirmed violations, two never rectified: the enterprise's band becomes high."""
    operator = org.actor_for_user(p, "operator")
    _close(p, _walk(client, p, text=f"企业{code}违规排污"))
    for _ in range(2):
        cid = _walk(client, p, text=f"企业{code}违规排污")
        cases.close_case(
            p, operator, cid, closure_type=ClosureType.SPECIAL, reason="企业拒不整改，移送执法"
        )
    risk.consume(p)
    hint = risk.priority_hint(p, ("enterprise", code))
    assert hint is not None and hint["is_raised"] is True


def _report(client: TestClient, p: Platform, text: str) -> dict:
    body = report_body(p, element(p, check=False, verify=True))
    body["description"] = body["description"] + text
    r = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_case_naming_a_high_risk_enterprise_is_high_priority(
    client: TestClient, platform: Platform
) -> None:
    code = demo_credit_code(random.Random(11))
    plain = _report(client, platform, "路灯不亮")
    assert plain["priority"] == "normal" and plain["priority_reason"] is None

    _make_high(client, platform, code)
    case = _report(client, platform, f"又见企业{code}夜间排污")
    assert case["priority"] == "high"
    assert code in case["priority_reason"] and "high" in case["priority_reason"]

    # traced: the report's ledger entry carries the priority and why
    first = ledger.timeline(platform.db, "case", case["id"])[0]
    assert first.action == "case.reported"
    assert first.after["priority"] == "high" and code in first.after["priority_reason"]

    # the dispatcher can ask for the high-priority cases only
    headers = login(client, "dispatcher")
    r = client.get("/api/v1/cases", params={"priority": "high"}, headers=headers)
    assert r.status_code == 200
    ids = {c["id"] for c in r.json()["items"]}
    assert case["id"] in ids and plain["id"] not in ids
    bad = client.get("/api/v1/cases", params={"priority": "urgent"}, headers=headers)
    assert bad.status_code == 422 and "priority" in bad.text


def test_filing_reassesses_priority_against_current_risk(
    client: TestClient, platform: Platform
) -> None:
    code = demo_credit_code(random.Random(12))
    early = _report(client, platform, f"企业{code}噪声扰民")
    assert early["priority"] == "normal"  # nothing known about the enterprise yet

    _make_high(client, platform, code)
    # As if the case had been missed when the bands moved (reassess_open's limit, a race):
    with platform.db.write() as conn:
        conn.execute(
            text("UPDATE cases SET priority = 'normal', priority_reason = NULL WHERE id = :i"),
            {"i": early["id"]},
        )
    operator = org.actor_for_user(platform, "operator")
    cases.accept_case(platform, operator, early["id"])
    filed = cases.file_case(platform, operator, early["id"])
    assert filed["priority"] == "high" and code in filed["priority_reason"]
    entry = [e for e in ledger.timeline(platform.db, "case", early["id"])][-1]
    assert entry.action == "case.filed" and entry.after["priority"] == "high"
    assert ledger.verify(platform.db).ok


def test_raised_subjects_are_cached_and_forgotten_on_rescore(
    client: TestClient, platform: Platform
) -> None:
    assert priority.raised_subjects(platform) == {}
    code = demo_credit_code(random.Random(13))
    _make_high(client, platform, code)  # consume() forgets the cached empty set
    raised = priority.raised_subjects(platform)
    assert raised[("enterprise", code)][1] == "high"
    # no raised subject named, none at the grid: normal, and cheap
    assert priority.case_priority(platform, {"grid_code": None, "description": "井盖缺失"}) is None


def test_the_triage_order_puts_high_priority_first(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    code = demo_credit_code(random.Random(14))
    _make_high(client, platform, code)
    high = _report(client, platform, f"企业{code}偷排")
    later = []
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        later.append(_report(client, platform, "人行道破损")["id"])
    headers = login(client, "dispatcher")
    newest = client.get(
        "/api/v1/cases", params={"status": "reported", "limit": 2}, headers=headers
    ).json()["items"]
    assert high["id"] not in {c["id"] for c in newest}  # three newer cases hide it
    first = client.get(
        "/api/v1/cases",
        params={"status": "reported", "limit": 2, "sort": "priority"},
        headers=headers,
    ).json()["items"]
    assert first[0]["id"] == high["id"] and first[1]["id"] == later[-1]
    bad = client.get("/api/v1/cases", params={"sort": "loudest"}, headers=headers)
    assert bad.status_code == 422 and "sort" in bad.text


def test_cases_waiting_for_dispatch_move_up_when_their_subject_becomes_high(
    client: TestClient, platform: Platform
) -> None:
    code = demo_credit_code(random.Random(15))
    waiting = _report(client, platform, f"企业{code}夜间施工扰民")
    other = _report(client, platform, "人行道破损")
    assert waiting["priority"] == "normal"

    _make_high(client, platform, code)  # its consume() sees the raised set change
    headers = login(client, "dispatcher")
    got = client.get(f"/api/v1/cases/{waiting['id']}", headers=headers).json()
    assert got["priority"] == "high" and code in got["priority_reason"]
    assert got["version"] == waiting["version"] + 1
    assert client.get(f"/api/v1/cases/{other['id']}", headers=headers).json()["priority"] == (
        "normal"
    )
    entry = ledger.timeline(platform.db, "case", waiting["id"])[-1]
    assert entry.action == "case.priority_changed"
    assert entry.before == {"priority": "normal", "priority_reason": None}
    assert entry.after["priority"] == "high"
    # nothing moves again while the bands stay where they are
    assert risk.consume(platform).get("priorities_changed") is None
    assert ledger.verify(platform.db).ok


def test_reassessment_looks_only_where_the_moved_subjects_are(
    client: TestClient, platform: Platform
) -> None:
    from civicloop.cases.priority import reassess_open

    code = demo_credit_code(random.Random(16))
    _make_high(client, platform, code)
    case = _report(client, platform, f"企业{code}占道")
    assert case["priority"] == "high"
    with platform.db.write() as conn:  # as if it had been reported before the band moved
        conn.execute(
            text("UPDATE cases SET priority = 'normal', priority_reason = NULL WHERE id = :i"),
            {"i": case["id"]},
        )
    # another enterprise moved, in no grid of this case: this case is not looked at
    assert reassess_open(platform, grids=set(), texts={"91310000MA1FL4KQ2E"}) == 0
    assert reassess_open(platform, grids=set(), texts={code}) == 1
    # where the moved subjects are: their grids, the enterprises among them
    before = {("grid", "G1"): (60.0, "high", "G1")}
    after = {("enterprise", code): (66.0, "high", "G2"), ("grid", "G1"): (70.0, "high", "G1")}
    assert priority.moved(before, after) == ({"G2"}, {code})
    assert priority.moved(after, before) == ({"G2"}, {code})
