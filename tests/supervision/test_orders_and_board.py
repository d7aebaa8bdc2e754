"""Supervision orders to their end, the status board and step times, through the HTTP API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from civicloop.core.clock import FrozenClock
from civicloop.runtime import Platform
from civicloop.supervision import service
from tests.helpers import element, handler_for, login, report_body


def _case(client: TestClient, platform: Platform, e: Any, **dispatch: Any) -> str:
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    chief = login(client, "chief")
    for action in ("accept", "file"):
        assert client.post(f"/api/v1/cases/{cid}/{action}", headers=chief).status_code == 200
    r = client.post(f"/api/v1/cases/{cid}/dispatch", json=dispatch or None, headers=chief)
    assert r.status_code == 200, r.text
    return cid


def _other_handler_department(platform: Platform, e: Any) -> str:
    from sqlalchemy import select

    from civicloop.org import store as org_store

    with platform.db.read() as conn:
        handled = {r.department_code for r in conn.execute(select(org_store.user_departments))}
    return next(
        d
        for d in sorted(platform.catalogue.departments)
        if d != e.lead_department and d not in e.assist_departments and d in handled
    )


def test_an_order_is_answered_escalated_when_late_and_closed(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    e = element(platform, check=False)
    cid = _case(client, platform, e)
    sup, handler = login(client, "supervisor"), login(client, handler_for(e))
    r = client.post(
        f"/api/v1/cases/{cid}/supervise", json={"reason": "群众反映强烈", "hours": 2}, headers=sup
    )
    assert r.status_code == 200, r.text
    orders = client.get(f"/api/v1/supervision/orders?case_id={cid}", headers=sup).json()
    assert len(orders) == 1 and orders[0]["status"] == "open"
    oid, level = orders[0]["id"], orders[0]["loop_level"]
    # the lead department sees it and answers; a department not on the case does not see it
    assert client.get(f"/api/v1/supervision/orders/{oid}", headers=handler).status_code == 200
    stranger = login(client, f"handler-{_other_handler_department(platform, e)}")
    assert client.get(f"/api/v1/supervision/orders/{oid}", headers=stranger).status_code == 404
    citizen = login(client, "citizen")
    assert client.get("/api/v1/supervision/orders", headers=citizen).status_code == 403
    r = client.post(
        f"/api/v1/supervision/orders/{oid}/respond", json={"text": "已派员处置"}, headers=handler
    )
    assert r.status_code == 200 and r.json()["status"] == "responded", r.text
    # only a supervisor closes or escalates
    assert (
        client.post(
            f"/api/v1/supervision/orders/{oid}/close", json={"text": "x"}, headers=handler
        ).status_code
        == 403
    )
    # the order's own deadline passes: overdue, then escalated once by the sweep
    clock.advance(timedelta(hours=3))
    assert service.read_order(platform, _sup(platform), oid)["status"] == "overdue"
    assert service.escalate_overdue_orders(platform) == 1
    assert service.escalate_overdue_orders(platform) == 0
    sup = login(client, "supervisor")
    after = client.get(f"/api/v1/supervision/orders/{oid}", headers=sup).json()
    assert after["escalations"] == 1 and after["status"] == "responded"
    assert after["loop_level"] != level or level == "big"
    assert [e["kind"] for e in after["events"]] == ["responded", "escalated"]
    r = client.post(
        f"/api/v1/supervision/orders/{oid}/close", json={"text": "整改到位，销号"}, headers=sup
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    again = client.post(
        f"/api/v1/supervision/orders/{oid}/respond", json={"text": "x"}, headers=handler
    )
    assert again.status_code == 409
    assert (
        client.get("/api/v1/supervision/orders?status=closed", headers=sup).json()[0]["id"] == oid
    )
    bad = client.get("/api/v1/supervision/orders?status=nonsense", headers=sup)
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    actions = [t["action"] for t in client.get(f"/api/v1/cases/{cid}/timeline", headers=sup).json()]
    assert {"supervision.responded", "supervision.escalated", "supervision.closed"} <= set(actions)


def _sup(platform: Platform) -> Any:
    from civicloop.org.service import actor_for_user

    return actor_for_user(platform, "supervisor")


def test_the_board_counts_and_says_who_waits_on_whom(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform, check=False, verify=True)
    other = _other_handler_department(platform, e)
    assisted = _case(client, platform, e, assists=[other])
    returned = _case(client, platform, e)
    verifying = _case(client, platform, e)
    handler = login(client, handler_for(e))
    r = client.post(
        f"/api/v1/cases/{returned}/return", json={"reason": "不属本部门"}, headers=handler
    )
    assert r.status_code == 200, r.text
    for action, body in (("sign", None), ("feedback", {"text": "已处置完毕"})):
        r = client.post(f"/api/v1/cases/{verifying}/{action}", json=body, headers=handler)
        assert r.status_code == 200, r.text
    client.post(
        f"/api/v1/cases/{assisted}/supervise",
        json={"reason": "请加快", "hours": 4},
        headers=login(client, "supervisor"),
    )
    board = client.get("/api/v1/supervision/board", headers=login(client, "supervisor")).json()
    rows = {r["department"]: r for r in board["departments"]}
    lead = rows[e.lead_department]
    assert lead["open"] >= 3 and lead["returned"] >= 1 and lead["supervision_open"] >= 1
    assert rows[other]["assisting"] >= 1
    waits = {(w["waiter"], w["waits_on"], w["kind"]): w["cases"] for w in board["waits"]}
    assert waits[(e.lead_department, other, "assist")] >= 1
    assert any(k[0] == e.lead_department and k[2] == "verification" for k in waits)
    assert waits[(e.lead_department, "@operations_centre", "dispatch")] >= 1
    assert waits[("@supervisor", e.lead_department, "supervision")] >= 1
    # a department reads its own row and the waits it is part of
    mine = client.get("/api/v1/supervision/board", headers=handler).json()
    assert [r["department"] for r in mine["departments"]] == [e.lead_department]
    assert all(e.lead_department in (w["waiter"], w["waits_on"]) for w in mine["waits"])
    helper = client.get("/api/v1/supervision/board", headers=login(client, f"handler-{other}"))
    assert {r["department"] for r in helper.json()["departments"]} <= {other}
    assert client.get("/api/v1/supervision/board").status_code == 401


def test_step_times_per_department(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    e = element(platform, check=False, verify=False)
    cid = _case(client, platform, e)
    handler = login(client, handler_for(e))
    clock.advance(timedelta(hours=1))
    assert client.post(f"/api/v1/cases/{cid}/sign", headers=handler).status_code == 200
    clock.advance(timedelta(hours=5))
    r = client.post(f"/api/v1/cases/{cid}/feedback", json={"text": "已修复"}, headers=handler)
    assert r.status_code == 200, r.text
    rows = client.get("/api/v1/supervision/step-times", headers=login(client, "supervisor")).json()
    mine = {r["step"]: r for r in rows if r["department"] == e.lead_department}
    assert mine["sign"]["mean_hours"] == 1.0 and mine["sign"]["steps"] == 1
    assert {"accept", "file", "dispatch", "sign"} <= set(mine)
    own = client.get("/api/v1/supervision/step-times", headers=handler).json()
    assert {r["department"] for r in own} == {e.lead_department}
    bad = client.get(
        "/api/v1/supervision/step-times?since=2026-12-01T00:00:00Z&until=2026-11-01T00:00:00Z",
        headers=handler,
    )
    assert bad.status_code == 422


def test_a_citizen_checks_their_cases_record_with_the_tracking_code(
    client: TestClient, platform: Platform, tmp_path: Any
) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    from civicloop.ledger.checkpoints import create_checkpoint

    e = element(platform, check=False)
    r = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()
    cid, code = r["id"], r["tracking_code"]
    assert client.get(f"/api/v1/supervision/track/{code}/proofs").status_code == 404  # no cp yet
    chief = login(client, "chief")
    client.post(f"/api/v1/cases/{cid}/accept", headers=chief)
    create_checkpoint(platform)
    client.post(f"/api/v1/cases/{cid}/file", headers=chief)
    body = client.get(f"/api/v1/supervision/track/{code.lower()}/proofs").json()
    done = [x for x in body["entries"] if not x["pending"]]
    assert [x["action"] for x in done] == ["case.reported", "case.accepted"]
    assert body["entries"][-1]["pending"] and body["entries"][-1]["action"] == "case.filed"
    assert all(x["verified"] and x["entry"] is None for x in done)
    assert "13812345678" not in json.dumps(body, ensure_ascii=False)
    script = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"
    (tmp_path / "p.json").write_text(json.dumps(done[0]), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps(body["checkpoint"]), encoding="utf-8")
    ok = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "p.json"), str(tmp_path / "c.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert client.get("/api/v1/supervision/track/NOPE0000/proofs").status_code == 404
