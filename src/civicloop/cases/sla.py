"""The SLA sweeper: overdue steps are flagged, escalated one loop level up and supervised.

Everything the sweeper needs is in ``case_steps`` (due times are stored when a step opens),
so it is correct after a restart. It is idempotent — a step is flagged once, recorded in
``overdue_at`` — and safe to run in several processes at once: on PostgreSQL each batch locks
the *cases* of its steps with ``FOR UPDATE OF cases SKIP LOCKED``, so two sweepers never take
the same case (nor wait on each other while holding the ledger's append lock); on SQLite the
write lock serialises them and the ``overdue_at IS NULL`` condition makes the second a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from civicloop.cases import store
from civicloop.cases.model import Status
from civicloop.cases.service import raise_supervision
from civicloop.core.rawsql import Raw
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import SYSTEM_ACTOR, LoopLevel
from civicloop.runtime import Platform

SUPERVISION_HOURS = 24


@dataclass(frozen=True)
class SweepResult:
    overdue_steps: int
    escalated_cases: int
    supervision_orders: int


def sweep(p: Platform, *, batch_size: int = 500, request_id: str = "sweep") -> SweepResult:
    """Flag every step due before now; returns what was done (zero when nothing was due)."""
    total = SweepResult(0, 0, 0)
    while True:
        result = _sweep_batch(p, batch_size, request_id)
        total = SweepResult(
            total.overdue_steps + result.overdue_steps,
            total.escalated_cases + result.escalated_cases,
            total.supervision_orders + result.supervision_orders,
        )
        if result.overdue_steps < batch_size:
            return total


def _sweep_batch(p: Platform, batch_size: int, request_id: str) -> SweepResult:
    now = p.clock.now()
    steps, cases = store.case_steps, store.cases
    escalated = orders = 0
    with p.db.write() as conn:
        q = (
            select(steps.c.id, steps.c.case_id, steps.c.step, steps.c.due_at)
            .join(cases, cases.c.id == steps.c.case_id)
            .where(
                steps.c.completed_at.is_(None), steps.c.overdue_at.is_(None), steps.c.due_at < now
            )
            .order_by(steps.c.due_at)
            .limit(batch_size)
        )
        if conn.dialect.name == "postgresql":
            # Lock the *cases* (not only the steps): all steps of one case go to one sweeper, so
            # two sweepers never wait on each other's rows while holding the ledger lock.
            q = q.with_for_update(skip_locked=True, of=cases)
        due = conn.execute(q).all()
        for step in due:
            case = conn.execute(select(cases).where(cases.c.id == step.case_id)).first()
            conn.execute(update(steps).where(steps.c.id == step.id).values(overdue_at=now))
            if case is None or case.status in (Status.VOIDED, Status.MERGED):
                continue
            level = LoopLevel(case.loop_level)
            new_level = level.up()
            conn.execute(
                update(cases)
                .where(cases.c.id == case.id)
                .values(
                    is_overdue=True,
                    loop_level=str(new_level),
                    version=case.version + 1,
                    updated_at=now,
                )
            )
            # the supervision order is raised at the new (higher) level
            raise_supervision(
                conn,
                case.id,
                str(new_level),
                reason=f"step {step.step} overdue since {step.due_at.isoformat()}",
                source="sweeper",
                raised_by=SYSTEM_ACTOR.id,
                at=now,
                due=now + timedelta(hours=SUPERVISION_HOURS),
            )
            orders += 1
            actions = [
                LedgerAction(
                    "case.step_overdue",
                    "case",
                    case.id,
                    after={"step": step.step, "due_at": step.due_at},
                )
            ]
            if new_level is not level:
                escalated += 1
                actions.append(
                    LedgerAction(
                        "case.escalated",
                        "case",
                        case.id,
                        before={"loop_level": str(level)},
                        after={"loop_level": str(new_level)},
                    )
                )
            actions.append(
                LedgerAction(
                    "supervision.raised",
                    "case",
                    case.id,
                    after={"source": "sweeper", "step": step.step},
                )
            )
            record(conn, SYSTEM_ACTOR, actions, at=now, request_id=request_id)
    return SweepResult(len(due), escalated, orders)


def tighten_open_steps(
    raw: Raw,
    case_id: str,
    new_due: Callable[[dict[str, Any]], datetime | None],
) -> list[dict[str, Any]]:
    """Shorten the clock of a case's open steps, inside the caller's transaction.

    The SLA clock's own verb for callers that tighten deadlines (emergency mode): ``new_due``
    sees each open step (``step``, ``deadline_class``, ``started_at``, ``due_at`` as
    datetimes) and returns a new due time or None. Only earlier due times are written (a clock
    is never loosened here); the HANDLE step's due time is mirrored on the case row. Returns
    the changes as ``{"step", "from", "to"}`` for the caller's ledger entry.
    """
    out: list[dict[str, Any]] = []
    steps = raw.all(
        "SELECT id, step, deadline_class, started_at, due_at FROM case_steps"
        " WHERE case_id = :id AND completed_at IS NULL",
        {"id": case_id},
    )
    for s in steps:
        started, due = raw.parse_ts(s["started_at"]), raw.parse_ts(s["due_at"])
        if started is None or due is None:
            continue
        view = {**s, "started_at": started, "due_at": due}
        target = new_due(view)
        if target is None or target >= due:
            continue
        raw.run(
            "UPDATE case_steps SET due_at = :due WHERE id = :id",
            {"due": raw.ts(target), "id": s["id"]},
        )
        if s["step"] == "handle":
            raw.run(
                "UPDATE cases SET handle_due_at = :due WHERE id = :id",
                {"due": raw.ts(target), "id": case_id},
            )
        out.append({"step": s["step"], "from": due.isoformat(), "to": target.isoformat()})
    return out
