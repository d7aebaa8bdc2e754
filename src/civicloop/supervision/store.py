"""Tables of the supervision context, and its read-only window onto the case tables.

Supervision orders themselves are raised by the case loop (``supervision_orders``, written by
``cases.service.raise_supervision`` from the SLA sweeper and ``POST /cases/{id}/supervise``).
What happens to an order afterwards — the department's response, escalation when the order's
own deadline passes, closing — is this context's and lives in ``supervision_order_events``
(append-only), so the case tables are never written from here. An order's current level, due
time and status are derived from its row plus its events (see :mod:`supervision.model`).

Reading the board needs aggregates over cases, assignments, steps and orders; doing them through
per-case service calls would be O(cases) round trips, so this module reads those tables
*read-only* through the few documented query functions below (``read_*``/``count_*``). Nothing
in this context writes a table it does not own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
)

from civicloop.cases import store as cs
from civicloop.core.db import UTCDateTime, metadata
from civicloop.supervision.model import CASE_DONE

supervision_order_events = Table(
    "supervision_order_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, nullable=False),
    Column("case_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # responded | escalated | closed
    Column("level", String(8), nullable=True),  # the order's loop level after an escalation
    Column("due_at", UTCDateTime(), nullable=True),  # the order's new deadline (escalation)
    Column("note", Text, nullable=False, default=""),
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_supervision_order_events_order_id", supervision_order_events.c.order_id)


# -- events of this context -------------------------------------------------------------------


def insert_event(conn: Connection, row: dict[str, Any]) -> int:
    pk = conn.execute(supervision_order_events.insert().values(**row)).inserted_primary_key
    return int(pk[0]) if pk else 0


def events_for(conn: Connection, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each order's events, oldest first."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in order_ids}
    e = supervision_order_events.c
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start : start + 500]
        for r in conn.execute(
            select(supervision_order_events).where(e.order_id.in_(chunk)).order_by(e.id)
        ):
            out[int(r.order_id)].append(dict(r._mapping))
    return out


# -- the read-only window onto the case tables ------------------------------------------------
# Every function below only SELECTs, scoped by cases.access.scope_clause (the case context's own
# authorisation filter), so a supervision view never shows a case its reader may not see.

_ORDER_COLUMNS = (
    cs.supervision_orders,
    cs.cases.c.number,
    cs.cases.c.title,
    cs.cases.c.status.label("case_status"),
    cs.cases.c.lead_department,
    cs.cases.c.assigned,
    cs.cases.c.street_code,
)


def read_orders(
    conn: Connection,
    scope: ColumnElement[bool],
    *,
    order_id: int | None = None,
    case_id: str | None = None,
    department: str | None = None,
    open_cases_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Supervision orders joined with their case's headline, newest first."""
    o, c = cs.supervision_orders.c, cs.cases.c
    q = select(*_ORDER_COLUMNS).join(cs.cases, cs.cases.c.id == o.case_id).where(scope)
    if order_id is not None:
        q = q.where(o.id == order_id)
    if case_id is not None:
        q = q.where(o.case_id == case_id)
    if department is not None:
        a = cs.case_assignments.c
        q = q.where(c.id.in_(select(a.case_id).where(a.department_code == department)))
    if open_cases_only:
        q = q.where(c.status.not_in(sorted(CASE_DONE)), o.status == "open")
    q = q.order_by(o.id.desc()).limit(limit).offset(offset)
    return [dict(r._mapping) for r in conn.execute(q)]


def read_open_case_facts(conn: Connection, scope: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Every open case in scope: status, assignments, overdue flag, street, since when."""
    c = cs.cases.c
    q = select(
        c.id, c.status, c.assigned, c.lead_department, c.is_overdue, c.street_code, c.updated_at
    ).where(scope, c.status.not_in(sorted(CASE_DONE)))
    return [dict(r._mapping) for r in conn.execute(q)]


def read_overdue_open_step_case_ids(
    conn: Connection, scope: ColumnElement[bool], now: datetime
) -> set[str]:
    """Cases in scope with an open step already past its due time."""
    s, c = cs.case_steps.c, cs.cases.c
    q = (
        select(s.case_id)
        .join(cs.cases, c.id == s.case_id)
        .where(scope, s.completed_at.is_(None), s.due_at < now)
        .distinct()
    )
    return {r[0] for r in conn.execute(q)}


def read_completed_steps(
    conn: Connection, scope: ColumnElement[bool], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Steps completed in [since, until) with their case's lead department."""
    s, c = cs.case_steps.c, cs.cases.c
    q = (
        select(s.step, s.started_at, s.completed_at, s.due_at, s.overdue_at, c.lead_department)
        .join(cs.cases, c.id == s.case_id)
        .where(scope, s.completed_at.is_not(None), s.completed_at >= since, s.completed_at < until)
    )
    return [dict(r._mapping) for r in conn.execute(q)]


def read_closed_replies(
    conn: Connection,
    scope: ColumnElement[bool],
    since: datetime,
    until: datetime,
    channels: list[str],
    *,
    case_id: str | None = None,
) -> list[dict[str, Any]]:
    """Closed cases (closed in [since, until), or one case by id) from the given channels, with
    the text of their last feedback note (the department's reply) and when it was given."""
    c, n = cs.cases.c, cs.case_notes.c
    q = select(
        c.id,
        c.number,
        c.title,
        c.description,
        c.lead_department,
        c.reported_at,
        c.closed_at,
        c.handle_due_at,
        c.channel,
    ).where(scope)
    if case_id is not None:
        q = q.where(c.id == case_id)
    else:
        q = q.where(
            c.closed_at.is_not(None),
            c.closed_at >= since,
            c.closed_at < until,
            c.channel.in_(channels),
        )
    cases = [dict(r._mapping) for r in conn.execute(q)]
    ids = [x["id"] for x in cases]
    last: dict[str, tuple[str, datetime]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in conn.execute(
            select(n.case_id, n.text, n.at)
            .where(n.case_id.in_(chunk), n.kind == "feedback")
            .order_by(n.id)
        ):
            last[r.case_id] = (r.text, r.at)
    for x in cases:
        x["reply"], x["replied_at"] = last.get(x["id"], ("", None))
    return cases


def read_case_id_by_tracking_code(conn: Connection, code: str) -> str | None:
    """The case a tracking code follows (a duplicate reporter's code follows its master case),
    read the way ``cases.tracking.read_by_tracking_code`` reads it."""
    c, r = cs.cases.c, cs.case_reporters.c
    found = conn.execute(select(c.id).where(c.tracking_code == code)).scalar()
    if found is None:
        found = conn.execute(select(r.case_id).where(r.tracking_code == code)).scalar()
    return str(found) if found is not None else None
