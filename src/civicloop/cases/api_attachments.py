"""Evidence attachments of a case: upload (photo, PDF, video) and download.

Files are content-addressed (stored once under their SHA-256 in ``<data_dir>/attachments``);
the case note that refers to a file is what makes it visible, so downloading needs the same
access to the case as reading it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from civicloop.cases import queries, service
from civicloop.cases import schemas as s
from civicloop.cases.api import ActorDep, PlatformDep, RequestId, on_writer, present
from civicloop.core.errors import InputError, NotFoundError

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Leading bytes of each accepted type: a client's Content-Type alone is not trusted.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


def _looks_like(content_type: str, data: bytes) -> bool:
    if content_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if content_type in ("video/mp4", "image/heic"):
        return data[4:8] == b"ftyp"  # ISO base media file: mp4, heic
    return data.startswith(_MAGIC.get(content_type, (b"",)))


ATTACHMENT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
    "video/mp4",
)


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
    if content_type not in ATTACHMENT_TYPES:
        raise InputError(
            f"file type {content_type or 'unknown'} is not accepted",
            field="file",
            rule=f"one of {', '.join(ATTACHMENT_TYPES)}",
        )
    data = await file.read(MAX_ATTACHMENT_BYTES + 1)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InputError("file is larger than 10 MB", field="file", rule="max_size")
    if not data:
        raise InputError("file is empty", field="file", rule="non_empty")
    if not _looks_like(content_type, data):
        raise InputError(
            f"the file's content is not {content_type}", field="file", rule="content_matches_type"
        )
    digest = hashlib.sha256(data).hexdigest()
    folder = p.settings.data_dir / "attachments"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():  # content-addressed: the same photo twice is stored once
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    meta = {
        "filename": Path(file.filename or "upload").name[:200],
        "content_type": content_type,
        "size": len(data),
        "sha256": digest,
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
            path = p.settings.data_dir / "attachments" / sha256
            if path.exists():
                return FileResponse(
                    path, media_type=meta["content_type"], filename=meta["filename"]
                )
    raise NotFoundError("attachment not found", code="attachment.not_found")
