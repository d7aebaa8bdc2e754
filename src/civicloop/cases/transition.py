"""The transition machinery every case verb runs through.

:func:`run` is one transaction: load the case the actor may see (404 otherwise), check the
expected version, ask the policy (409 with the allowed next steps otherwise), let the verb
compute its :class:`Change`, move the SLA clock, write the case with an optimistic version
check, add the note, and append the ledger entries — all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from civicloop.cases import store
from civicloop.cases.access import access_case
from civicloop.cases.clock import move_clock
from civicloop.cases.model import Action, Status
from civicloop.cases.policy import Facts, allowed_actions, decide
from civicloop.cases.reporting import CaseDraft, report_case  # noqa: F401  (one import for every verb)
from civicloop.catalogue.model import Element
from civicloop.core.errors import InputError, StaleVersionError, TransitionError
from civicloop.core.rawsql import Raw
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor
from civicloop.runtime import Platform

# ---------------------------------------------------------------- the transition machinery


@dataclass
class Change:
    """What a transition does, computed by the verb function and applied by :func:`_run`."""

    status: Status | None = None
    values: dict[str, Any] = field(default_factory=dict)
    ledger: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # extra (action, after)
    after: dict[str, Any] = field(default_factory=dict)
    keep_handle_step: bool = True
    open_handle_step: bool = False
    note: tuple[str, str, dict[str, Any] | None] | None = None  # (kind, text, attachment)


@dataclass
class Ctx:
    p: Platform
    conn: Connection
    raw: Raw
    actor: Actor
    row: dict[str, Any]
    facts: Facts
    element: Element
    now: datetime


_NOTE = (
    "INSERT INTO case_notes (case_id, kind, text, attachment, actor_id, at)"
    " VALUES (:case_id, :kind, :text, :attachment, :actor_id, :at)"
)


def run(
    p: Platform,
    actor: Actor,
    case_id: str,
    action: Action,
    compute: Callable[[Ctx], Change],
    *,
    expected_version: int | None,
    request_id: str,
    event: str,
) -> dict[str, Any]:
    now = p.clock.now()
    with p.db.write() as conn:
        raw = Raw(conn)
        row, facts = access_case(raw, actor, case_id, for_write=True)
        status = Status(row["status"])
        version = int(row["version"])
        if expected_version is not None and expected_version != version:
            raise StaleVersionError(
                f"the case changed since version {expected_version}; it is now version {version}",
                case_version=version,
            )
        decision = decide(action, status, actor.role, facts)
        if not decision.allowed:
            raise TransitionError(
                decision.reason,
                action=str(action),
                status_now=str(status),
                allowed=allowed_actions(status, actor.role, facts),
            )
        element = p.catalogue.element(row["element_code"])
        if element is None:  # the catalogue lost an element that open cases still use
            raise InputError(
                f"element {row['element_code']} is not in the active catalogue",
                field="element_code",
                rule="must be an element of the active catalogue",
            )
        ctx = Ctx(p, conn, raw, actor, row, facts, element, now)
        change = compute(ctx)
        values = {**change.values, "updated_at": now}
        if change.status is not None and change.status is not status:
            values["status"] = str(change.status)
            values.update(
                move_clock(
                    p,
                    raw,
                    {**row, **values},
                    element,
                    change.status,
                    actor_id=actor.id,
                    now=now,
                    keep_handle_step=change.keep_handle_step,
                    open_handle_step=change.open_handle_step,
                )
            )
        if not store.update_case(raw, case_id, version, values):
            raise StaleVersionError("someone else changed the case first; reload and retry")
        if change.note is not None:
            kind, text, attachment = change.note
            raw.run(
                _NOTE,
                {
                    "case_id": case_id,
                    "kind": kind,
                    "text": text,
                    "attachment": raw.js(attachment),
                    "actor_id": actor.id,
                    "at": raw.ts(now),
                },
            )
        before = {"status": str(status), "version": version}
        after = {
            "status": values.get("status", str(status)),
            "version": version + 1,
            **change.after,
        }
        entries = [LedgerAction(event, "case", case_id, before=before, after=after)]
        entries += [LedgerAction(a, "case", case_id, after=extra) for a, extra in change.ledger]
        record(conn, actor, entries, at=now, request_id=request_id)
    view = {**row, **values, "version": version + 1}
    view["assignments"] = view["assigned"]
    return view


def require_text(value: str | None, field_name: str, *, limit: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{field_name} is required", field=field_name, rule="required")
    if len(text) > limit:
        raise InputError(
            f"{field_name} is longer than {limit} characters", field=field_name, rule="max_length"
        )
    return text
