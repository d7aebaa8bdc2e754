"""The intake API: free-text reports, the proposal and triage queue, confirm or reject.

Routes under ``/api/v1/intake``. Operators (recording a 12345 call), citizens and machine
clients post reports; operators, dispatchers and shift chiefs work the queue (auditors and
admins may read it); a reporter may read their own report. A report outside one's scope reads
as missing. Contact phone numbers and numbers typed into the text are masked for every viewer
without a need (anyone but the queue roles and the reporter).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from civicloop.cases.api import ActorDep, PlatformDep, RequestId, on_writer, present
from civicloop.core.auth import require_roles
from civicloop.core.errors import ForbiddenError
from civicloop.core.photos import attachment_store, store_photos
from civicloop.core.security import mask_phone, mask_text
from civicloop.intake import schemas as s
from civicloop.intake import service
from civicloop.intake.geocoder import geocode
from civicloop.org.model import Actor

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])

Deciders = Annotated[Actor, Depends(require_roles(*service.QUEUE_ROLES))]
Readers = Annotated[Actor, Depends(require_roles(*service.READ_ROLES))]


def shown(row: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Mask contact and typed-in numbers unless the viewer works the queue or reported it."""
    if actor.role in service.QUEUE_ROLES or row.get("reporter_id") == actor.id:
        return row
    return {
        **row,
        "contact_phone": mask_phone(row.get("contact_phone")),
        "contact_name": None,
        "text": mask_text(row.get("text")),
    }


@router.post("/reports", status_code=201, response_model=s.ReportRead, summary="Report in words")
async def create_report(
    body: s.ReportCreate, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    if actor.role not in service.REPORT_ROLES:
        raise ForbiddenError("this role does not record reports", role=str(actor.role))
    row = await on_writer(p, service.submit_report, p, actor, **body.model_dump(), request_id=rid)
    return shown(row, actor)


MAX_PHOTOS = 5


@router.post(
    "/reports/with-photos",
    status_code=201,
    response_model=s.ReportRead,
    summary="Report in words with photos (multipart); a photo's EXIF GPS places it when no lon/lat",
)
async def create_report_with_photos(
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    text: Annotated[str, Form(max_length=100_000)],
    photos: Annotated[list[UploadFile], File(description="1 to 5 photos")],
    channel: Annotated[Literal["hotline", "web", "app"] | None, Form()] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    contact_name: Annotated[str | None, Form(max_length=64)] = None,
    contact_phone: Annotated[str | None, Form(max_length=32)] = None,
) -> dict[str, Any]:
    if actor.role not in service.REPORT_ROLES:
        raise ForbiddenError("this role does not record reports", role=str(actor.role))
    store = attachment_store(p.settings.data_dir, p.settings.max_upload_bytes)
    metas, gps = await store_photos(store, list(photos), field="photos", most=MAX_PHOTOS)
    if (lon is None or lat is None) and gps is not None:
        lon, lat = gps  # the phone's position when the photo was taken
    row = await on_writer(
        p,
        service.submit_report,
        p,
        actor,
        text=text,
        channel=channel,
        lon=lon,
        lat=lat,
        contact_name=contact_name,
        contact_phone=contact_phone,
        photos=metas,
        request_id=rid,
    )
    return shown(row, actor)


@router.get("/queue", response_model=s.ReportPage, summary="Reports awaiting a decision")
def queue(
    p: PlatformDep,
    actor: Readers,
    status: Literal["triage", "proposed"] = "triage",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    items, total = service.list_queue(p, actor, status=status, limit=limit, offset=offset)
    return {
        "items": [shown(i, actor) for i in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/reports/{report_id}", response_model=s.ReportRead, summary="One report")
def read_report(report_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return shown(service.read_report(p, actor, report_id), actor)


@router.post(
    "/reports/{report_id}/confirm",
    response_model=s.ConfirmRead,
    summary="Confirm (or correct and confirm) the proposal: files the case",
)
async def confirm(
    report_id: str,
    p: PlatformDep,
    actor: Deciders,
    rid: RequestId,
    body: s.ConfirmBody | None = None,
) -> dict[str, Any]:
    fields = body.model_dump() if body else {}
    row = await on_writer(p, service.confirm_report, p, actor, report_id, **fields, request_id=rid)
    return {**shown(row, actor), "case": present(row["case"], actor)}


@router.post(
    "/reports/{report_id}/reject", response_model=s.ReportRead, summary="Reject with a reason"
)
async def reject(
    report_id: str, body: s.RejectBody, p: PlatformDep, actor: Deciders, rid: RequestId
) -> dict[str, Any]:
    row = await on_writer(
        p, service.reject_report, p, actor, report_id, reason=body.reason, request_id=rid
    )
    return shown(row, actor)


@router.get(
    "/geocode",
    response_model=s.GeoRead | None,
    summary="Where a text says a place is (null when it names none)",
)
def locate_text(
    p: PlatformDep, actor: ActorDep, q: Annotated[str, Query(min_length=1, max_length=500)]
) -> dict[str, Any] | None:
    match = geocode(p, q)
    return asdict(match) if match else None
