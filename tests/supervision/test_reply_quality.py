"""Reply quality: on real citizen messages with replies, and on cases closed through the API."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from civicloop.core.clock import FrozenClock
from civicloop.runtime import Platform
from civicloop.supervision import reply_quality as rq
from civicloop.supervision import service
from tests.helpers import element, handler_for, login, report_body

DATA = Path("/work/shared/data/citizen_messages_with_replies.csv")


def _pairs() -> list[dict[str, str]]:
    if not DATA.exists():
        pytest.skip("citizen_messages_with_replies.csv is absent")
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_true_replies_outscore_shuffled_ones_on_real_messages() -> None:
    rows = _pairs()
    requests = [f"{r['title']}。{r['detail']}" for r in rows]
    replies = [r["reply"] for r in rows]
    rng = random.Random(0)
    perm = list(range(len(rows)))
    while any(i == j for i, j in enumerate(perm)):
        rng.shuffle(perm)
    true = [rq.relevance(q, a) for q, a in zip(requests, replies, strict=True)]
    shuffled = [rq.relevance(requests[i], replies[perm[i]]) for i in range(len(rows))]
    auc = rq.auc(true, shuffled)
    flagged_true = sum(s < rq.DIFFERENT_QUESTION_THRESHOLD for s in true) / len(true)
    flagged_shuffled = sum(s < rq.DIFFERENT_QUESTION_THRESHOLD for s in shuffled) / len(true)
    print(f"AUC {auc:.3f}; flagged: true {flagged_true:.2f}, shuffled {flagged_shuffled:.2f}")
    assert auc >= 0.85
    # most mismatched replies are flagged, most real ones are not (the real ones flagged are
    # mostly non-answers: a bare date, "already answered")
    assert flagged_shuffled >= 0.75 and flagged_true <= 0.3


def test_completeness_and_timeliness_by_hand() -> None:
    full = "经现场调查，我局已于2019年5月6日责令施工单位在潇楚南路沿线清理，目前已完成整改。"
    assert rq.completeness(full) == (
        1.0,
        dict.fromkeys(("time", "place", "action", "result"), True),
    )
    part, points = rq.completeness("感谢您的来信。")
    assert part == 0.0 and not any(points.values())
    t0 = datetime(2026, 1, 1)
    assert rq.timeliness(t0, t0 + timedelta(days=3), t0 + timedelta(days=5)) == 1.0
    assert rq.timeliness(t0, t0 + timedelta(days=7.5), t0 + timedelta(days=5)) == 0.5
    assert rq.timeliness(t0, t0 + timedelta(days=10)) == 1.0
    assert rq.timeliness(t0, t0 + timedelta(days=100)) == 0.0
    assert rq.timeliness(None, t0) is None
    assert rq.auc([1, 2], [0, 0]) == 1.0 and rq.auc([1], [1]) == 0.5


def _closed_with_reply(client: TestClient, platform: Platform, e: object, reply: str) -> str:
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    chief, handler = login(client, "chief"), login(client, handler_for(e))  # type: ignore[arg-type]
    steps = [
        (chief, "accept", None),
        (chief, "file", None),
        (chief, "dispatch", None),
        (handler, "sign", None),
        (handler, "feedback", {"text": reply}),
        (chief, "close", None),
    ]
    for who, action, body in steps:
        r = client.post(f"/api/v1/cases/{cid}/{action}", json=body, headers=who)
        assert r.status_code == 200, (action, r.text)
    return cid


def test_a_closed_cases_reply_is_scored_and_a_wrong_answer_flagged(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    e = element(platform, check=False, verify=False)
    good = _closed_with_reply(
        client,
        platform,
        e,
        f"经现场调查核实，{e.name}问题已于今日安排人员处理，现已修复完毕，恢复正常。",
    )
    bad = _closed_with_reply(
        client, platform, e, "关于幼儿园教师待遇问题，市教育局正在研究出台政策。"
    )
    sup = login(client, "supervisor")
    g = client.get(f"/api/v1/supervision/cases/{good}/reply-quality", headers=sup).json()
    b = client.get(f"/api/v1/supervision/cases/{bad}/reply-quality", headers=sup).json()
    assert g["relevance"] > b["relevance"] and g["score"] > b["score"]
    assert b["answers_different_question"] and not g["answers_different_question"]
    assert g["timeliness"] == 1.0 and g["points"]["result"]
    # the reporter's view is not a staff view; an open case has no reply to score
    cit = client.get(
        f"/api/v1/supervision/cases/{good}/reply-quality", headers=login(client, "citizen")
    )
    assert cit.status_code in (403, 404)
    open_id = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    assert (
        client.get(f"/api/v1/supervision/cases/{open_id}/reply-quality", headers=sup).status_code
        == 409
    )
    assert (
        client.get("/api/v1/supervision/cases/nope/reply-quality", headers=sup).status_code == 404
    )
    # the provider evaluation reads: per department over a period
    scores = service.reply_quality_scores(
        platform, clock.now() - timedelta(days=1), clock.now() + timedelta(seconds=1)
    )
    mine = scores[e.lead_department]
    assert mine["cases"] == 2 and mine["different_question"] == 1
    assert mine["relevance"] == pytest.approx((g["relevance"] + b["relevance"]) / 2, abs=1e-3)
