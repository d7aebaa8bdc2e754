"""Evidence attachments of a case: upload (photo, PDF, video) and download.

Files are checked and stored by ``core.photos`` (content-addressed under their SHA-256 in
``<data_dir>/attachments``, size limit ``settings.max_upload_bytes``); the case note that
refers to a file is what makes it visible, so downloading needs the same access to the case
as reading it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from civicloop.cases import queries, service
from civicloop.cases import schemas as s
from civicloop.cases.api import ActorDep, PlatformDep, RequestId, on_writer, present
from civicloop.core.errors import NotFoundError
from civicloop.core.photos import ATTACHMENT_TYPES, attachment_store

__all__ = ["ATTACHMENT_TYPES", "router"]  # ATTACHMENT_TYPES: kept importable from here

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.post(
    "/{case_id}/evidence", response_model=s.CaseRead, summary="upload evidence (photo, PDF, video)"
)
async def evidence(
    case_id: str,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    file: Annotated[UploadFile, File()],
    text: Annotated[str, Form(max_length=2000)] = "",
    expected_version: Annotated[int | None, Form()] = None,
) -> dict[str, Any]:
    content_type = (file.content_type or "").split(";")[0].strip()
    queries.read_case(p, actor, case_id)  # not found / not yours: refuse before storing anything
    store = attachment_store(p.settings.data_dir, p.settings.max_upload_bytes)
    stored = await store.put_upload(file, content_type, field="file")
    meta = {
        "filename": Path(file.filename or "upload").name[:200],
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
    }
    view = await on_writer(
        p,
        service.add_note,
        p,
        actor,
        case_id,
        expected_version=expected_version,
        request_id=rid,
        text=text,
        attachment=meta,
    )
    return present(view, actor)


@router.get("/{case_id}/attachments/{sha256}", summary="download an attachment of the case")
def attachment(case_id: str, sha256: str, p: PlatformDep, actor: ActorDep) -> FileResponse:
    detail = queries.read_case(p, actor, case_id)
    for n in detail["notes"]:
        meta = n.get("attachment") or {}
        if meta.get("sha256") == sha256:
            path = attachment_store(p.settings.data_dir, p.settings.max_upload_bytes).path(sha256)
            if path is not None:
                return FileResponse(
                    path, media_type=meta["content_type"], filename=meta["filename"]
                )
    raise NotFoundError("attachment not found", code="attachment.not_found")
