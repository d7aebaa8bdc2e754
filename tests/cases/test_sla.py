"""The SLA clock: due times from deadline classes, the sweeper, escalation, idempotence."""

from __future__ import annotations

import multiprocessing as mp
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from civicloop.cases.sla import sweep
from civicloop.cases.store import case_steps, supervision_orders
from civicloop.catalogue.calendar import due_at
from civicloop.catalogue.model import Step
from civicloop.core.clock import FrozenClock
from civicloop.core.settings import Settings
from civicloop.ledger.service import verify
from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body


def _dispatched(client: TestClient, platform: Platform, *, urgent: bool) -> tuple[str, Any]:
    e = element(platform, check=False, urgent=urgent)
    cid = client.post(
        "/api/v1/cases", json=report_body(platform, e), headers=login(client, "citizen")
    ).json()["id"]
    chief = login(client, "chief")
    for action in ("accept", "file", "dispatch"):
        r = client.post(f"/api/v1/cases/{cid}/{action}", headers=chief)
        assert r.status_code == 200, r.text
    return cid, e


def _handle_step(platform: Platform, cid: str) -> Any:
    with platform.db.read() as conn:
        return conn.execute(
            select(case_steps).where(case_steps.c.case_id == cid, case_steps.c.step == "handle")
        ).first()


def test_urgent_runs_on_the_clock_normal_on_working_hours(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    urgent_id, ue = _dispatched(client, platform, urgent=True)
    normal_id, ne = _dispatched(client, platform, urgent=False)
    u, n = _handle_step(platform, urgent_id), _handle_step(platform, normal_id)
    u_class = platform.catalogue.deadline_classes[ue.filing_conditions[0].deadline]
    n_class = platform.catalogue.deadline_classes[ne.filing_conditions[0].deadline]
    assert u.is_urgent and not n.is_urgent
    assert u.due_at == clock.now() + u_class.duration
    assert n.due_at == due_at(clock.now(), n_class, platform.calendar)
    assert n.due_at == platform.calendar.add_working_time(clock.now(), n_class.duration)


def test_overdue_is_flagged_escalated_and_supervised_once(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    cid, e = _dispatched(client, platform, urgent=True)
    chief = login(client, "chief")
    level_before = client.get(f"/api/v1/cases/{cid}", headers=chief).json()["loop_level"]
    assert sweep(platform).overdue_steps == 0
    clock.advance(timedelta(days=30))
    first = sweep(platform)
    assert first.overdue_steps >= 2  # the sign step and the handle step
    again = sweep(platform)
    assert again.overdue_steps == 0  # idempotent
    chief = login(client, "chief")  # the old token expired during the 30 days
    detail = client.get(f"/api/v1/cases/{cid}", headers=chief).json()
    assert detail["is_overdue"] is True
    assert detail["loop_level"] != level_before or level_before == "big"
    assert len(detail["supervision_orders"]) == first.supervision_orders
    assert all(o["source"] == "sweeper" for o in detail["supervision_orders"])
    overdue = client.get("/api/v1/cases?is_overdue=true", headers=chief).json()
    assert cid in {c["id"] for c in overdue["items"]}
    actions = [
        t["action"] for t in client.get(f"/api/v1/cases/{cid}/timeline", headers=chief).json()
    ]
    assert "case.step_overdue" in actions and "supervision.raised" in actions
    # handled late → closed as overdue
    handler = login(client, handler_for(e))
    client.post(f"/api/v1/cases/{cid}/sign", headers=handler)
    client.post(f"/api/v1/cases/{cid}/feedback", json={"text": "已处置"}, headers=handler)
    if e.needs_verification:
        client.post(
            f"/api/v1/cases/{cid}/verify",
            json={"passed": True},
            headers=login(client, "gridworker"),
        )
    closed = client.post(f"/api/v1/cases/{cid}/close", headers=chief).json()
    assert closed["closure_type"] == "overdue"
    assert verify(platform.db).ok


def test_escalation_goes_one_level_up() -> None:
    from civicloop.org.model import LoopLevel

    assert [lvl.up() for lvl in LoopLevel] == [
        LoopLevel.SMALL,
        LoopLevel.MEDIUM,
        LoopLevel.BIG,
        LoopLevel.BIG,
    ]


def _sweep_in_process(data_dir: str, database_url: str, at: Any, barrier: Any, out: Any) -> None:
    p = Platform.open(
        Settings(data_dir=Path(data_dir), database_url=database_url),
        clock=FrozenClock(at),
        migrate_schema=False,
    )
    barrier.wait()
    out.put(sweep(p, batch_size=3).overdue_steps)
    p.close()


def test_two_sweepers_at_once_flag_each_step_once(
    client: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    ids = [_dispatched(client, platform, urgent=True)[0] for _ in range(4)]
    later = clock.now() + timedelta(days=30)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(
            target=_sweep_in_process,
            args=(
                str(platform.settings.data_dir),
                platform.settings.database_url,
                later,
                barrier,
                out,
            ),
        )
        for _ in range(2)
    ]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(60)
    flagged = out.get(timeout=5) + out.get(timeout=5)
    with platform.db.read() as conn:
        open_overdue = conn.execute(
            select(case_steps).where(
                case_steps.c.case_id.in_(ids), case_steps.c.overdue_at.is_not(None)
            )
        ).all()
        orders = conn.execute(
            select(supervision_orders).where(supervision_orders.c.case_id.in_(ids))
        ).all()
    assert flagged == len(open_overdue) == len(orders)
    assert {(r.case_id, r.step) for r in open_overdue} == {
        (i, s) for i in ids for s in ("sign", "handle")
    }


def test_manual_supervision_order(client: TestClient, platform: Platform) -> None:
    cid, _ = _dispatched(client, platform, urgent=False)
    r = client.post(
        f"/api/v1/cases/{cid}/supervise",
        json={"reason": "市民多次来电，请加快处置", "hours": 4},
        headers=login(client, "supervisor"),
    )
    assert r.status_code == 200, r.text
    detail = client.get(f"/api/v1/cases/{cid}", headers=login(client, "supervisor")).json()
    assert detail["supervision_orders"][0]["source"] == "manual"
    assert Step.HANDLE.value in {s["step"] for s in detail["steps"]}
