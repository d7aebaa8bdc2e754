"""A case's priority, asked of the risk context when the case is reported and when it is filed,
and again for every case waiting for dispatch when risk bands move (:func:`reassess_open`, run
by the risk consumer), so a grid that just became high-risk moves its waiting cases up.

Why here and not in risk: priority is a fact of the case (stored on its row, shown in the
triage queue, traced in the ledger); risk only knows which subjects are in a raised band
(``risk.priority.case_priority``). The import is lazy because risk reads cases (its data loop)
and a report must never fail because the risk tables cannot be read: that is logged and the
case keeps normal priority.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import SQLAlchemyError

from civicloop.cases import store
from civicloop.cases.model import Priority, Status
from civicloop.core.errors import InputError
from civicloop.core.rawsql import Raw
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform

log = logging.getLogger(__name__)


def assess(p: Platform, view: Mapping[str, Any]) -> tuple[Priority, str | None]:
    """``(priority, reason)`` for a case-like mapping (grid_code, address, title, description)."""
    from civicloop.risk.priority import case_priority

    try:
        hint = case_priority(p, view)
    except (SQLAlchemyError, InputError) as exc:  # a broken scorecard file or an unreadable table
        log.warning("risk priority unavailable (%s); the case keeps normal priority", type(exc))
        return Priority.NORMAL, None
    if hint is None:
        return Priority.NORMAL, None
    return Priority.HIGH, str(hint["reason"])[:200]


# Cases still waiting for the operations centre (not yet with a department): where a changed
# priority changes what a dispatcher does next.
WAITING = (Status.REPORTED, Status.CHECKING, Status.ACCEPTED, Status.FILED, Status.RETURNED)


MAX_TEXT_TERMS = 200  # more credit codes than this: assess every waiting case instead


def reassess_open(
    p: Platform,
    *,
    grids: Collection[str] | None = None,
    texts: Collection[str] | None = None,
    limit: int = 50_000,
    request_id: str = "risk-priority",
) -> int:
    """Assess again the cases waiting for dispatch (after risk bands moved) and store the
    changes, each a ``case.priority_changed`` ledger entry. Returns how many changed.

    With ``grids`` or ``texts`` only the cases that may be about the subjects that moved are
    assessed: those in the grids, those whose text names one of the texts (credit codes), and
    those already high (their subject may have left its band); without them, every waiting case.

    Assessed outside the write transaction; a case someone changed meanwhile (version moved)
    is left for its next filing, which assesses again.
    """
    c = store.cases.c
    where: list[ColumnElement[bool]] = [c.status.in_([str(s) for s in WAITING])]
    if (grids is not None or texts is not None) and len(texts or ()) <= MAX_TEXT_TERMS:
        where.append(
            or_(
                c.priority == str(Priority.HIGH),
                c.grid_code.in_(sorted(grids or [])),
                *[c.description.contains(t, autoescape=True) for t in sorted(texts or [])],
            )
        )
    with p.db.read() as conn:
        rows = conn.execute(
            select(
                c.id,
                c.version,
                c.grid_code,
                c.address,
                c.title,
                c.description,
                c.priority,
                c.priority_reason,
            )
            .where(*where)
            .order_by(c.reported_at.desc())
            .limit(limit)
        ).all()
    changes = []
    for r in rows:
        prio, reason = assess(p, dict(r._mapping))
        if str(prio) != r.priority or reason != r.priority_reason:
            changes.append((r, str(prio), reason))
    if not changes:
        return 0
    now = p.clock.now()
    changed = 0
    with p.db.write() as conn:
        raw = Raw(conn)
        actions = []
        for r, prio_text, reason in changes:
            values = {"priority": prio_text, "priority_reason": reason, "updated_at": now}
            if not store.update_case(raw, r.id, r.version, values):
                continue
            changed += 1
            actions.append(
                Action(
                    "case.priority_changed",
                    "case",
                    r.id,
                    before={"priority": r.priority, "priority_reason": r.priority_reason},
                    after={"priority": prio_text, "priority_reason": reason},
                )
            )
        if actions:
            record(conn, SYSTEM_ACTOR, actions, at=now, request_id=request_id)
    return changed
