"""Supervision use cases: follow supervision orders to their end, the cross-department status
board, time spent per step, and reply quality.

Orders are raised by the case loop; here a lead department responds to one, a supervisor closes
or escalates it, and :func:`escalate_overdue_orders` (run beside the SLA sweeper) moves every
order whose own deadline passed one loop level up with a new deadline. Each of these writes one
``supervision_order_events`` row and its ledger entry in one transaction.

Reads are scoped by the case context's own filter (``cases.access.scope_clause``): a department
sees the orders and board rows of its cases, supervisors and the operations centre their whole
territory.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from civicloop.cases.access import scope_clause
from civicloop.cases.model import Channel
from civicloop.core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from civicloop.ledger.service import Action, record
from civicloop.org import service as org
from civicloop.org.model import REPORTER_ROLES, SYSTEM_ACTOR, Actor, Role
from civicloop.runtime import Platform
from civicloop.supervision import reply_quality as rq
from civicloop.supervision import store
from civicloop.supervision.model import (
    SUPERVISOR_ROLES,
    EventKind,
    OrderState,
    OrderStatus,
    escalation,
    order_state,
    visible_departments,
    wait_visible,
)

# Channels through which citizens ask (their cases get a reply worth scoring).
CITIZEN_CHANNELS = [str(Channel.HOTLINE), str(Channel.APP), str(Channel.WEB), str(Channel.OPEN311)]
MAX_TEXT = 2000


def _staff_only(actor: Actor) -> None:
    """Citizens follow their case through tracking; orders and boards are for staff."""
    if actor.role in REPORTER_ROLES:
        raise ForbiddenError("supervision views are for staff; follow your case by its code")


def _view(row: dict[str, Any], state: OrderState, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "case_id": row["case_id"],
        "case_number": row["number"],
        "case_title": row["title"],
        "case_status": row["case_status"],
        "lead_department": row["lead_department"],
        "reason": row["reason"],
        "source": row["source"],
        "raised_by": row["raised_by"],
        "raised_at": row["raised_at"],
        "status": str(state.status),
        "loop_level": state.level,
        "due_at": state.due_at,
        "escalations": state.escalations,
        "response": state.response,
        "responded_at": state.responded_at,
        "closed_at": state.closed_at,
        "events": [
            {k: e[k] for k in ("kind", "level", "due_at", "note", "actor_id", "at")} for e in events
        ],
    }


def _views(p: Platform, conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = p.clock.now()
    events = store.events_for(conn, [int(r["id"]) for r in rows])
    out = []
    for r in rows:
        evs = events[int(r["id"])]
        out.append(_view(r, order_state(r, evs, r["case_status"], now), evs))
    return out


def list_orders(
    p: Platform,
    actor: Actor,
    *,
    status: str | None = None,
    department: str | None = None,
    case_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Supervision orders the actor may see, newest first, with their derived status."""
    _staff_only(actor)
    if status is not None and status not in set(OrderStatus):
        raise InputError(
            f"status must be one of {', '.join(OrderStatus)}", field="status", rule="enum"
        )
    with p.db.read() as conn:
        rows = store.read_orders(
            conn,
            scope_clause(actor),
            department=department,
            case_id=case_id,
            limit=limit if status is None else 10_000,
            offset=offset if status is None else 0,
        )
        views = _views(p, conn, rows)
    if status is not None:
        views = [v for v in views if v["status"] == status][offset : offset + limit]
    return views


def read_order(p: Platform, actor: Actor, order_id: int) -> dict[str, Any]:
    """One order; NotFoundError when missing or outside the actor's scope."""
    _staff_only(actor)
    with p.db.read() as conn:
        rows = store.read_orders(conn, scope_clause(actor), order_id=order_id)
        if not rows:
            raise NotFoundError("supervision order not found", code="supervision.not_found")
        return _views(p, conn, rows)[0]


def _act(
    p: Platform,
    actor: Actor,
    order_id: int,
    kind: EventKind,
    note: str,
    request_id: str,
    check: Any,
) -> dict[str, Any]:
    _staff_only(actor)
    now = p.clock.now()
    with p.db.write() as conn:
        rows = store.read_orders(conn, scope_clause(actor), order_id=order_id)
        if not rows:
            raise NotFoundError("supervision order not found", code="supervision.not_found")
        row = rows[0]
        events = store.events_for(conn, [order_id])[order_id]
        state = order_state(row, events, row["case_status"], now)
        if not state.is_open:
            raise ConflictError(
                f"the order is {state.status}; nothing more can be done with it",
                code="supervision.not_open",
            )
        check(row, state)
        level, due = escalation(state, now) if kind is EventKind.ESCALATED else (None, None)
        store.insert_event(
            conn,
            {
                "order_id": order_id,
                "case_id": row["case_id"],
                "kind": str(kind),
                "level": level,
                "due_at": due,
                "note": note,
                "actor_id": actor.id,
                "at": now,
            },
        )
        after: dict[str, Any] = {"order_id": order_id, "note": note[:200]}
        if level is not None:
            after.update(level=level, due_at=due)
        record(
            conn,
            actor,
            [Action(f"supervision.{kind}", "case", row["case_id"], after=after)],
            at=now,
            request_id=request_id,
        )
        rows = store.read_orders(conn, scope_clause(actor), order_id=order_id)
        return _views(p, conn, rows)[0]


def _text(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{field} must not be empty", field=field, rule="required")
    if len(text) > MAX_TEXT:
        raise InputError(f"{field} is longer than {MAX_TEXT} characters", field=field, rule="max")
    return text


def respond_to_order(
    p: Platform, actor: Actor, order_id: int, *, text: str, request_id: str = "-"
) -> dict[str, Any]:
    """反馈: a department on the case answers the order (what it did, by when it will finish).
    ForbiddenError for anyone else; ConflictError once the order is closed or resolved."""
    body = _text(text, "text")

    def check(row: dict[str, Any], _: OrderState) -> None:
        assigned = row["assigned"] or {}
        if actor.role is Role.DEPARTMENT_HANDLER and any(
            d in assigned for d in actor.department_ids
        ):
            return
        if actor.role in SUPERVISOR_ROLES:
            return
        raise ForbiddenError("only a department on the case answers a supervision order")

    return _act(p, actor, order_id, EventKind.RESPONDED, body, request_id, check)


def _supervisor_only(row: dict[str, Any], state: OrderState, actor: Actor) -> None:
    if actor.role not in SUPERVISOR_ROLES:
        raise ForbiddenError("only a supervisor closes or escalates a supervision order")


def close_order(
    p: Platform, actor: Actor, order_id: int, *, note: str, request_id: str = "-"
) -> dict[str, Any]:
    """销号: a supervisor closes an order (e.g. satisfied with the response)."""
    body = _text(note, "note")
    return _act(
        p,
        actor,
        order_id,
        EventKind.CLOSED,
        body,
        request_id,
        lambda r, s: _supervisor_only(r, s, actor),
    )


def escalate_order(
    p: Platform, actor: Actor, order_id: int, *, reason: str, request_id: str = "-"
) -> dict[str, Any]:
    """升级督办: a supervisor moves an order one loop level up with a new deadline."""
    body = _text(reason, "reason")
    return _act(
        p,
        actor,
        order_id,
        EventKind.ESCALATED,
        body,
        request_id,
        lambda r, s: _supervisor_only(r, s, actor),
    )


def escalate_overdue_orders(p: Platform, *, request_id: str = "supervision-sweep") -> int:
    """Escalate every open order whose own deadline has passed (idempotent: the new deadline
    lies ahead). Returns how many were escalated. Run it beside the SLA sweeper."""
    now = p.clock.now()
    with p.db.read() as conn:
        rows = store.read_orders(
            conn, scope_clause(SYSTEM_ACTOR), open_cases_only=True, limit=100_000
        )
        events = store.events_for(conn, [int(r["id"]) for r in rows])
    due = [
        int(r["id"])
        for r in rows
        if order_state(r, events[int(r["id"])], r["case_status"], now).status is OrderStatus.OVERDUE
    ]
    done = 0
    for order_id in due:
        try:
            _act(
                p,
                SYSTEM_ACTOR,
                order_id,
                EventKind.ESCALATED,
                "own deadline passed",
                request_id,
                lambda r, s: None,
            )
            done += 1
        except ConflictError:  # closed or resolved meanwhile
            continue
    return done


# -- the status board -------------------------------------------------------------------------

# Where an open case sits, and whom its lead department waits on there.
_WAITS = {
    "dispatched": "assist",
    "handling": "assist",
    "verifying": "verification",
    "returned": "dispatch",
    "filed": "dispatch",
    "verified": "closure",
}
OPS_CENTRE = "@operations_centre"


def status_board(p: Platform, actor: Actor) -> dict[str, Any]:
    """Each department's open, overdue, returned and supervised counts, and who waits on whom.

    A wait is (waiter, waits_on, kind, cases, oldest_since): a lead department waits on its
    assisting departments while handling (``assist``), on the grid workers of the street during
    verification (``verification``, waits_on ``@grid_workers:<street>``), on the operations
    centre for re-dispatch or closure; the supervisor (``@supervisor``) waits on a department
    with open supervision orders."""
    _staff_only(actor)
    now = p.clock.now()
    scope = scope_clause(actor)
    with p.db.read() as conn:
        facts = store.read_open_case_facts(conn, scope)
        late = store.read_overdue_open_step_case_ids(conn, scope, now)
        orders = _views(
            p, conn, store.read_orders(conn, scope, open_cases_only=True, limit=100_000)
        )
        names = {d["code"]: d["name"] for d in org.list_departments(conn)}
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "open": 0,
            "assisting": 0,
            "overdue": 0,
            "returned": 0,
            "supervision_open": 0,
            "supervision_overdue": 0,
        }
    )
    waits: dict[tuple[str, str, str], dict[str, Any]] = {}

    def wait(waiter: str, on: str, kind: str, since: datetime) -> None:
        w = waits.setdefault(
            (waiter, on, kind),
            {"waiter": waiter, "waits_on": on, "kind": kind, "cases": 0, "oldest_since": since},
        )
        w["cases"] += 1
        w["oldest_since"] = min(w["oldest_since"], since)

    for f in facts:
        assigned: dict[str, str] = f["assigned"] or {}
        lead = f["lead_department"]
        for dept, role in assigned.items():
            rows[dept]["open" if role == "lead" else "assisting"] += 1
        if lead:
            row = rows[lead]
            if f["is_overdue"] or f["id"] in late:
                row["overdue"] += 1
            if f["status"] == "returned":
                row["returned"] += 1
            kind = _WAITS.get(f["status"])
            since = f["updated_at"]
            if kind == "assist":
                for dept, role in assigned.items():
                    if role == "assist":
                        wait(lead, dept, "assist", since)
            elif kind == "verification":
                wait(lead, f"@grid_workers:{f['street_code']}", kind, since)
            elif kind in ("dispatch", "closure"):
                wait(lead, OPS_CENTRE, kind, since)
    for o in orders:
        lead = o["lead_department"]
        if lead and o["status"] in ("open", "responded", "overdue"):
            rows[lead]["supervision_open"] += 1
            if o["status"] == "overdue":
                rows[lead]["supervision_overdue"] += 1
            wait("@supervisor", lead, "supervision", o["raised_at"])
    shown = visible_departments(actor, set(rows))
    return {
        "at": now,
        "departments": [
            {"department": d, "name": names.get(d, d), **rows[d]} for d in sorted(shown)
        ],
        "waits": sorted(
            (w for w in waits.values() if wait_visible(actor, w["waiter"], w["waits_on"])),
            key=lambda w: (-w["cases"], w["waiter"], w["waits_on"]),
        ),
    }


def step_times(
    p: Platform, actor: Actor, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Time spent in each step per (lead) department, over steps completed in [since, until)
    (the last 30 days by default): count, mean, median and p90 hours, and the overdue share."""
    _staff_only(actor)
    until = until or p.clock.now()
    since = since or until - timedelta(days=30)
    if since >= until:
        raise InputError("since must be before until", field="since", rule="order")
    with p.db.read() as conn:
        steps = store.read_completed_steps(conn, scope_clause(actor), since, until)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        groups[(s["lead_department"] or "", s["step"])].append(s)
    allowed = visible_departments(actor, {d for d, _ in groups})
    out = []
    for (dept, step), items in sorted(groups.items()):
        if dept not in allowed:
            continue
        hours = sorted((i["completed_at"] - i["started_at"]).total_seconds() / 3600 for i in items)
        late = sum(1 for i in items if i["overdue_at"] or i["completed_at"] > i["due_at"])
        out.append(
            {
                "department": dept or None,
                "step": step,
                "steps": len(items),
                "mean_hours": round(statistics.fmean(hours), 2),
                "median_hours": round(statistics.median(hours), 2),
                "p90_hours": round(hours[min(len(hours) - 1, int(len(hours) * 0.9))], 2),
                "overdue_share": round(late / len(items), 3),
            }
        )
    return out


# -- reply quality ----------------------------------------------------------------------------


def _score(case: dict[str, Any]) -> rq.ReplyScore:
    return rq.score_reply(
        f"{case['title']}。{case['description']}",
        case["reply"] or "",
        asked_at=case["reported_at"],
        replied_at=case["replied_at"] or case["closed_at"],
        due_at=case["handle_due_at"],
    )


def reply_quality_for_case(p: Platform, actor: Actor, case_id: str) -> dict[str, Any]:
    """The reply-quality score of one closed case the actor may see."""
    _staff_only(actor)
    now = p.clock.now()
    with p.db.read() as conn:
        found = store.read_closed_replies(
            conn, scope_clause(actor), now, now, CITIZEN_CHANNELS, case_id=case_id
        )
    if not found:
        raise NotFoundError("case not found", code="case.not_found")
    case = found[0]
    if case["closed_at"] is None or not case["reply"]:
        raise ConflictError(
            "the case has no department reply to score yet", code="supervision.no_reply"
        )
    return {
        "case_id": case["id"],
        "case_number": case["number"],
        "lead_department": case["lead_department"],
        **_score(case).as_dict(),
    }


def reply_quality_scores(
    p: Platform, since: datetime, until: datetime, *, actor: Actor = SYSTEM_ACTOR
) -> dict[str, dict[str, float | int | None]]:
    """Per lead department, over citizen cases closed in [since, until): cases scored, mean
    relevance, completeness, timeliness and overall score, and how many answered a different
    question. The provider evaluation reads as a qualitative input."""
    with p.db.read() as conn:
        cases = store.read_closed_replies(conn, scope_clause(actor), since, until, CITIZEN_CHANNELS)
    groups: dict[str, list[rq.ReplyScore]] = defaultdict(list)
    for case in cases:
        if case["reply"] and case["lead_department"]:
            groups[case["lead_department"]].append(_score(case))
    out: dict[str, dict[str, float | int | None]] = {}
    for dept, scores in sorted(groups.items()):
        timely = [s.timeliness for s in scores if s.timeliness is not None]
        out[dept] = {
            "cases": len(scores),
            "relevance": round(statistics.fmean(s.relevance for s in scores), 4),
            "completeness": round(statistics.fmean(s.completeness for s in scores), 4),
            "timeliness": round(statistics.fmean(timely), 4) if timely else None,
            "score": round(statistics.fmean(s.score for s in scores), 4),
            "different_question": sum(1 for s in scores if s.answers_different_question),
        }
    return out


# -- transparency: proofs for whoever holds a tracking code -----------------------------------


def tracked_case_proofs(p: Platform, tracking_code: str) -> dict[str, Any]:
    """For the case a tracking code follows: every ledger entry's hash with its inclusion proof
    in the latest signed checkpoint (hash-only: no content, no actor), so the citizen can check
    with ``scripts/verify_inclusion.py`` that the record of their case was never rewritten.
    Entries newer than the checkpoint are listed as pending. NotFoundError for an unknown code
    (or no checkpoint yet)."""
    from civicloop.ledger import checkpoints as cps
    from civicloop.ledger.service import timeline

    code = (tracking_code or "").strip().upper()
    with p.db.read() as conn:
        case_id = store.read_case_id_by_tracking_code(conn, code) if len(code) <= 16 else None
    if case_id is None:
        raise NotFoundError("no case with this tracking code", code="case.not_found")
    cp = cps.read_checkpoint(p.db, None)
    entries = []
    for e in timeline(p.db, "case", case_id):
        if e.seq > cp.tree_size:
            entries.append({"seq": e.seq, "at": e.at, "action": e.action, "pending": True})
            continue
        proof = cps.prove_inclusion(p.db, e.seq, cp.id, with_entry=False)
        proof.pop("checkpoint")
        entries.append({"at": e.at, "action": e.action, "pending": False, **proof})
    return {"checkpoint": cp.as_dict(), "entries": entries}
