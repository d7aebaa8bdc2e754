"""HTTP routes of discovery's ingestion side: receivers, the device registry, readings, the
quarantine. (Alerts, rules and emergency mode are in ``discovery.api_alerts``.)

Receivers — ``POST /ngsi-ld/notify`` (NGSI-LD notifications from a context broker) and
``POST /api/v1/readings`` (plain JSON batches) — are for machine clients with an API key
(``X-API-Key``) and administrators. They read the raw bytes (orjson, no per-entity pydantic)
and answer after the batch is committed: 200 with counts, or 207 with the NGSI-LD
BatchOperationResult shape when some entities were refused (the others are stored). An
unusable envelope is 400 ``application/problem+json`` with the ETSI error type. With
``CIVICLOOP_REDIS_URL`` set they queue the checked batch instead and answer 202.

Who sees which device: administrators, auditors and district-level staff all; a department
its own devices; street and grid staff the devices on grids in their territory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from civicloop.core import i18n
from civicloop.core.auth import current_actor, platform, request_id, require_roles
from civicloop.core.errors import ForbiddenError, NotFoundError
from civicloop.core.security import mask_text
from civicloop.discovery import ingest as pipeline
from civicloop.discovery import schemas as s
from civicloop.discovery import service, streams
from civicloop.discovery.model import Device
from civicloop.discovery.ngsi import (
    ETSI_ERRORS,
    INVALID_REQUEST,
    NgsiError,
    Parsed,
    parse_notification,
    parse_plain,
)
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

router = APIRouter(tags=["discovery"])

# Registers the profiles' devices, alerts and permits sections (一房一档, 一企一档).
from civicloop.discovery import sections  # noqa: E402, F401

PlatformDep = Annotated[Platform, Depends(platform)]
RequestId = Annotated[str, Depends(request_id)]
Sender = Annotated[Actor, Depends(require_roles(Role.MACHINE_CLIENT, Role.ADMIN))]
Viewer = Annotated[Actor, Depends(current_actor)]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Keeper = Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.SHIFT_CHIEF, Role.MACHINE_CLIENT))]
QuarantineViewer = Annotated[
    Actor,
    Depends(require_roles(Role.ADMIN, Role.SHIFT_CHIEF, Role.DISTRICT_SUPERVISOR, Role.AUDITOR)),
]
# Roles that see every device of the district, whatever their region.
WHOLE_DISTRICT = frozenset({Role.ADMIN, Role.AUDITOR, Role.DISTRICT_SUPERVISOR})
# Device attributes that may name or identify a person (the elder's room, a truck's plate).
PERSONAL_ATTRS = frozenset({"room_id", "resident", "resident_name", "phone", "plate", "owner"})
MAX_BATCH = 1000  # entities per request, as Orion-LD's batch limit


# ---------------------------------------------------------------- receivers


def _ngsi_problem(exc: NgsiError, request: Request) -> JSONResponse:
    lang = i18n.language(request.headers.get("accept-language"))
    title = "请求无效" if lang.startswith("zh") else "Invalid request"
    if exc.kind != INVALID_REQUEST:
        title = "请求数据有误" if lang.startswith("zh") else "Bad request data"
    body = {
        "type": ETSI_ERRORS + exc.kind,
        "title": title,
        "detail": exc.detail,
        "status": 400,
        "field": exc.field,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    return JSONResponse(body, status_code=400, media_type="application/problem+json")


async def _receive(request: Request, p: Platform, rid: str, kind: str) -> Response:
    body = await request.body()
    content_type = request.headers.get("content-type", "application/json")
    link = request.headers.get("link")
    try:
        if kind == "ngsi":
            parsed = parse_notification(
                body, content_type=content_type, link=link, now=p.clock.now()
            )
        else:
            parsed = parse_plain(body, now=p.clock.now())
        size = len(parsed.observations) + len(parsed.errors)
        if size > MAX_BATCH:
            raise NgsiError(
                "BadRequestData", f"at most {MAX_BATCH} entities per request", field="data"
            )
    except NgsiError as exc:
        return _ngsi_problem(exc, request)
    if streams.redis_url(p):
        entry = await run_in_threadpool(
            streams.enqueue, p, kind, body, content_type=content_type, link=link, request_id=rid
        )
        return JSONResponse({"queued": size, "stream_id": entry}, status_code=202)
    result = await run_in_threadpool(pipeline.ingest, p, parsed, request_id=rid, with_ids=True)
    return _answer(result, parsed)


def _answer(result: pipeline.IngestResult, parsed: Parsed) -> JSONResponse:
    body: dict[str, Any] = {
        **result.counts(),
        "notification_id": parsed.notification_id,
        "contexts": parsed.contexts,
        "success": result.success,
        "errors": [e.problem() for e in sorted(result.errors, key=lambda e: e.index)],
    }
    return JSONResponse(body, status_code=207 if result.errors else 200)


@router.post(
    "/ngsi-ld/notify",
    summary="Receive an NGSI-LD notification (normalized or keyValues; @context in Link or body)",
    responses={207: {"description": "some entities refused, the others stored"}},
)
async def ngsi_notify(request: Request, p: PlatformDep, actor: Sender, rid: RequestId) -> Response:
    return await _receive(request, p, rid, "ngsi")


@router.post(
    "/api/v1/readings",
    summary="Store a batch of readings: {readings: [{device_id, observed_at, attrs, lon?, lat?}]}",
    responses={207: {"description": "some readings refused, the others stored"}},
)
async def post_readings(
    request: Request, p: PlatformDep, actor: Sender, rid: RequestId
) -> Response:
    return await _receive(request, p, rid, "plain")


# ---------------------------------------------------------------- quarantine


@router.get("/api/v1/readings/quarantine", response_model=list[s.QuarantineRead])
def get_quarantine(
    p: PlatformDep,
    actor: QuarantineViewer,
    device_id: str | None = None,
    pending: bool = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Readings from devices nobody registered, kept until their device is."""
    return pipeline.list_quarantine(p, device_id=device_id, pending=pending, limit=limit)


@router.post("/api/v1/readings/quarantine/reprocess")
def reprocess(
    p: PlatformDep, actor: Admin, rid: RequestId, device_id: str | None = None
) -> dict[str, Any]:
    """Replay pending quarantined readings whose device is now registered."""
    result = pipeline.reprocess_quarantine(
        p, [device_id] if device_id else None, actor=actor, request_id=rid
    )
    return result.counts()


# ---------------------------------------------------------------- devices


def can_see(p: Platform, actor: Actor, device: Device) -> bool:
    """Whether ``actor`` may see ``device`` (see the module docstring)."""
    if actor.role in WHOLE_DISTRICT:
        return True
    if device.owner_department and device.owner_department in actor.department_ids:
        return True
    if actor.role in (Role.CITIZEN, Role.ENTERPRISE, Role.MACHINE_CLIENT):
        return False
    path = p.grid_path(device.grid_code) if device.grid_code else None
    if path is None:  # no grid: district-wide devices, for district-level staff
        return actor.region_path.count("/") <= 2 and bool(actor.region_path)
    return actor.covers(path)


def _view(device: Device, actor: Actor, seen: datetime | None = None) -> dict[str, Any]:
    attrs = dict(device.attrs)
    name = attrs.pop("name", None)
    needs = actor.role in WHOLE_DISTRICT or (
        device.owner_department is not None and device.owner_department in actor.department_ids
    )
    if not needs:
        attrs = {
            k: (_masked(v) if k in PERSONAL_ATTRS and v is not None else v)
            for k, v in attrs.items()
        }
    return {
        "device_id": device.device_id,
        "entity_type": device.entity_type,
        "name": name if isinstance(name, str) else None,
        "lon": device.lon,
        "lat": device.lat,
        "grid_code": device.grid_code,
        "owner_department": device.owner_department,
        "report_interval_s": device.report_interval_s,
        "attrs": attrs,
        "last_seen_at": seen,
    }


def _masked(value: Any) -> str:
    """Phone and ID numbers and names masked; other personal values (a plate, a room) keep
    only their first two characters."""
    text = str(value)
    masked = mask_text(text) or ""
    if masked != text:
        return masked
    return text[:2] + "***" if len(text) > 2 else "***"


def _visible(p: Platform, actor: Actor, device_id: str) -> Device:
    device = service.devices_by_id(p, [device_id]).get(device_id)
    if device is None or not can_see(p, actor, device):
        raise NotFoundError(f"no device {device_id!r}", code="device.not_found")
    return device


def _from_body(device_id: str, body: s.DeviceUpsert | s.DeviceIn) -> Device:
    attrs = dict(body.attrs)
    if body.name:
        attrs["name"] = body.name
    return Device(
        device_id,
        body.entity_type,
        body.lat,
        body.lon,
        body.grid_code,
        body.owner_department,
        body.report_interval_s,
        attrs,
    )


def _may_write(actor: Actor, devices: list[Device]) -> None:
    if actor.role is Role.MACHINE_CLIENT and any(
        d.owner_department is None or d.owner_department not in actor.department_ids
        for d in devices
    ):
        raise ForbiddenError("a gateway key may register only its own department's devices")


@router.get("/api/v1/devices", response_model=s.DevicePage)
def get_devices(
    p: PlatformDep,
    actor: Viewer,
    entity_type: str | None = None,
    grid_code: Annotated[str | None, Query(description="a grid, community or street code")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    if actor.role in (Role.CITIZEN, Role.ENTERPRISE):
        raise ForbiddenError("devices are for staff")
    department = None
    prefix = grid_code
    if actor.role not in WHOLE_DISTRICT:
        if actor.role in (Role.DEPARTMENT_HANDLER, Role.MACHINE_CLIENT):
            department = next(iter(sorted(actor.department_ids)), "-")
        else:
            own = [c for c in actor.region_path.split("/") if c]
            territory = own[-1] if own else "-"
            if prefix is None or territory.startswith(prefix):
                prefix = territory  # the whole of their territory
            elif not prefix.startswith(territory):
                prefix = "-"  # outside their territory: nothing
    devices, total = service.list_devices(
        p,
        entity_type=entity_type,
        grid_prefix=prefix,
        department=department,
        limit=limit,
        offset=offset,
    )
    seen = service.last_seen(p, [d.device_id for d in devices])
    return {"items": [_view(d, actor, seen.get(d.device_id)) for d in devices], "total": total}


@router.post("/api/v1/devices", response_model=s.RegisterResult)
def post_devices(
    body: s.DeviceBatch, p: PlatformDep, actor: Keeper, rid: RequestId
) -> dict[str, Any]:
    """Register or update devices, all or none (``dry_run`` checks only)."""
    devices = [_from_body(d.device_id, d) for d in body.devices]
    _may_write(actor, devices)
    report = service.register_devices(p, devices, actor=actor, request_id=rid, dry_run=body.dry_run)
    return {
        k: getattr(report, k) for k in ("created", "updated", "unchanged", "dry_run", "reprocessed")
    }


@router.get("/api/v1/devices/{device_id}", response_model=s.DeviceRead)
def get_device(device_id: str, p: PlatformDep, actor: Viewer) -> dict[str, Any]:
    device = _visible(p, actor, device_id)
    return _view(device, actor, service.last_seen(p, [device_id]).get(device_id))


@router.put("/api/v1/devices/{device_id}", response_model=s.DeviceRead)
def put_device(
    device_id: str, body: s.DeviceUpsert, p: PlatformDep, actor: Keeper, rid: RequestId
) -> dict[str, Any]:
    device = _from_body(device_id, body)
    _may_write(actor, [device])
    service.register_devices(p, [device], actor=actor, request_id=rid)
    return _view(service.read_device(p, device_id), actor)


@router.delete("/api/v1/devices/{device_id}", status_code=204)
def delete_device(device_id: str, p: PlatformDep, actor: Admin, rid: RequestId) -> Response:
    service.remove_device(p, device_id, actor=actor, request_id=rid)
    return Response(status_code=204)


@router.get("/api/v1/devices/{device_id}/readings", response_model=s.ReadingsPage)
def get_readings(
    device_id: str,
    p: PlatformDep,
    actor: Viewer,
    attr: str | None = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    agg: Annotated[str, Query(pattern="^(raw|hour)$")] = "raw",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """A device's readings in [from, to): raw, or hourly count/min/max/avg/last."""
    _visible(p, actor, device_id)
    items = service.list_readings(
        p, device_id, attr=attr, since=_utc(since), until=_utc(until), agg=agg, limit=limit
    )
    return {"device_id": device_id, "agg": agg, "items": items}


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
