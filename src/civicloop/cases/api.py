"""The case API: parse → authorise → call the service → answer with a schema.

Routes under ``/api/v1/cases``. Every route needs an authenticated actor; which cases the
actor sees is decided by ``cases.access``; which actions it may take by ``cases.policy``.
Personal data is masked for viewers who have no need for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from civicloop.cases import queries, service, tracking
from civicloop.cases import schemas as s
from civicloop.cases.model import Channel, Priority
from civicloop.core.auth import current_actor, platform, request_id
from civicloop.core.errors import InputError, NotFoundError
from civicloop.core.security import mask_phone, mask_text
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
T = TypeVar("T")

# Roles that call reporters back or screen reports need the raw contact details.
CONTACT_ROLES = frozenset({Role.OPERATOR, Role.SHIFT_CHIEF, Role.DISPATCHER})

PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]


def present(view: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Mask phone and ID numbers unless the viewer needs them (or reported the case)."""
    if actor.role in CONTACT_ROLES or view.get("reporter_id") == actor.id:
        return view
    out = dict(view)
    out["reporter_phone"] = mask_phone(view.get("reporter_phone"))
    out["description"] = mask_text(view.get("description"))
    out["title"] = mask_text(view.get("title"))
    if actor.role not in (
        Role.DEPARTMENT_HANDLER,
        Role.GRID_WORKER,
        Role.STREET_ADMIN,
        Role.DISTRICT_SUPERVISOR,
        Role.ADMIN,
    ):
        out["reporter_name"] = None
    if "notes" in out:
        out["notes"] = [{**n, "text": mask_text(n.get("text"))} for n in out["notes"]]
    return out


async def on_writer(p: Platform, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a write on the event loop when the database is SQLite, on the thread pool otherwise.

    SQLite has one writer: concurrent writes queue on its lock whichever thread runs them, so
    the thread-pool hop buys nothing but its own cost (measured with benchmarks/cases.py: 375 →
    680 case filings/s). A write holds the loop for under a millisecond. PostgreSQL writes wait
    on the network and run concurrently, so they go to the pool.

    (Tried and measured slower here: group commit — several requests' writes in one SQLite
    transaction, each in a savepoint — 500 filings/s; one dedicated writer thread, 350/s.)
    """
    if p.db.is_sqlite:
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


def _version(body_version: int | None, if_match: str | None) -> int | None:
    if body_version is not None:
        return body_version
    if if_match:
        raw = if_match.strip().strip('"').removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise InputError(
                "If-Match must be the case version number", field="If-Match", rule="integer"
            )
        return int(raw)
    return None


IfMatch = Annotated[str | None, Header(alias="If-Match")]


@router.post("", status_code=201, response_model=s.CaseRead, summary="Report a problem (上报)")
async def create_case(
    body: s.CaseCreate, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    draft = service.CaseDraft(**body.model_dump())
    view = await on_writer(p, service.report_case, p, actor, draft, request_id=rid)
    return present(view, actor)


@router.get("", response_model=s.CasePage, summary="List cases in your scope")
def list_cases(
    p: PlatformDep,
    actor: ActorDep,
    status: Annotated[list[str] | None, Query(description="repeat for several")] = None,
    element_code: str | None = None,
    scene_code: str | None = None,
    street_code: str | None = None,
    department: str | None = None,
    is_overdue: bool | None = None,
    is_open: bool | None = None,
    channel: Channel | None = None,
    priority: Priority | None = None,
    sort: Annotated[
        Literal["newest", "priority"],
        Query(description="newest first, or high priority first (the triage order)"),
    ] = "newest",
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    for t, name in ((reported_from, "reported_from"), (reported_to, "reported_to")):
        if t is not None and t.tzinfo is None:
            raise InputError(
                f"{name} needs a time zone (e.g. 2026-11-27T08:00:00+08:00)",
                field=name,
                rule="timezone_aware",
            )
    flt = queries.CaseFilter(
        status=status,
        element_code=element_code,
        scene_code=scene_code,
        street_code=street_code,
        department=department,
        is_overdue=is_overdue,
        is_open=is_open,
        channel=str(channel) if channel else None,
        priority=str(priority) if priority else None,
        sort=sort,
        reported_from=reported_from,
        reported_to=reported_to,
    )
    items, total = queries.list_cases(p, actor, flt, limit=limit, offset=offset)
    return {
        "items": [present(i, actor) for i in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/{case_id}", response_model=s.CaseDetail, summary="One case with its clock and notes")
def read_case(case_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return present(queries.read_case(p, actor, case_id), actor)


@router.get(
    "/{case_id}/timeline",
    response_model=list[s.TimelineEntry],
    summary="The case's trace, from the ledger",
)
def timeline(case_id: str, p: PlatformDep, actor: ActorDep) -> list[dict[str, Any]]:
    entries = [dict(e.__dict__) for e in queries.case_timeline(p, actor, case_id)]
    if actor.role not in CONTACT_ROLES:
        # notes quoted in the trail may carry phone or ID numbers typed by people
        for entry in entries:
            entry["before"], entry["after"] = _masked(entry["before"]), _masked(entry["after"])
    return entries


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


async def _act(
    fn: Any, p: Platform, actor: Actor, case_id: str, version: int | None, rid: str, **kwargs: Any
) -> dict[str, Any]:
    view = await on_writer(
        p, fn, p, actor, case_id, expected_version=version, request_id=rid, **kwargs
    )
    return present(view, actor)


@router.post("/{case_id}/accept", response_model=s.CaseRead, summary="受理 accept a report")
async def accept(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
    body: s.Versioned | None = None,
) -> dict[str, Any]:
    return await _act(
        service.accept_case,
        p,
        actor,
        case_id,
        _version(body.expected_version if body else None, if_match),
        rid,
    )


@router.post("/{case_id}/void", response_model=s.CaseRead, summary="作废 void a report")
async def void(
    case_id: str,
    body: s.ReasonBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.void_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
    )


@router.post(
    "/{case_id}/check", response_model=s.CaseRead, summary="核实 on-site check of a report"
)
async def check(
    case_id: str,
    body: s.CheckBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.check_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        is_valid=body.is_valid,
        note=body.note,
    )


@router.post("/{case_id}/file", response_model=s.CaseRead, summary="立案 file the case")
async def file(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
    body: s.FileBody | None = None,
) -> dict[str, Any]:
    b = body or s.FileBody()
    return await _act(
        service.file_case,
        p,
        actor,
        case_id,
        _version(b.expected_version, if_match),
        rid,
        filing_condition=b.filing_condition,
    )


@router.post(
    "/{case_id}/dispatch", response_model=s.CaseRead, summary="派遣 dispatch to departments"
)
async def dispatch(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
    body: s.DispatchBody | None = None,
) -> dict[str, Any]:
    b = body or s.DispatchBody()
    return await _act(
        service.dispatch_case,
        p,
        actor,
        case_id,
        _version(b.expected_version, if_match),
        rid,
        lead=b.lead,
        assists=b.assists,
        loop_level=b.loop_level,
    )


@router.post(
    "/{case_id}/sign", response_model=s.CaseRead, summary="签收 the lead department accepts"
)
async def sign(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
    body: s.Versioned | None = None,
) -> dict[str, Any]:
    return await _act(
        service.sign_case,
        p,
        actor,
        case_id,
        _version(body.expected_version if body else None, if_match),
        rid,
    )


@router.post("/{case_id}/return", response_model=s.CaseRead, summary="退单 return with a reason")
async def return_(
    case_id: str,
    body: s.ReasonBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.return_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
    )


@router.post("/{case_id}/notes", response_model=s.CaseRead, summary="a progress note")
async def note(
    case_id: str,
    body: s.NoteBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.add_note,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        text=body.text,
    )


@router.post(
    "/{case_id}/extensions", response_model=s.CaseRead, summary="延期申请 request more time"
)
async def extension(
    case_id: str,
    body: s.ExtensionBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.request_extension,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
        hours=body.hours,
    )


@router.post("/{case_id}/extensions/decision", response_model=s.CaseRead, summary="延期审批 decide")
async def extension_decision(
    case_id: str,
    body: s.ExtensionDecision,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.decide_extension,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        approve=body.approve,
        note=body.note,
    )


@router.post("/{case_id}/feedback", response_model=s.CaseRead, summary="处理反馈 report the result")
async def feedback(
    case_id: str,
    body: s.NoteBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.feedback_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        text=body.text,
    )


@router.post("/{case_id}/verify", response_model=s.CaseRead, summary="核查 on-site verification")
async def verify(
    case_id: str,
    body: s.VerifyBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.verify_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        passed=body.passed,
        note=body.note,
    )


@router.post("/{case_id}/close", response_model=s.CaseRead, summary="结案 close")
async def close(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
    body: s.CloseBody | None = None,
) -> dict[str, Any]:
    b = body or s.CloseBody()
    return await _act(
        service.close_case,
        p,
        actor,
        case_id,
        _version(b.expected_version, if_match),
        rid,
        closure_type=b.closure_type,
        reason=b.reason,
    )


@router.post("/{case_id}/rework", response_model=s.CaseRead, summary="返工 rework")
async def rework(
    case_id: str,
    body: s.ReasonBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.rework_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
    )


@router.post("/{case_id}/follow-up", response_model=s.CaseRead, summary="回访 satisfaction")
async def follow_up(
    case_id: str,
    body: s.FollowUpBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.follow_up_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        satisfaction=body.satisfaction,
        comment=body.comment,
    )


@router.post("/{case_id}/reopen", response_model=s.CaseRead, summary="reopen a closed case")
async def reopen(
    case_id: str,
    body: s.ReasonBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.reopen_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
    )


@router.post("/{case_id}/merge", response_model=s.CaseRead, summary="合并 merge into a master case")
async def merge(
    case_id: str,
    body: s.MergeBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.merge_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        master_id=body.master_id,
    )


@router.post(
    "/{case_id}/supervise", response_model=s.CaseRead, summary="督办 raise a supervision order"
)
async def supervise(
    case_id: str,
    body: s.SuperviseBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.supervise_case,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        reason=body.reason,
        hours=body.hours,
    )


public_router = APIRouter(prefix="/api/v1/track", tags=["public"])


@public_router.get(
    "/{tracking_code}",
    response_model=s.TrackRead,
    summary="Follow a case by its tracking code (public, no personal data)",
)
def track(tracking_code: str, request: Request) -> dict[str, Any]:
    p: Platform = request.app.state.platform
    if len(tracking_code) > 16:
        raise NotFoundError("no case with this tracking code", code="case.not_found")
    found = tracking.read_by_tracking_code(p, tracking_code.upper())
    if found is None:
        raise NotFoundError("no case with this tracking code", code="case.not_found")
    return found
