"""One case through every step of the loop over HTTP, as the demo personas would walk it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from civicloop.ledger.service import verify
from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body


def test_walk_one_case_through_every_step(client: TestClient, platform: Platform) -> None:
    e = element(platform, check=True, verify=True)
    citizen = login(client, "citizen")
    operator = login(client, "operator")
    dispatcher = login(client, "dispatcher")
    handler = login(client, handler_for(e))
    grid = login(client, "gridworker")

    r = client.post("/api/v1/cases", json=report_body(platform, e), headers=citizen)
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert case["status"] == "reported" and case["tracking_code"]
    assert case["number"].startswith(e.code[0] + e.class_code)

    def act(who: dict[str, str], action: str, body: dict | None = None, status: int = 200) -> dict:
        resp = client.post(f"/api/v1/cases/{cid}/{action}", json=body, headers=who)
        assert resp.status_code == status, resp.text
        return resp.json()

    assert act(operator, "accept")["status"] == "checking"
    assert act(grid, "check", {"is_valid": True, "note": "现场确认属实"})["status"] == "accepted"
    assert act(operator, "file")["status"] == "filed"
    dispatched = act(dispatcher, "dispatch")
    assert dispatched["status"] == "dispatched"
    assert dispatched["lead_department"] == e.lead_department
    assert dispatched["handle_due_at"] is not None
    assert act(handler, "sign")["status"] == "handling"
    assert act(handler, "notes", {"text": "已安排人员前往现场"})["status"] == "handling"
    up = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=handler,
        files={"file": ("after.png", b"\x89PNG\r\n\x1a\nfake", "image/png")},
        data={"text": "处置后照片"},
    )
    assert up.status_code == 200, up.text
    assert act(handler, "feedback", {"text": "已处置完毕"})["status"] == "verifying"
    assert act(grid, "verify", {"passed": True, "note": "核查通过"})["status"] == "verified"
    closed = act(operator, "close")
    assert closed["status"] == "closed" and closed["closure_type"] == "normal"
    rated = act(citizen, "follow-up", {"satisfaction": "satisfied"})
    assert rated["status"] == "followed_up"

    detail = client.get(f"/api/v1/cases/{cid}", headers=operator).json()
    assert [s["step"] for s in detail["steps"]] == [
        "accept",
        "check",
        "file",
        "dispatch",
        "sign",
        "handle",
        "verify",
        "close",
        "follow_up",
    ]
    assert all(s["completed_at"] for s in detail["steps"][:-1])
    sha = next(n["attachment"]["sha256"] for n in detail["notes"] if n["attachment"])
    dl = client.get(f"/api/v1/cases/{cid}/attachments/{sha}", headers=grid)
    assert dl.status_code == 200 and dl.content.startswith(b"\x89PNG")

    timeline = client.get(f"/api/v1/cases/{cid}/timeline", headers=operator).json()
    assert [t["action"] for t in timeline] == [
        "case.reported",
        "case.accepted",
        "case.checked",
        "case.filed",
        "case.dispatched",
        "case.signed",
        "case.noted",
        "case.evidence_added",
        "case.feedback_given",
        "case.verified",
        "case.closed",
        "case.followed_up",
    ]
    assert all(t["request_id"] not in ("", "-") for t in timeline)
    assert verify(platform.db).ok

    public = client.get(f"/api/v1/track/{case['tracking_code']}")
    assert public.status_code == 200 and public.json()["status"] == "followed_up"
    assert "reporter_phone" not in public.json()


def test_return_and_redispatch_rework_extension_and_reopen(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform, check=False, verify=True)
    chief, dispatcher = login(client, "chief"), login(client, "dispatcher")
    handler, grid = login(client, handler_for(e)), login(client, "gridworker")
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]

    def act(who: dict[str, str], action: str, body: dict | None = None, status: int = 200) -> dict:
        resp = client.post(f"/api/v1/cases/{cid}/{action}", json=body, headers=who)
        assert resp.status_code == status, resp.text
        return resp.json()

    assert act(chief, "accept")["status"] == "accepted"
    act(chief, "file")
    act(dispatcher, "dispatch")
    returned = act(handler, "return", {"reason": "不属于本部门职责"})
    assert returned["status"] == "returned" and returned["return_count"] == 1
    act(dispatcher, "dispatch")
    act(handler, "sign")
    due_before = act(handler, "extensions", {"reason": "需要采购配件", "hours": 8})["handle_due_at"]
    granted = act(dispatcher, "extensions/decision", {"approve": True})
    assert granted["handle_due_at"] > due_before and granted["extension_count"] == 1
    act(handler, "feedback", {"text": "已处置"})
    assert (
        act(grid, "verify", {"passed": False, "note": "仍未修复"})["verification_passed"] is False
    )
    refused = client.post(f"/api/v1/cases/{cid}/close", headers=chief)
    assert refused.status_code == 422 and refused.json()["field"] == "closure_type"
    reworked = act(chief, "rework", {"reason": "核查未通过"})
    assert reworked["status"] == "handling" and reworked["rework_count"] == 1
    act(handler, "feedback", {"text": "已重新处置"})
    act(grid, "verify", {"passed": True})
    act(chief, "close")
    reopened = act(chief, "reopen", {"reason": "问题复发"})
    assert reopened["status"] == "filed" and reopened["reopen_count"] == 1


def test_merge_a_duplicate_into_its_master(client: TestClient, platform: Platform) -> None:
    e = element(platform, check=False)
    citizen, operator = login(client, "citizen"), login(client, "operator")
    master = client.post("/api/v1/cases", json=report_body(platform, e), headers=citizen).json()
    dup = client.post("/api/v1/cases", json=report_body(platform, e), headers=citizen).json()
    r = client.post(
        f"/api/v1/cases/{dup['id']}/merge", json={"master_id": master["id"]}, headers=operator
    )
    assert r.status_code == 200 and r.json()["status"] == "merged"
    assert r.json()["master_case_id"] == master["id"]
    again = client.post(
        f"/api/v1/cases/{master['id']}/merge", json={"master_id": master["id"]}, headers=operator
    )
    assert again.status_code == 422 and again.json()["field"] == "master_id"


def test_refused_transition_answers_409_with_the_allowed_next_steps(
    client: TestClient, platform: Platform
) -> None:
    e = element(platform)
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    r = client.post(f"/api/v1/cases/{cid}/close", headers=login(client, "operator"))
    assert r.status_code == 409
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "case.transition_refused"
    assert body["allowed"] == ["accept", "void", "attach", "merge"]
