"""Who may see which case: object-level authorisation in one place.

Answers "not found" both for a missing case and for a case outside the actor's scope
(Zulip's rule), so ids cannot be probed. Scope by role:

* territorial roles (operator, dispatcher, shift chief, grid worker, street admin, supervisor,
  auditor, admin): cases whose grid lies in the actor's territory subtree;
* department handlers: cases on which one of their departments is lead or assisting;
* citizens, enterprises and machine clients: the cases they reported, and the cases their
  duplicate reports were attached to (``case_reporters``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, false, or_, select

from civicloop.cases import store
from civicloop.cases.model import AssignmentRole
from civicloop.cases.policy import Facts
from civicloop.core.errors import NotFoundError
from civicloop.core.rawsql import Raw
from civicloop.org.model import REPORTER_ROLES, TERRITORIAL_ROLES, Actor, Role


def can_see(actor: Actor, row: dict[str, Any]) -> bool:
    if actor.role in TERRITORIAL_ROLES:
        return actor.covers(row["region_path"])
    if actor.role is Role.DEPARTMENT_HANDLER:
        return any(d in row["assigned"] for d in actor.department_ids)
    if actor.role in REPORTER_ROLES:
        return row["reporter_id"] is not None and row["reporter_id"] == actor.id
    return False


def facts_for(actor: Actor, row: dict[str, Any], *, attached: bool = False) -> Facts:
    assigned = row["assigned"]
    roles = {assigned[d] for d in actor.department_ids if d in assigned}
    return Facts(
        is_lead_department=str(AssignmentRole.LEAD) in roles,
        is_assist_department=str(AssignmentRole.ASSIST) in roles,
        is_reporter=attached or (row["reporter_id"] is not None and row["reporter_id"] == actor.id),
    )


def _attached(raw: Raw, actor: Actor, case_id: str) -> bool:
    """Whether the actor's duplicate report was attached to this case."""
    hit = raw.one(
        "SELECT 1 AS x FROM case_reporters WHERE case_id = :c AND reporter_id = :a",
        {"c": case_id, "a": actor.id},
    )
    return hit is not None


def access_case(
    conn: Connection | Raw, actor: Actor, case_id: str, *, for_write: bool
) -> tuple[dict[str, Any], Facts]:
    """Load a case the actor may see: (row as a dict, facts). NotFoundError otherwise.

    ``for_write`` locks the row on PostgreSQL (``FOR UPDATE``) so the version check and the
    update see the same row; SQLite's write lock already serialises writers.
    """
    raw = conn if isinstance(conn, Raw) else Raw(conn)
    row = store.load_case(raw, case_id, for_update=for_write)
    if row is None:
        raise NotFoundError("case not found", code="case.not_found", case_id=case_id)
    if can_see(actor, row):
        return row, facts_for(actor, row)
    if actor.role in REPORTER_ROLES and _attached(raw, actor, case_id):
        return row, facts_for(actor, row, attached=True)
    raise NotFoundError("case not found", code="case.not_found", case_id=case_id)


def scope_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL filter that limits a case list to the actor's scope."""
    c = store.cases.c
    if actor.role in TERRITORIAL_ROLES:
        if not actor.region_path:
            return false()
        return c.region_path.startswith(actor.region_path, autoescape=True)
    if actor.role is Role.DEPARTMENT_HANDLER:
        if not actor.department_ids:
            return false()
        return c.id.in_(
            select(store.case_assignments.c.case_id).where(
                store.case_assignments.c.department_code.in_(sorted(actor.department_ids))
            )
        )
    if actor.role in REPORTER_ROLES:
        r = store.case_reporters.c
        return or_(
            c.reporter_id == actor.id,
            c.id.in_(select(r.case_id).where(r.reporter_id == actor.id)),
        )
    return false()
