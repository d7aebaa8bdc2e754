"""The data loop: a closed case changes its subject's risk score, explained and in the ledger."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases import service as cases
from civicloop.enterprise.demo import demo_credit_code
from civicloop.ledger import service as ledger
from civicloop.org import service as org
from civicloop.risk import service as risk
from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body


def _walk(client: TestClient, p: Platform, *, text: str = "", overdue: bool = False) -> str:
    """A citizen's case walked through the loop by the personas up to verification."""
    e = element(p, check=False, verify=True)
    body = report_body(p, e)
    body["description"] = body["description"] + text
    created = client.post("/api/v1/cases", json=body, headers=login(client, "citizen"))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    who = {u: org.actor_for_user(p, u) for u in ("operator", "dispatcher", "gridworker")}
    handler = org.actor_for_user(p, handler_for(e))
    cases.accept_case(p, who["operator"], cid)
    cases.file_case(p, who["operator"], cid)
    cases.dispatch_case(p, who["dispatcher"], cid)
    cases.sign_case(p, handler, cid)
    cases.feedback_case(p, handler, cid, text="已责令整改")
    cases.verify_case(p, who["gridworker"], cid, passed=True)
    return cid


def _close(p: Platform, cid: str) -> dict[str, Any]:
    return cases.close_case(p, org.actor_for_user(p, "operator"), cid)


def test_a_closed_case_raises_its_enterprise_risk_explained_and_in_the_ledger(
    client: TestClient, platform: Platform
) -> None:
    code = demo_credit_code(random.Random(42))
    cid = _walk(client, platform, text=f"涉事企业统一社会信用代码{code}，油烟直排。")
    admin = org.actor_for_user(platform, "admin")

    # before closure the loop has nothing to say about the enterprise
    assert risk.consume(platform)["outcomes"] == 0
    before = risk.read_score(platform, admin, "enterprise", code)
    assert before["is_stored"] is False and before["score"] == 0

    _close(platform, cid)
    summary = risk.consume(platform)
    assert summary["outcomes"] == 1 and summary["scores_changed"] >= 2  # enterprise + grid

    after = risk.read_score(platform, admin, "enterprise", code)
    assert after["score"] == 12.0 and after["band"] == "low" and after["grade"] == "B"
    # explained: the indicator, its raw value, points and cap
    ind = {i["indicator"]: i for i in after["explanation"]["indicators"]}
    assert ind["violations_confirmed"] == {
        **ind["violations_confirmed"],
        "raw": 1.0,
        "points": 12.0,
        "cap": 36.0,
    }
    assert after["history"][0]["cause"]["case_id"] == cid
    assert after["history"][0]["previous_score"] is None

    # in the ledger: the outcome on the case, the score change on the enterprise
    trail = ledger.timeline(platform.db, "enterprise", code)
    assert [e.action for e in trail] == ["risk.score_changed"]
    change = trail[0].after
    assert change["score"] == 12.0 and change["cause"]["outcome"] == "rectified"
    assert change["indicators_moved"][0]["indicator"] == "violations_confirmed"
    on_case = [e.action for e in ledger.timeline(platform.db, "case", cid)]
    assert on_case[-1] == "risk.outcome_applied"
    assert ledger.verify(platform.db).ok

    # idempotent: consuming again changes nothing
    assert risk.consume(platform)["outcomes"] == 0
    assert risk.read_score(platform, admin, "enterprise", code)["score"] == 12.0


def test_repeated_violations_cross_bands_and_lower_the_credit_grade(
    client: TestClient, platform: Platform
) -> None:
    code = demo_credit_code(random.Random(7))
    for _ in range(4):
        _close(platform, _walk(client, platform, text=f"企业{code}噪声扰民"))
    risk.consume(platform)
    s = risk.read_score(platform, org.actor_for_user(platform, "admin"), "enterprise", code)
    # 4 × 12 points, capped at 36
    ind = {i["indicator"]: i for i in s["explanation"]["indicators"]}
    assert ind["violations_confirmed"]["raw"] == 4.0
    assert (
        ind["violations_confirmed"]["points"] == 36.0 and ind["violations_confirmed"]["is_capped"]
    )
    assert s["score"] == 36.0 and s["band"] == "medium" and s["grade"] == "C"
    # the fourth violation hit the cap: the score did not move, so no history row for it
    assert [h["score"] for h in s["history"]] == [36.0, 24.0, 12.0]
    hint = risk.priority_hint(platform, ("enterprise", code))
    assert hint is not None and hint["is_raised"] is False and hint["score"] == 36.0
