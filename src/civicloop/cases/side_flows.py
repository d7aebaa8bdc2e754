"""The loop's side flows: notes and evidence, extension requests, reopening, merging a
duplicate into its master case, and supervision orders (督办).

Each is one transaction through :func:`civicloop.cases.transition.run`, like the main verbs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from civicloop.cases import store
from civicloop.cases.access import access_case
from civicloop.cases.model import Action, Status
from civicloop.cases.reporting import CaseDraft, report_case  # noqa: F401  (one import for every verb)
from civicloop.cases.transition import Change, Ctx, require_text, run
from civicloop.catalogue.calendar import due_at
from civicloop.catalogue.model import DeadlineClass, Step
from civicloop.core.errors import InputError, NotFoundError
from civicloop.org.model import Actor
from civicloop.runtime import Platform


def add_note(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    text: str,
    attachment: dict[str, Any] | None = None,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """A progress note (or evidence when ``attachment`` is given); no change of status."""
    body = require_text(text, "text") if attachment is None else (text or "").strip()[:2000]
    action = Action.ATTACH if attachment is not None else Action.NOTE
    kind = "evidence" if attachment is not None else "note"
    return run(
        p,
        actor,
        case_id,
        action,
        lambda c: Change(
            after={
                "kind": kind,
                "text": body[:200],
                **({"attachment": attachment} if attachment else {}),
            },
            note=(kind, body, attachment),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.evidence_added" if attachment else "case.noted",
    )


def request_extension(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    hours: float,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """延期申请: the lead department asks for more time; a dispatcher or shift chief decides."""
    text = require_text(reason, "reason")
    if not (0 < hours <= 24 * 30):
        raise InputError("hours must be between 0 and 720", field="hours", rule="range")

    def compute(c: Ctx) -> Change:
        ext = store.extension_requests
        if c.conn.execute(
            select(ext.c.id).where(ext.c.case_id == c.row["id"], ext.c.status == "pending")
        ).first():
            raise InputError(
                "an extension request is already pending", field="hours", rule="one_pending_request"
            )
        c.conn.execute(
            insert(ext).values(
                case_id=c.row["id"],
                reason=text,
                extra_seconds=int(hours * 3600),
                status="pending",
                requested_by=c.actor.id,
                requested_at=c.now,
            )
        )
        return Change(after={"reason": text, "hours": hours})

    return run(
        p,
        actor,
        case_id,
        Action.REQUEST_EXTENSION,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.extension_requested",
    )


def decide_extension(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    approve: bool,
    note: str = "",
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """延期审批: approve (the handling deadline moves by the requested time) or reject."""

    def compute(c: Ctx) -> Change:
        ext = store.extension_requests
        pending = c.conn.execute(
            select(ext).where(ext.c.case_id == c.row["id"], ext.c.status == "pending")
        ).first()
        if pending is None:
            raise InputError(
                "no pending extension request", field="approve", rule="pending_request"
            )
        c.conn.execute(
            update(ext)
            .where(ext.c.id == pending.id)
            .values(
                status="approved" if approve else "rejected",
                decided_by=c.actor.id,
                decided_at=c.now,
            )
        )
        values: dict[str, Any] = {}
        after: dict[str, Any] = {"approved": approve, "note": note[:500]}
        if approve:
            steps = store.case_steps
            handle = c.conn.execute(
                select(steps).where(
                    steps.c.case_id == c.row["id"],
                    steps.c.step == str(Step.HANDLE),
                    steps.c.completed_at.is_(None),
                )
            ).first()
            if handle is not None:
                new_due = _extend(c, handle, timedelta(seconds=pending.extra_seconds))
                # an extension granted after the deadline passed lifts the overdue flag
                c.conn.execute(
                    update(steps)
                    .where(steps.c.id == handle.id)
                    .values(
                        due_at=new_due, overdue_at=None if new_due > c.now else handle.overdue_at
                    )
                )
                values = {"handle_due_at": new_due, "extension_count": c.row["extension_count"] + 1}
                if new_due > c.now:
                    values["is_overdue"] = False
                after["handle_due_at"] = new_due
        return Change(values=values, after=after)

    return run(
        p,
        actor,
        case_id,
        Action.DECIDE_EXTENSION,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.extension_decided",
    )


def _extend(c: Ctx, handle: Any, extra: timedelta) -> datetime:
    deadline = c.p.catalogue.deadline_classes[handle.deadline_class]
    same_mode = DeadlineClass(
        code=deadline.code, name=deadline.name, mode=deadline.mode, duration=extra
    )
    return due_at(handle.due_at, same_mode, c.p.calendar)


def reopen_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """重新打开: a closed case comes back for dispatch (e.g. the problem recurred)."""
    text = require_text(reason, "reason")
    return run(
        p,
        actor,
        case_id,
        Action.REOPEN,
        lambda c: Change(
            status=Status.FILED,
            values={
                "reopen_count": c.row["reopen_count"] + 1,
                "closed_at": None,
                "closure_type": None,
                "satisfaction": None,
                "verification_passed": None,
            },
            after={"reason": text},
            note=("reopen", text, None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.reopened",
    )


def report_not_fixed(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    comment: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """未解决: the reporter says the closed problem is not fixed; the case goes back into rework.

    Only within ``settings.not_fixed_days`` of closure: later, the problem is a new report.
    The lead department's handling clock starts again, as for 返工.
    """
    text = require_text(comment, "comment")

    def compute(c: Ctx) -> Change:
        closed = c.row["closed_at"]
        limit = c.p.settings.not_fixed_days
        if closed is not None and c.now - closed > timedelta(days=limit):
            raise InputError(
                f"more than {limit} days since the case was closed; report the problem anew",
                field="case_id",
                rule=f"within {limit} days of closure",
            )
        return Change(
            status=Status.HANDLING,
            open_handle_step=True,
            keep_handle_step=False,
            values={
                "rework_count": c.row["rework_count"] + 1,
                "reopen_count": c.row["reopen_count"] + 1,
                "closed_at": None,
                "closure_type": None,
                "satisfaction": "unsatisfied",
                "verification_passed": None,
            },
            after={"comment": text},
            note=("not_fixed", text, None),
        )

    return run(
        p,
        actor,
        case_id,
        Action.NOT_FIXED,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.not_fixed",
    )


def merge_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    master_id: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """合并: fold a duplicate into an open master case of the same element."""

    def compute(c: Ctx) -> Change:
        if master_id == c.row["id"]:
            raise InputError(
                "a case cannot be merged into itself", field="master_id", rule="different_case"
            )
        try:
            master, _ = access_case(c.raw, c.actor, master_id, for_write=False)
        except NotFoundError as exc:
            raise InputError("master case not found", field="master_id", rule="exists") from exc
        if master["status"] in (Status.VOIDED, Status.MERGED, Status.CLOSED, Status.FOLLOWED_UP):
            raise InputError("the master case is not open", field="master_id", rule="open_case")
        if master["element_code"] != c.row["element_code"]:
            raise InputError(
                "the master case is about a different element",
                field="master_id",
                rule="same_element",
            )
        return Change(
            status=Status.MERGED,
            keep_handle_step=False,
            values={"master_case_id": master["id"]},
            after={"master_id": master["id"], "master_number": master["number"]},
            ledger=[("case.duplicate_attached", {"master_id": master["id"]})],
        )

    return run(
        p,
        actor,
        case_id,
        Action.MERGE,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.merged",
    )


def supervise_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    hours: float = 24,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """督办: a supervisor raises a supervision order with its own deadline."""
    text = require_text(reason, "reason")
    if not (0 < hours <= 24 * 30):
        raise InputError("hours must be between 0 and 720", field="hours", rule="range")

    def compute(c: Ctx) -> Change:
        raise_supervision(
            c.conn,
            c.row["id"],
            c.row["loop_level"],
            reason=text,
            source="manual",
            raised_by=c.actor.id,
            at=c.now,
            due=c.now + timedelta(hours=hours),
        )
        return Change(after={"reason": text, "hours": hours})

    return run(
        p,
        actor,
        case_id,
        Action.SUPERVISE,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.supervised",
    )


def raise_supervision(
    conn: Connection,
    case_id: str,
    loop_level: str,
    *,
    reason: str,
    source: str,
    raised_by: str,
    at: datetime,
    due: datetime,
) -> int:
    result = conn.execute(
        insert(store.supervision_orders).values(
            case_id=case_id,
            reason=reason,
            source=source,
            loop_level=loop_level,
            raised_by=raised_by,
            raised_at=at,
            due_at=due,
            status="open",
        )
    )
    pk = result.inserted_primary_key
    return int(pk[0]) if pk else 0
