"""HTTP routes of the registry context: records, address matching, profiles, corrections,
the group-renting detector.

Every route needs a logged-in actor; what a record shows (masked or not) and whether it is
found at all (territory) is decided in ``registry.service`` (``access_record``, ``present``).
Reads run on the thread pool (they are plain ``def`` routes); writes go through the services.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from civicloop.core.auth import current_actor, platform, request_id, require_roles
from civicloop.core.errors import ForbiddenError, InputError
from civicloop.org.model import TERRITORIAL_ROLES, Actor, Role
from civicloop.registry import corrections, profiles, service
from civicloop.registry.group_renting import detect_group_renting
from civicloop.registry.model import GroupRentingRules
from civicloop.registry.schemas import CorrectionCreate, CorrectionReview, GroupRentingRun
from civicloop.runtime import Platform

router = APIRouter(tags=["registry"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]


@router.get("/api/v1/registry/records/{kind}")
def list_records(
    kind: str,
    p: PlatformDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of a registry in the viewer's territory (masked as for one record)."""
    items, total = service.list_records(p, actor, kind, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/api/v1/registry/records/{kind}/{record_id}")
def read_record(kind: str, record_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """One registry record (person, entity, room, building) as the viewer may see it."""
    k = service.table_kind(kind)
    return service.present(actor, k, service.access_record(p, actor, k, record_id))


@router.get("/api/v1/registry/addresses/match")
def match_address(
    p: PlatformDep, actor: ActorDep, q: Annotated[str, Query(min_length=2, max_length=300)]
) -> dict[str, Any]:
    """Parse an address and place it: registry room or building, else the gazetteer's road
    segment, compound or street, with the precision stated (``match`` is null when unknown)."""
    from civicloop.registry.address import parse

    if actor.role not in TERRITORIAL_ROLES:
        raise ForbiddenError("address matching is for territorial staff")
    return {"parts": parse(q).as_dict(), "match": service.locate_address(p, q)}


@router.get("/api/v1/profiles/{kind}/{record_id}")
def read_profile(kind: str, record_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """一企一档 / 一人一档 / 一房一档: facts, cases, demands, residents, history, corrections and
    the sections other contexts contribute."""
    return profiles.profile(p, kind, record_id, actor)


MAX_UPLOAD = 64 * 1024 * 1024  # a 100,000-row XLSX is ~10 MB


@router.post("/api/v1/registry/imports/{kind}")
def import_registry(
    kind: str,
    p: PlatformDep,
    rid: RequestId,
    actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))],
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX, header row first")],
    dry_run: bool = True,
) -> dict[str, Any]:
    """Import a registry file (admin). A dry run (the default) only reports; otherwise a file
    with any problem answers 422 listing every problem, and nothing is written."""
    import tempfile
    from pathlib import Path

    from civicloop.registry.importer import import_file

    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise InputError("upload a .csv or .xlsx file", field="file", rule="file.type")
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InputError("the file is larger than 64 MB", field="file", rule="file.size")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        report = import_file(p, kind, path, dry_run=dry_run, actor=actor, request_id=rid)
    return {**report.summary(), "problem_list": [pr.line() for pr in report.problems[:1000]]}


@router.post("/api/v1/registry/corrections", status_code=201)
def propose_correction(
    body: CorrectionCreate, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    """Propose a correction found on site (grid worker, street admin); nothing changes yet."""
    return corrections.propose_correction(
        p, actor, body.kind, body.record_id, body.changes, body.note, request_id=rid
    )


@router.get("/api/v1/registry/corrections")
def list_corrections(
    p: PlatformDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(pattern="^(proposed|approved|rejected)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    return {"items": corrections.list_corrections(p, actor, status=status, limit=limit)}


@router.post("/api/v1/registry/corrections/{correction_id}/approve")
def approve_correction(
    correction_id: str, body: CorrectionReview, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    """Apply a proposed correction (street admin of the territory): history and ledger."""
    return corrections.review_correction(
        p, actor, correction_id, approve=True, note=body.note, request_id=rid
    )


@router.post("/api/v1/registry/corrections/{correction_id}/reject")
def reject_correction(
    correction_id: str, body: CorrectionReview, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    return corrections.review_correction(
        p, actor, correction_id, approve=False, note=body.note, request_id=rid
    )


@router.post("/api/v1/registry/group-renting/detect")
def run_group_renting(
    body: GroupRentingRun,
    p: PlatformDep,
    rid: RequestId,
    actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))],
) -> dict[str, Any]:
    """Run the group-renting detector now (admin); new alerts are filed as data-rule cases."""
    rules = GroupRentingRules(
        min_area_per_person_m2=body.min_area_per_person_m2,
        max_per_room=body.max_per_room,
        strong_ratio=body.strong_ratio,
    )
    results = detect_group_renting(p, rules=rules, request_id=rid)
    return {
        "rooms_over_limit": len(results),
        "alerted": sum(1 for r in results if r["outcome"] == "alerted"),
        "results": results,
    }
