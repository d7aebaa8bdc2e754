"""The SLA clock of one case: timed steps open when a status is entered and complete when left.

A step's due time is computed when it opens — from the element's deadline class for that step
(the filing condition's class for ``handle``) and the work calendar — and stored, so the
sweeper and the console read deadlines instead of recomputing them.
"""

from __future__ import annotations

from datetime import datetime

from civicloop.cases.model import STEP_FOR_STATUS, Status
from civicloop.catalogue.calendar import due_at
from civicloop.catalogue.model import Element, Step
from civicloop.core.rawsql import Raw
from civicloop.runtime import Platform

_INSERT_STEP = (
    "INSERT INTO case_steps (case_id, step, deadline_class, is_urgent, started_at, due_at)"
    " VALUES (:case_id, :step, :deadline_class, :is_urgent, :started_at, :due_at)"
)
_COMPLETE_ALL = (
    "UPDATE case_steps SET completed_at = :now, completed_by = :actor"
    " WHERE case_id = :case_id AND completed_at IS NULL"
)
_COMPLETE_BUT_HANDLE = _COMPLETE_ALL + " AND step <> 'handle'"


def open_step(
    p: Platform,
    raw: Raw,
    case_id: str,
    element: Element,
    step: Step,
    start: datetime,
    *,
    filing_condition: str | None = None,
) -> datetime:
    deadline = p.catalogue.deadline(element, step, filing_condition)
    due = due_at(start, deadline, p.calendar)
    raw.run(
        _INSERT_STEP,
        {
            "case_id": case_id,
            "step": str(step),
            "deadline_class": deadline.code,
            "is_urgent": deadline.is_urgent,
            "started_at": raw.ts(start),
            "due_at": raw.ts(due),
        },
    )
    return due


def move_clock(
    p: Platform,
    raw: Raw,
    row: dict[str, object],
    element: Element,
    new_status: Status,
    *,
    actor_id: str,
    now: datetime,
    keep_handle_step: bool,
    open_handle_step: bool,
) -> dict[str, object]:
    """Complete the steps the case leaves and open the step of ``new_status``.

    Returns the case columns that change with the clock (``handle_due_at``, ``is_overdue``).
    """
    case_id = str(row["id"])
    raw.run(
        _COMPLETE_BUT_HANDLE if keep_handle_step else _COMPLETE_ALL,
        {"now": raw.ts(now), "actor": actor_id, "case_id": case_id},
    )
    filing_value = row.get("filing_condition")
    filing = str(filing_value) if filing_value is not None else None
    step = STEP_FOR_STATUS.get(new_status)
    if step is not None:
        open_step(p, raw, case_id, element, step, now, filing_condition=filing)
    changed: dict[str, object] = {}
    if open_handle_step:
        # 处置时限 counts from dispatch (or rework), not from the department's signature
        changed["handle_due_at"] = open_step(
            p, raw, case_id, element, Step.HANDLE, now, filing_condition=filing
        )
    if row.get("is_overdue"):
        still = raw.one(
            "SELECT 1 AS x FROM case_steps WHERE case_id = :id AND completed_at IS NULL"
            " AND overdue_at IS NOT NULL",
            {"id": case_id},
        )
        if still is None:
            changed["is_overdue"] = False
    return changed
