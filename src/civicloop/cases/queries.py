"""Reading cases: lists with filters and pagination, one case with its clock, its timeline.

Every query is limited to the actor's scope (:func:`civicloop.cases.access.scope_clause`); a
case outside it reads as missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select

from civicloop.cases import store
from civicloop.cases.access import access_case, scope_clause
from civicloop.cases.model import OPEN_STATUSES, Priority, Status
from civicloop.cases.policy import allowed_actions
from civicloop.ledger import service as ledger
from civicloop.ledger.model import LedgerEntry
from civicloop.org.model import Actor
from civicloop.runtime import Platform


@dataclass(frozen=True)
class CaseFilter:
    status: list[str] | None = None
    element_code: str | None = None
    scene_code: str | None = None
    street_code: str | None = None
    department: str | None = None
    is_overdue: bool | None = None
    is_open: bool | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    channel: str | None = None
    priority: str | None = None
    # "newest" (default) or "priority": high-priority cases first, then newest — the triage
    # queue's order, so a raised case on a later page is not missed.
    sort: str = "newest"


def list_cases(
    p: Platform, actor: Actor, flt: CaseFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of the cases the actor may see, newest first, and the total count."""
    c = store.cases.c
    where = [scope_clause(actor)]
    if flt.status:
        where.append(c.status.in_(flt.status))
    if flt.is_open is not None:
        opened = [str(s) for s in OPEN_STATUSES]
        where.append(c.status.in_(opened) if flt.is_open else c.status.not_in(opened))
    if flt.element_code:
        where.append(c.element_code == flt.element_code)
    if flt.scene_code:
        where.append(c.scene_code == flt.scene_code)
    if flt.street_code:
        where.append(c.street_code == flt.street_code)
    if flt.department:
        a = store.case_assignments
        where.append(c.id.in_(select(a.c.case_id).where(a.c.department_code == flt.department)))
    if flt.is_overdue is not None:
        where.append(c.is_overdue.is_(flt.is_overdue))
    if flt.reported_from:
        where.append(c.reported_at >= flt.reported_from)
    if flt.reported_to:
        where.append(c.reported_at < flt.reported_to)
    if flt.channel:
        where.append(c.channel == flt.channel)
    if flt.priority:
        where.append(c.priority == flt.priority)
    cond = and_(*where)
    order: list[Any] = [c.reported_at.desc(), c.id]
    if flt.sort == "priority":
        order.insert(0, case((c.priority == str(Priority.HIGH), 0), else_=1))
    with p.db.read() as conn:
        total = (
            conn.execute(select(func.count()).select_from(store.cases).where(cond)).scalar() or 0
        )
        rows = conn.execute(
            select(store.cases).where(cond).order_by(*order).limit(limit).offset(offset)
        ).all()
        return [{**r._mapping, "assignments": r.assigned or {}} for r in rows], int(total)


def read_case(p: Platform, actor: Actor, case_id: str) -> dict[str, Any]:
    """One case with its assignments, open and past steps, notes, extension requests,
    supervision orders and the actions the actor may take now."""
    with p.db.read() as conn:
        row, facts = access_case(conn, actor, case_id, for_write=False)
        view = dict(row)
        view["assignments"] = row["assigned"]
        s = store.case_steps
        view["steps"] = [
            dict(r._mapping)
            for r in conn.execute(select(s).where(s.c.case_id == case_id).order_by(s.c.id))
        ]
        n = store.case_notes
        view["notes"] = [
            dict(r._mapping)
            for r in conn.execute(select(n).where(n.c.case_id == case_id).order_by(n.c.id))
        ]
        e = store.extension_requests
        view["extensions"] = [
            dict(r._mapping)
            for r in conn.execute(select(e).where(e.c.case_id == case_id).order_by(e.c.id))
        ]
        o = store.supervision_orders
        view["supervision_orders"] = [
            dict(r._mapping)
            for r in conn.execute(select(o).where(o.c.case_id == case_id).order_by(o.c.id))
        ]
        view["allowed_actions"] = allowed_actions(Status(row["status"]), actor.role, facts)
        return view


def case_timeline(p: Platform, actor: Actor, case_id: str) -> list[LedgerEntry]:
    """Every ledger entry about the case, oldest first (visible to whoever may see the case)."""
    with p.db.read() as conn:
        access_case(conn, actor, case_id, for_write=False)
    return ledger.timeline(p.db, "case", case_id)
