"""Case use cases: the only code that changes a case.

Each public function is one transaction: load the case the actor may see, ask the policy,
apply the change with an optimistic version check, move the SLA clock, and append the ledger
entry — all or nothing. Errors raised: NotFoundError (missing or out of scope), TransitionError
(the policy refused; carries the allowed next steps), StaleVersionError (someone else changed
the case first), InputError (bad parameters, naming the field and the rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from civicloop.cases import store
from civicloop.cases.access import access_case
from civicloop.cases.model import (
    SATISFACTION,
    STEP_FOR_STATUS,
    Action,
    AssignmentRole,
    Channel,
    ClosureType,
    Status,
)
from civicloop.cases.policy import Facts, allowed_actions, decide
from civicloop.catalogue.calendar import due_at
from civicloop.catalogue.model import Element, Step
from civicloop.core.errors import InputError, NotFoundError, StaleVersionError, TransitionError
from civicloop.core.ids import new_uuid, tracking_code
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org import service as org
from civicloop.org.model import Actor, LoopLevel
from civicloop.runtime import Platform

# ---------------------------------------------------------------- reporting


@dataclass
class CaseDraft:
    """A report as it arrives from any channel, before it is a case."""

    element_code: str
    description: str
    channel: Channel = Channel.WEB
    title: str = ""
    lon: float | None = None
    lat: float | None = None
    grid_code: str | None = None
    address: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None


def report_case(p: Platform, actor: Actor, draft: CaseDraft, *, request_id: str = "-") -> dict[str, Any]:
    """Record a report as a case in status ``reported`` and start the acceptance clock.

    Raises InputError for an unknown element, a place outside the district, or text too long.
    """
    element = p.catalogue.element(draft.element_code)
    if element is None:
        raise InputError(f"unknown element code {draft.element_code!r}", field="element_code",
                         rule="must be an element of the active catalogue")
    description = (draft.description or "").strip()
    if not description:
        raise InputError("description must not be empty", field="description", rule="required")
    if len(description) > p.settings.max_text_length:
        raise InputError(f"description is longer than {p.settings.max_text_length} characters",
                         field="description", rule="max_length")
    grid_code = _place(p, draft)
    now = p.clock.now()
    case_id = new_uuid()
    with p.db.write() as conn:
        grid = org.read_region(conn, grid_code)
        if grid is None:
            raise InputError(f"unknown grid {grid_code!r}", field="grid_code", rule="exists")
        street_code = [c for c in grid.path.split("/") if c][1]
        number = _next_number(conn, element, now)
        route = org.responsibility_for(conn, element.code, grid.path)
        values = {
            "id": case_id, "number": number, "tracking_code": tracking_code(),
            "element_code": element.code, "scene_code": element.scene_code,
            "catalogue_version": p.catalogue.version,
            "title": (draft.title or f"{element.name}").strip()[:200],
            "description": description, "channel": str(draft.channel),
            "status": str(Status.REPORTED),
            "loop_level": str(route.loop_level if route else element.loop_level),
            "is_urgent": False, "grid_code": grid.code, "region_path": grid.path,
            "street_code": street_code, "lon": draft.lon, "lat": draft.lat,
            "address": (draft.address or None), "reporter_id": actor.id,
            "reporter_name": draft.reporter_name, "reporter_phone": draft.reporter_phone,
            "rework_count": 0, "return_count": 0, "reopen_count": 0, "extension_count": 0,
            "is_overdue": False, "reported_at": now, "updated_at": now, "version": 1,
        }
        conn.execute(insert(store.cases).values(**values))
        _open_step(p, conn, case_id, element, Step.ACCEPT, now)
        snapshot = {k: values[k] for k in ("number", "element_code", "status", "grid_code",
                                           "channel", "title", "loop_level")}
        record(conn, actor, [LedgerAction("case.reported", "case", case_id, after=snapshot)],
               at=now, request_id=request_id)
        return _view(conn, case_id)


def _place(p: Platform, draft: CaseDraft) -> str:
    if draft.lon is not None or draft.lat is not None:
        if draft.lon is None or draft.lat is None:
            raise InputError("give both lon and lat", field="lon" if draft.lon is None else "lat",
                             rule="required_together")
        if not (-180 <= draft.lon <= 180 and -90 <= draft.lat <= 90):
            raise InputError("lon/lat are not WGS84 degrees", field="lon", rule="range")
        code = p.grids.locate(draft.lon, draft.lat)
        if code is None:
            raise InputError("the location is outside the district's grids", field="lon",
                             rule="inside_district", lon=draft.lon, lat=draft.lat)
        if draft.grid_code and draft.grid_code != code:
            raise InputError("grid_code does not contain lon/lat", field="grid_code",
                             rule="consistent_with_location")
        return code
    if draft.grid_code:
        return draft.grid_code
    raise InputError("give a location: lon and lat, or grid_code", field="lon", rule="required")


def _next_number(conn: Connection, element: Element, now: datetime) -> str:
    """Readable case number: C/E + class code + yyyymmdd + 5-digit serial of the day."""
    day = now.strftime("%Y%m%d")
    result = conn.execute(update(store.case_counters).where(store.case_counters.c.day == day)
                          .values(value=store.case_counters.c.value + 1)
                          .returning(store.case_counters.c.value)).first()
    if result is None:
        conn.execute(insert(store.case_counters).values(day=day, value=1))
        serial = 1
    else:
        serial = int(result[0])
    return f"{element.code[0]}{element.class_code}{day}{serial:05d}"


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
    actor: Actor
    row: Any
    assigned: dict[str, str]
    facts: Facts
    element: Element
    now: datetime


def _run(
    p: Platform, actor: Actor, case_id: str, action: Action, compute: Callable[[Ctx], Change], *,
    expected_version: int | None, request_id: str, event: str,
) -> dict[str, Any]:
    now = p.clock.now()
    with p.db.write() as conn:
        row, assigned, facts = access_case(conn, actor, case_id, for_write=True)
        status = Status(row.status)
        if expected_version is not None and expected_version != row.version:
            raise StaleVersionError(
                f"the case changed since version {expected_version}; it is now version {row.version}",
                case_version=row.version)
        decision = decide(action, status, actor.role, facts)
        if not decision.allowed:
            raise TransitionError(decision.reason, action=str(action), status_now=str(status),
                                  allowed=allowed_actions(status, actor.role, facts))
        element = p.catalogue.element(row.element_code)
        if element is None:  # the catalogue lost an element that open cases still use
            raise InputError(f"element {row.element_code} is not in the active catalogue",
                             field="element_code", rule="must be an element of the active catalogue")
        ctx = Ctx(p, conn, actor, row, assigned, facts, element, now)
        change = compute(ctx)
        values = {**change.values, "updated_at": now}
        if change.status is not None:
            values["status"] = str(change.status)
        if not store.update_case(conn, case_id, row.version, values):
            raise StaleVersionError("someone else changed the case first; reload and retry")
        if change.status is not None and change.status is not status:
            _move_clock(ctx, change)
        if change.note is not None:
            kind, text, attachment = change.note
            conn.execute(insert(store.case_notes).values(
                case_id=case_id, kind=kind, text=text, attachment=attachment, actor_id=actor.id, at=now))
        before = {"status": str(status), "version": row.version}
        after = {"status": values.get("status", str(status)), "version": row.version + 1, **change.after}
        entries = [LedgerAction(event, "case", case_id, before=before, after=after)]
        entries += [LedgerAction(a, "case", case_id, after=extra) for a, extra in change.ledger]
        record(conn, actor, entries, at=now, request_id=request_id)
        return _view(conn, case_id)


def _move_clock(ctx: Ctx, change: Change) -> None:
    """Complete the steps the case leaves and start the step of the status it enters."""
    steps = store.case_steps
    open_rows = store.open_steps(ctx.conn, ctx.row.id)
    done = [r.id for r in open_rows if not (change.keep_handle_step and r.step == str(Step.HANDLE))]
    if done:
        ctx.conn.execute(update(steps).where(steps.c.id.in_(done))
                         .values(completed_at=ctx.now, completed_by=ctx.actor.id))
    assert change.status is not None
    step = STEP_FOR_STATUS.get(change.status)
    if step is not None:
        _open_step(ctx.p, ctx.conn, ctx.row.id, ctx.element, step, ctx.now,
                   filing_condition=ctx.row.filing_condition)
    if change.open_handle_step:
        # 处置时限 counts from dispatch (or rework), not from the department's signature
        due = _open_step(ctx.p, ctx.conn, ctx.row.id, ctx.element, Step.HANDLE, ctx.now,
                         filing_condition=ctx.row.filing_condition)
        ctx.conn.execute(update(store.cases).where(store.cases.c.id == ctx.row.id)
                         .values(handle_due_at=due))
    still_overdue = any(r.overdue_at is not None for r in open_rows if r.id not in done)
    if ctx.row.is_overdue and not still_overdue:
        ctx.conn.execute(update(store.cases).where(store.cases.c.id == ctx.row.id)
                         .values(is_overdue=False))


def _open_step(p: Platform, conn: Connection, case_id: str, element: Element, step: Step,
               start: datetime, *, filing_condition: str | None = None) -> datetime:
    deadline = p.catalogue.deadline(element, step, filing_condition)
    due = due_at(start, deadline, p.calendar)
    conn.execute(insert(store.case_steps).values(
        case_id=case_id, step=str(step), deadline_class=deadline.code,
        is_urgent=deadline.is_urgent, started_at=start, due_at=due))
    return due


def _view(conn: Connection, case_id: str) -> dict[str, Any]:
    row = store.case_row(conn, case_id)
    if row is None:
        raise NotFoundError("case not found", code="case.not_found", case_id=case_id)
    view = dict(row._mapping)
    view["assignments"] = store.assignments(conn, case_id)
    return view


def _require_text(value: str | None, field_name: str, *, limit: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{field_name} is required", field=field_name, rule="required")
    if len(text) > limit:
        raise InputError(f"{field_name} is longer than {limit} characters", field=field_name,
                         rule="max_length")
    return text


# ---------------------------------------------------------------- the verbs


def accept_case(p: Platform, actor: Actor, case_id: str, *, expected_version: int | None = None,
                request_id: str = "-") -> dict[str, Any]:
    """受理: accept a report; it goes to on-site check (核实) when the element asks for one."""
    def compute(c: Ctx) -> Change:
        nxt = Status.CHECKING if c.element.needs_onsite_check else Status.ACCEPTED
        return Change(status=nxt)
    return _run(p, actor, case_id, Action.ACCEPT, compute, expected_version=expected_version,
                request_id=request_id, event="case.accepted")


def void_case(p: Platform, actor: Actor, case_id: str, *, reason: str,
              expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """作废: void a report that is not a valid case (reason required)."""
    text = _require_text(reason, "reason")
    return _run(p, actor, case_id, Action.VOID,
                lambda c: Change(status=Status.VOIDED, keep_handle_step=False,
                                 after={"reason": text}, note=("void", text, None)),
                expected_version=expected_version, request_id=request_id, event="case.voided")


def check_case(p: Platform, actor: Actor, case_id: str, *, is_valid: bool, note: str = "",
               expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """核实: the grid worker confirms on site whether the reported problem exists."""
    nxt = Status.ACCEPTED if is_valid else Status.VOIDED
    return _run(p, actor, case_id, Action.CHECK,
                lambda c: Change(status=nxt, after={"is_valid": is_valid},
                                 note=("check", note.strip()[:2000], None)),
                expected_version=expected_version, request_id=request_id, event="case.checked")


def file_case(p: Platform, actor: Actor, case_id: str, *, filing_condition: str | None = None,
              expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """立案: file the case under one of its element's filing conditions (default: the first).

    The filing condition fixes the handling deadline class (urgent conditions run on the clock).
    """
    def compute(c: Ctx) -> Change:
        code = filing_condition or c.element.filing_conditions[0].code
        cond = c.element.filing_condition(code)
        if cond is None:
            raise InputError(f"{code!r} is not a filing condition of {c.element.code}",
                             field="filing_condition", rule="must be one of the element's conditions",
                             allowed=[f.code for f in c.element.filing_conditions])
        urgent = c.p.catalogue.deadline_classes[cond.deadline].is_urgent
        return Change(status=Status.FILED,
                      values={"filing_condition": cond.code, "is_urgent": urgent, "filed_at": c.now},
                      after={"filing_condition": cond.code, "is_urgent": urgent})
    return _run(p, actor, case_id, Action.FILE, compute, expected_version=expected_version,
                request_id=request_id, event="case.filed")


def dispatch_case(p: Platform, actor: Actor, case_id: str, *, lead: str | None = None,
                  assists: list[str] | None = None, loop_level: LoopLevel | None = None,
                  expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """派遣: send the case to a lead department and assisting departments.

    Without ``lead`` the responsibility matrix decides (element × territory); ``@street`` and
    ``@community`` resolve to the case's street office / residents' committee.
    """
    def compute(c: Ctx) -> Change:
        route = org.responsibility_for(c.conn, c.element.code, c.row.region_path)
        lead_code = lead or (route.lead if route else c.element.lead_department)
        assist_codes = list(assists) if assists is not None else list(
            route.assists if route else c.element.assist_departments)
        lead_code = org.resolve_department(c.conn, lead_code, c.row.region_path)
        assist_codes = [org.resolve_department(c.conn, a, c.row.region_path) for a in assist_codes]
        assist_codes = [a for a in dict.fromkeys(assist_codes) if a != lead_code]
        for fld, code in [("lead", lead_code)] + [("assists", a) for a in assist_codes]:
            if not org.department_exists(c.conn, code):
                raise InputError(f"unknown department {code!r}", field=fld, rule="exists")
        level = loop_level or (route.loop_level if route else c.element.loop_level)
        a = store.case_assignments
        c.conn.execute(a.delete().where(a.c.case_id == c.row.id))
        c.conn.execute(insert(a), [
            {"case_id": c.row.id, "department_code": d, "role": str(r), "assigned_at": c.now}
            for d, r in [(lead_code, AssignmentRole.LEAD)]
            + [(x, AssignmentRole.ASSIST) for x in assist_codes]])
        return Change(status=Status.DISPATCHED, open_handle_step=True, keep_handle_step=False,
                      values={"lead_department": lead_code, "loop_level": str(level),
                              "dispatched_at": c.now},
                      after={"lead": lead_code, "assists": assist_codes, "loop_level": str(level)})
    return _run(p, actor, case_id, Action.DISPATCH, compute, expected_version=expected_version,
                request_id=request_id, event="case.dispatched")


def sign_case(p: Platform, actor: Actor, case_id: str, *, expected_version: int | None = None,
              request_id: str = "-") -> dict[str, Any]:
    """签收: the lead department accepts the task and starts handling."""
    return _run(p, actor, case_id, Action.SIGN, lambda c: Change(status=Status.HANDLING),
                expected_version=expected_version, request_id=request_id, event="case.signed")


def return_case(p: Platform, actor: Actor, case_id: str, *, reason: str,
                expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """退单: the lead department sends the task back with a reason; the dispatcher re-dispatches."""
    text = _require_text(reason, "reason")
    return _run(p, actor, case_id, Action.RETURN,
                lambda c: Change(status=Status.RETURNED, keep_handle_step=False,
                                 values={"return_count": c.row.return_count + 1},
                                 after={"reason": text, "department": sorted(c.actor.department_ids)},
                                 note=("return", text, None)),
                expected_version=expected_version, request_id=request_id, event="case.returned")


def add_note(p: Platform, actor: Actor, case_id: str, *, text: str,
             attachment: dict[str, Any] | None = None, expected_version: int | None = None,
             request_id: str = "-") -> dict[str, Any]:
    """A progress note (or evidence when ``attachment`` is given); no change of status."""
    body = _require_text(text, "text") if attachment is None else (text or "").strip()[:2000]
    action = Action.ATTACH if attachment is not None else Action.NOTE
    kind = "evidence" if attachment is not None else "note"
    return _run(p, actor, case_id, action,
                lambda c: Change(after={"kind": kind, "text": body[:200],
                                        **({"attachment": attachment} if attachment else {})},
                                 note=(kind, body, attachment)),
                expected_version=expected_version, request_id=request_id,
                event="case.evidence_added" if attachment else "case.noted")


def request_extension(p: Platform, actor: Actor, case_id: str, *, reason: str, hours: float,
                      expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """延期申请: the lead department asks for more time; a dispatcher or shift chief decides."""
    text = _require_text(reason, "reason")
    if not (0 < hours <= 24 * 30):
        raise InputError("hours must be between 0 and 720", field="hours", rule="range")

    def compute(c: Ctx) -> Change:
        ext = store.extension_requests
        if c.conn.execute(select(ext.c.id).where(ext.c.case_id == c.row.id,
                                                 ext.c.status == "pending")).first():
            raise InputError("an extension request is already pending", field="hours",
                             rule="one_pending_request")
        c.conn.execute(insert(ext).values(case_id=c.row.id, reason=text, extra_seconds=int(hours * 3600),
                                          status="pending", requested_by=c.actor.id, requested_at=c.now))
        return Change(after={"reason": text, "hours": hours})
    return _run(p, actor, case_id, Action.REQUEST_EXTENSION, compute,
                expected_version=expected_version, request_id=request_id,
                event="case.extension_requested")


def decide_extension(p: Platform, actor: Actor, case_id: str, *, approve: bool, note: str = "",
                     expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """延期审批: approve (the handling deadline moves by the requested time) or reject."""
    def compute(c: Ctx) -> Change:
        ext = store.extension_requests
        pending = c.conn.execute(select(ext).where(ext.c.case_id == c.row.id,
                                                   ext.c.status == "pending")).first()
        if pending is None:
            raise InputError("no pending extension request", field="approve", rule="pending_request")
        c.conn.execute(update(ext).where(ext.c.id == pending.id).values(
            status="approved" if approve else "rejected", decided_by=c.actor.id, decided_at=c.now))
        values: dict[str, Any] = {}
        after: dict[str, Any] = {"approved": approve, "note": note[:500]}
        if approve:
            steps = store.case_steps
            handle = c.conn.execute(select(steps).where(
                steps.c.case_id == c.row.id, steps.c.step == str(Step.HANDLE),
                steps.c.completed_at.is_(None))).first()
            if handle is not None:
                new_due = _extend(c, handle, timedelta(seconds=pending.extra_seconds))
                # an extension granted after the deadline passed lifts the overdue flag
                c.conn.execute(update(steps).where(steps.c.id == handle.id)
                               .values(due_at=new_due, overdue_at=None if new_due > c.now else handle.overdue_at))
                values = {"handle_due_at": new_due, "extension_count": c.row.extension_count + 1}
                if new_due > c.now:
                    values["is_overdue"] = False
                after["handle_due_at"] = new_due
        return Change(values=values, after=after)
    return _run(p, actor, case_id, Action.DECIDE_EXTENSION, compute,
                expected_version=expected_version, request_id=request_id,
                event="case.extension_decided")


def _extend(c: Ctx, handle: Any, extra: timedelta) -> datetime:
    deadline = c.p.catalogue.deadline_classes[handle.deadline_class]
    from civicloop.catalogue.model import DeadlineClass

    same_mode = DeadlineClass(code=deadline.code, name=deadline.name, mode=deadline.mode, duration=extra)
    return due_at(handle.due_at, same_mode, c.p.calendar)


def feedback_case(p: Platform, actor: Actor, case_id: str, *, text: str,
                  expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """处理反馈: the lead department reports the result; a grid worker verifies it on site
    (核查) when the element asks for it, otherwise the case waits for closure."""
    body = _require_text(text, "text")

    def compute(c: Ctx) -> Change:
        nxt = Status.VERIFYING if c.element.needs_verification else Status.VERIFIED
        return Change(status=nxt, keep_handle_step=False, after={"text": body[:200]},
                      note=("feedback", body, None))
    return _run(p, actor, case_id, Action.FEEDBACK, compute, expected_version=expected_version,
                request_id=request_id, event="case.feedback_given")


def verify_case(p: Platform, actor: Actor, case_id: str, *, passed: bool, note: str = "",
                expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """核查: the grid worker checks the result on site; a failed check leads to rework."""
    return _run(p, actor, case_id, Action.VERIFY,
                lambda c: Change(status=Status.VERIFIED, values={"verification_passed": passed},
                                 after={"passed": passed}, note=("verify", note.strip()[:2000], None)),
                expected_version=expected_version, request_id=request_id, event="case.verified")


def close_case(p: Platform, actor: Actor, case_id: str, *, closure_type: ClosureType | None = None,
               reason: str = "", expected_version: int | None = None,
               request_id: str = "-") -> dict[str, Any]:
    """结案: close a verified case. Normal or overdue is decided from the handling step;
    ``special`` needs a reason. A failed verification must be reworked, not closed."""
    def compute(c: Ctx) -> Change:
        if closure_type is ClosureType.SPECIAL:
            why = _require_text(reason, "reason")
        else:
            why = ""
            if c.row.verification_passed is False:
                raise InputError("the on-site verification failed: rework the case or close it as special",
                                 field="closure_type", rule="verification_passed")
        kind = closure_type
        if kind is None or kind is not ClosureType.SPECIAL:
            steps = store.case_steps
            late = c.conn.execute(select(steps.c.id).where(
                steps.c.case_id == c.row.id, steps.c.step == str(Step.HANDLE),
                (steps.c.overdue_at.is_not(None)) | (steps.c.completed_at > steps.c.due_at))).first()
            kind = ClosureType.OVERDUE if late else ClosureType.NORMAL
        return Change(status=Status.CLOSED, values={"closure_type": str(kind), "closed_at": c.now},
                      after={"closure_type": str(kind), **({"reason": why} if why else {})})
    return _run(p, actor, case_id, Action.CLOSE, compute, expected_version=expected_version,
                request_id=request_id, event="case.closed")


def rework_case(p: Platform, actor: Actor, case_id: str, *, reason: str,
                expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """返工: send the case back to the lead department; the handling clock starts again."""
    text = _require_text(reason, "reason")
    return _run(p, actor, case_id, Action.REWORK,
                lambda c: Change(status=Status.HANDLING, open_handle_step=True, keep_handle_step=False,
                                 values={"rework_count": c.row.rework_count + 1,
                                         "verification_passed": None},
                                 after={"reason": text}, note=("rework", text, None)),
                expected_version=expected_version, request_id=request_id, event="case.reworked")


def follow_up_case(p: Platform, actor: Actor, case_id: str, *, satisfaction: str, comment: str = "",
                   expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """回访: record the reporter's satisfaction (satisfied / basically_satisfied / unsatisfied)."""
    if satisfaction not in SATISFACTION:
        raise InputError(f"satisfaction must be one of {', '.join(SATISFACTION)}",
                         field="satisfaction", rule="enum")
    return _run(p, actor, case_id, Action.FOLLOW_UP,
                lambda c: Change(status=Status.FOLLOWED_UP, values={"satisfaction": satisfaction},
                                 after={"satisfaction": satisfaction},
                                 note=("follow_up", comment.strip()[:2000], None)),
                expected_version=expected_version, request_id=request_id, event="case.followed_up")


def reopen_case(p: Platform, actor: Actor, case_id: str, *, reason: str,
                expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """重新打开: a closed case comes back for dispatch (e.g. the problem recurred)."""
    text = _require_text(reason, "reason")
    return _run(p, actor, case_id, Action.REOPEN,
                lambda c: Change(status=Status.FILED,
                                 values={"reopen_count": c.row.reopen_count + 1, "closed_at": None,
                                         "closure_type": None, "satisfaction": None,
                                         "verification_passed": None},
                                 after={"reason": text}, note=("reopen", text, None)),
                expected_version=expected_version, request_id=request_id, event="case.reopened")


def merge_case(p: Platform, actor: Actor, case_id: str, *, master_id: str,
               expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """合并: fold a duplicate into an open master case of the same element."""
    def compute(c: Ctx) -> Change:
        if master_id == c.row.id:
            raise InputError("a case cannot be merged into itself", field="master_id", rule="different_case")
        try:
            master, _, _ = access_case(c.conn, c.actor, master_id, for_write=False)
        except NotFoundError as exc:
            raise InputError("master case not found", field="master_id", rule="exists") from exc
        if master.status in (Status.VOIDED, Status.MERGED, Status.CLOSED, Status.FOLLOWED_UP):
            raise InputError("the master case is not open", field="master_id", rule="open_case")
        if master.element_code != c.row.element_code:
            raise InputError("the master case is about a different element", field="master_id",
                             rule="same_element")
        return Change(status=Status.MERGED, keep_handle_step=False,
                      values={"master_case_id": master.id},
                      after={"master_id": master.id, "master_number": master.number},
                      ledger=[("case.duplicate_attached", {"master_id": master.id})])
    return _run(p, actor, case_id, Action.MERGE, compute, expected_version=expected_version,
                request_id=request_id, event="case.merged")


def supervise_case(p: Platform, actor: Actor, case_id: str, *, reason: str, hours: float = 24,
                   expected_version: int | None = None, request_id: str = "-") -> dict[str, Any]:
    """督办: a supervisor raises a supervision order with its own deadline."""
    text = _require_text(reason, "reason")
    if not (0 < hours <= 24 * 30):
        raise InputError("hours must be between 0 and 720", field="hours", rule="range")

    def compute(c: Ctx) -> Change:
        raise_supervision(c.conn, c.row.id, c.row.loop_level, reason=text, source="manual", raised_by=c.actor.id,
                          at=c.now, due=c.now + timedelta(hours=hours))
        return Change(after={"reason": text, "hours": hours})
    return _run(p, actor, case_id, Action.SUPERVISE, compute, expected_version=expected_version,
                request_id=request_id, event="case.supervised")


def raise_supervision(conn: Connection, case_id: str, loop_level: str, *, reason: str, source: str,
                      raised_by: str, at: datetime, due: datetime) -> int:
    result = conn.execute(insert(store.supervision_orders).values(
        case_id=case_id, reason=reason, source=source, loop_level=loop_level, raised_by=raised_by,
        raised_at=at, due_at=due, status="open"))
    pk = result.inserted_primary_key
    return int(pk[0]) if pk else 0
