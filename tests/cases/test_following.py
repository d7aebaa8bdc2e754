"""Following a matter to the end: "not fixed" after closure sends the case back into rework."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from civicloop.cases import service
from civicloop.core.clock import FrozenClock
from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body


def _closed_case(client: TestClient, platform: Platform) -> dict[str, Any]:
    """A citizen's case walked through the whole loop by the personas, up to closure."""
    e = element(platform, check=False, verify=True)
    created = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    who = {u: org.actor_for_user(platform, u) for u in ("operator", "dispatcher", "gridworker")}
    handler = org.actor_for_user(platform, handler_for(e))
    service.accept_case(platform, who["operator"], cid)
    service.file_case(platform, who["operator"], cid)
    service.dispatch_case(platform, who["dispatcher"], cid)
    service.sign_case(platform, handler, cid)
    service.feedback_case(platform, handler, cid, text="已处置")
    service.verify_case(platform, who["gridworker"], cid, passed=True)
    return service.close_case(platform, who["operator"], cid)


def test_the_reporter_says_not_fixed_and_the_case_goes_back_into_rework(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    case = _closed_case(client, platform)
    clock.advance(timedelta(days=2))
    r = client.post(
        f"/api/v1/cases/{case['id']}/not-fixed",
        json={"comment": "井盖还是没有装好"},
        headers=login(client, "citizen"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "handling"
    assert body["rework_count"] == case["rework_count"] + 1
    assert body["closed_at"] is None and body["satisfaction"] == "unsatisfied"
    assert body["handle_due_at"] is not None
    timeline = client.get(
        f"/api/v1/cases/{case['id']}/timeline", headers=login(client, "operator")
    ).json()
    assert any(e["action"] == "case.not_fixed" for e in timeline)


def test_not_fixed_is_refused_after_the_configured_days_and_for_strangers(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    case = _closed_case(client, platform)
    handler = login(client, "dispatcher")
    refused = client.post(
        f"/api/v1/cases/{case['id']}/not-fixed", json={"comment": "没修好"}, headers=handler
    )
    assert refused.status_code == 409  # a dispatcher is not who says so
    clock.advance(timedelta(days=platform.settings.not_fixed_days + 1))
    late = client.post(
        f"/api/v1/cases/{case['id']}/not-fixed",
        json={"comment": "没修好"},
        headers=login(client, "citizen"),
    )
    assert late.status_code == 422
    assert late.json()["field"] == "case_id"
    empty = client.post(
        f"/api/v1/cases/{case['id']}/not-fixed",
        json={"comment": ""},
        headers=login(client, "citizen"),
    )
    assert empty.status_code == 422


def test_the_public_tracking_shows_progress_department_and_replies_but_no_personal_data(
    client: TestClient, platform: Platform
) -> None:
    case = _closed_case(client, platform)
    code = case["tracking_code"]
    r = client.get(f"/api/v1/track/{code}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "closed" and body["department"]
    events = [step["event"] for step in body["timeline"]]
    assert events[0] == "case.reported" and events[-1] == "case.closed"
    assert "case.dispatched" in events and all(step["label"] for step in body["timeline"])
    assert [reply["text"] for reply in body["replies"]] == ["已处置"]
    for leaked in ("13812345678", "王先生", "actor", "request_id"):
        assert leaked not in r.text
    page = client.get("/track", params={"code": code.lower()})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "已结案" in page.text and body["department"] in page.text and "办理过程" in page.text
    assert "13812345678" not in page.text and "王先生" not in page.text
    english = client.get("/track", params={"code": code, "lang": "en"})
    assert "Progress" in english.text and "closed" in english.text
    missing = client.get("/track", params={"code": "NOSUCHCODE"})
    assert missing.status_code == 404 and "未找到" in missing.text
    assert client.get("/track").status_code == 200  # the empty form
