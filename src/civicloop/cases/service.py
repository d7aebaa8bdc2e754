"""Case use cases: the verbs of the closed loop, the only code that changes a case.

Each verb is one transaction through :func:`civicloop.cases.transition.run`. Errors raised:
NotFoundError (missing or out of scope), TransitionError (the policy refused; carries the
allowed next steps), StaleVersionError (someone else changed the case first), InputError (bad
parameters, naming the field and the rule). The exception flows — notes and evidence,
extensions, reopening, merging and supervision orders — live in
:mod:`civicloop.cases.side_flows` and are re-exported here, so callers import one module.
"""

from __future__ import annotations

from typing import Any

from civicloop.cases import priority
from civicloop.cases.model import SATISFACTION, Action, AssignmentRole, ClosureType, Status
from civicloop.cases.reporting import CaseDraft, report_case  # noqa: F401  (one import for every verb)
from civicloop.cases.side_flows import (  # noqa: F401  (re-exported verbs)
    add_note,
    decide_extension,
    merge_case,
    raise_supervision,
    reopen_case,
    report_not_fixed,
    request_extension,
    supervise_case,
)
from civicloop.cases.transition import Change, Ctx, require_text, run
from civicloop.core.errors import InputError
from civicloop.org import service as org
from civicloop.org.model import Actor, LoopLevel
from civicloop.runtime import Platform

# ---------------------------------------------------------------- the verbs


def accept_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """受理: accept a report; it goes to on-site check (核实) when the element asks for one."""

    def compute(c: Ctx) -> Change:
        nxt = Status.CHECKING if c.element.needs_onsite_check else Status.ACCEPTED
        return Change(status=nxt)

    return run(
        p,
        actor,
        case_id,
        Action.ACCEPT,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.accepted",
    )


def void_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """作废: void a report that is not a valid case (reason required)."""
    text = require_text(reason, "reason")
    return run(
        p,
        actor,
        case_id,
        Action.VOID,
        lambda c: Change(
            status=Status.VOIDED,
            keep_handle_step=False,
            after={"reason": text},
            note=("void", text, None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.voided",
    )


def check_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    is_valid: bool,
    note: str = "",
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """核实: the grid worker confirms on site whether the reported problem exists."""
    nxt = Status.ACCEPTED if is_valid else Status.VOIDED
    return run(
        p,
        actor,
        case_id,
        Action.CHECK,
        lambda c: Change(
            status=nxt, after={"is_valid": is_valid}, note=("check", note.strip()[:2000], None)
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.checked",
    )


def file_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    filing_condition: str | None = None,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """立案: file the case under one of its element's filing conditions (default: the first).

    The filing condition fixes the handling deadline class (urgent conditions run on the clock);
    the case's priority is assessed again against current risk (``cases.priority``).
    """

    def compute(c: Ctx) -> Change:
        code = filing_condition or c.element.filing_conditions[0].code
        cond = c.element.filing_condition(code)
        if cond is None:
            raise InputError(
                f"{code!r} is not a filing condition of {c.element.code}",
                field="filing_condition",
                rule="must be one of the element's conditions",
                allowed=[f.code for f in c.element.filing_conditions],
            )
        urgent = c.p.catalogue.deadline_classes[cond.deadline].is_urgent
        values: dict[str, Any] = {
            "filing_condition": cond.code,
            "is_urgent": urgent,
            "filed_at": c.now,
        }
        after: dict[str, Any] = {"filing_condition": cond.code, "is_urgent": urgent}
        # Risk may have moved since the report (a closed case rescored its subject): ask again.
        prio, reason = priority.assess(c.p, c.row)
        if str(prio) != c.row.get("priority") or reason != c.row.get("priority_reason"):
            values |= {"priority": str(prio), "priority_reason": reason}
            after |= {"priority": str(prio), "priority_reason": reason}
        return Change(status=Status.FILED, values=values, after=after)

    return run(
        p,
        actor,
        case_id,
        Action.FILE,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.filed",
    )


def dispatch_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    lead: str | None = None,
    assists: list[str] | None = None,
    loop_level: LoopLevel | None = None,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """派遣: send the case to a lead department and assisting departments.

    Without ``lead`` the responsibility matrix decides (element × territory); ``@street`` and
    ``@community`` resolve to the case's street office / residents' committee.
    """

    def compute(c: Ctx) -> Change:
        route = c.p.route(c.conn, c.element.code, c.row["region_path"])
        lead_code = lead or (route.lead if route else c.element.lead_department)
        assist_codes = (
            list(assists)
            if assists is not None
            else list(route.assists if route else c.element.assist_departments)
        )
        lead_code = org.resolve_department(lead_code, c.row["region_path"])
        assist_codes = [org.resolve_department(a, c.row["region_path"]) for a in assist_codes]
        assist_codes = [a for a in dict.fromkeys(assist_codes) if a != lead_code]
        known = org.existing_departments(c.conn, [lead_code, *assist_codes])
        for fld, code in [("lead", lead_code)] + [("assists", a) for a in assist_codes]:
            if code not in known:
                raise InputError(f"unknown department {code!r}", field=fld, rule="exists")
        level = loop_level or (route.loop_level if route else c.element.loop_level)
        c.raw.run("DELETE FROM case_assignments WHERE case_id = :id", {"id": c.row["id"]})
        c.raw.many(
            "INSERT INTO case_assignments (case_id, department_code, role, assigned_at)"
            " VALUES (:case_id, :department_code, :role, :assigned_at)",
            [
                {
                    "case_id": c.row["id"],
                    "department_code": d,
                    "role": str(r),
                    "assigned_at": c.raw.ts(c.now),
                }
                for d, r in [(lead_code, AssignmentRole.LEAD)]
                + [(x, AssignmentRole.ASSIST) for x in assist_codes]
            ],
        )
        assigned = {
            lead_code: str(AssignmentRole.LEAD),
            **{x: str(AssignmentRole.ASSIST) for x in assist_codes},
        }
        return Change(
            status=Status.DISPATCHED,
            open_handle_step=True,
            keep_handle_step=False,
            values={
                "lead_department": lead_code,
                "loop_level": str(level),
                "dispatched_at": c.now,
                "assigned": assigned,
            },
            after={"lead": lead_code, "assists": assist_codes, "loop_level": str(level)},
        )

    return run(
        p,
        actor,
        case_id,
        Action.DISPATCH,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.dispatched",
    )


def sign_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """签收: the lead department accepts the task and starts handling."""
    return run(
        p,
        actor,
        case_id,
        Action.SIGN,
        lambda c: Change(status=Status.HANDLING),
        expected_version=expected_version,
        request_id=request_id,
        event="case.signed",
    )


def return_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """退单: the lead department sends the task back with a reason; the dispatcher re-dispatches."""
    text = require_text(reason, "reason")
    return run(
        p,
        actor,
        case_id,
        Action.RETURN,
        lambda c: Change(
            status=Status.RETURNED,
            keep_handle_step=False,
            values={"return_count": c.row["return_count"] + 1},
            after={"reason": text, "department": sorted(c.actor.department_ids)},
            note=("return", text, None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.returned",
    )


def feedback_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    text: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """处理反馈: the lead department reports the result; a grid worker verifies it on site
    (核查) when the element asks for it, otherwise the case waits for closure."""
    body = require_text(text, "text")

    def compute(c: Ctx) -> Change:
        nxt = Status.VERIFYING if c.element.needs_verification else Status.VERIFIED
        return Change(
            status=nxt,
            keep_handle_step=False,
            after={"text": body[:200]},
            note=("feedback", body, None),
        )

    return run(
        p,
        actor,
        case_id,
        Action.FEEDBACK,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.feedback_given",
    )


def verify_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    passed: bool,
    note: str = "",
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """核查: the grid worker checks the result on site; a failed check leads to rework."""
    return run(
        p,
        actor,
        case_id,
        Action.VERIFY,
        lambda c: Change(
            status=Status.VERIFIED,
            values={"verification_passed": passed},
            after={"passed": passed},
            note=("verify", note.strip()[:2000], None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.verified",
    )


def close_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    closure_type: ClosureType | None = None,
    reason: str = "",
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """结案: close a verified case. Normal or overdue is decided from the handling step;
    ``special`` needs a reason. A failed verification must be reworked, not closed."""

    def compute(c: Ctx) -> Change:
        if closure_type is ClosureType.SPECIAL:
            why = require_text(reason, "reason")
        else:
            why = ""
            if c.row["verification_passed"] is False:
                raise InputError(
                    "the on-site verification failed: rework the case or close it as special",
                    field="closure_type",
                    rule="verification_passed",
                )
        kind = closure_type
        if kind is None or kind is not ClosureType.SPECIAL:
            late = c.raw.one(
                "SELECT 1 AS x FROM case_steps WHERE case_id = :id AND step = 'handle'"
                " AND (overdue_at IS NOT NULL OR completed_at > due_at) LIMIT 1",
                {"id": c.row["id"]},
            )
            kind = ClosureType.OVERDUE if late else ClosureType.NORMAL
        return Change(
            status=Status.CLOSED,
            values={"closure_type": str(kind), "closed_at": c.now},
            after={"closure_type": str(kind), **({"reason": why} if why else {})},
        )

    return run(
        p,
        actor,
        case_id,
        Action.CLOSE,
        compute,
        expected_version=expected_version,
        request_id=request_id,
        event="case.closed",
    )


def rework_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """返工: send the case back to the lead department; the handling clock starts again."""
    text = require_text(reason, "reason")
    return run(
        p,
        actor,
        case_id,
        Action.REWORK,
        lambda c: Change(
            status=Status.HANDLING,
            open_handle_step=True,
            keep_handle_step=False,
            values={"rework_count": c.row["rework_count"] + 1, "verification_passed": None},
            after={"reason": text},
            note=("rework", text, None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.reworked",
    )


def follow_up_case(
    p: Platform,
    actor: Actor,
    case_id: str,
    *,
    satisfaction: str,
    comment: str = "",
    expected_version: int | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """回访: record the reporter's satisfaction (satisfied / basically_satisfied / unsatisfied)."""
    if satisfaction not in SATISFACTION:
        raise InputError(
            f"satisfaction must be one of {', '.join(SATISFACTION)}",
            field="satisfaction",
            rule="enum",
        )
    return run(
        p,
        actor,
        case_id,
        Action.FOLLOW_UP,
        lambda c: Change(
            status=Status.FOLLOWED_UP,
            values={"satisfaction": satisfaction},
            after={"satisfaction": satisfaction},
            note=("follow_up", comment.strip()[:2000], None),
        ),
        expected_version=expected_version,
        request_id=request_id,
        event="case.followed_up",
    )
