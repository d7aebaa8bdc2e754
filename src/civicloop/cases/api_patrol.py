"""Patrol reports (巡查上报): a grid worker finds a problem, photographs it and reports it.

``POST /api/v1/patrols`` takes a multipart form — element, description, the phone's GPS
position and one to five photos. When the form carries no position, the first photo's EXIF
GPS is used (phones record it); with neither, the report is refused naming ``lon``. Photos are
checked (size, magic bytes, decodable) and stored before the case is written; the case and
its photo notes are one transaction. The channel is ``patrol``, so evaluation counts it as
proactive discovery (主动发现), not as a citizen's report.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from civicloop.cases import schemas as s
from civicloop.cases import service
from civicloop.cases.api import PlatformDep, RequestId, on_writer, present
from civicloop.cases.model import Channel
from civicloop.core.auth import require_roles
from civicloop.core.errors import InputError
from civicloop.core.photos import attachment_store, store_photos
from civicloop.org.model import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["cases"])
MAX_PHOTOS = 5
GridWorker = Annotated[Actor, Depends(require_roles(Role.GRID_WORKER))]


@router.post(
    "/patrols",
    status_code=201,
    response_model=s.CaseRead,
    summary="巡查上报: a grid worker's report with photos and GPS (proactive discovery)",
)
async def patrol_report(
    p: PlatformDep,
    actor: GridWorker,
    rid: RequestId,
    element_code: Annotated[str, Form(min_length=1, max_length=16)],
    description: Annotated[str, Form(min_length=1)],
    photos: Annotated[list[UploadFile], File(description="1 to 5 photos")],
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    title: Annotated[str, Form(max_length=200)] = "",
) -> dict[str, Any]:
    store = attachment_store(p.settings.data_dir, p.settings.max_upload_bytes)
    metas, gps = await store_photos(store, list(photos), field="photos", most=MAX_PHOTOS)
    position = (lon, lat) if lon is not None and lat is not None else gps
    if position is None:
        raise InputError(
            "give the position (lon and lat) or a photo with GPS in its EXIF",
            field="lon",
            rule="required",
        )
    draft = service.CaseDraft(
        element_code=element_code,
        description=description,
        channel=Channel.PATROL,
        title=title,
        lon=position[0],
        lat=position[1],
        photos=tuple(metas),
    )
    view = await on_writer(p, service.report_case, p, actor, draft, request_id=rid)
    return present(view, actor)
