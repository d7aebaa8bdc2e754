"""HTTP routes for discovery's rules, alerts, transport permits and emergency mode.

* ``GET /api/v1/emergency`` — the current mode(s) and a banner line (any logged-in user: the
  console shows it on every page);
* ``POST /api/v1/emergency`` — an operator starts (or escalates) emergency mode over the
  district, a street or a scene; ``POST /api/v1/emergency/{id}/leave`` ends it. Shift chiefs,
  district supervisors and admins for any scope; a street admin for their own street;
* ``GET /api/v1/alerts`` — alerts on grids inside the caller's territory;
* ``GET /api/v1/rules`` — the loaded rules;
* ``GET/POST /api/v1/permits`` — muck-truck transport permits (JSON or GeoJSON import).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from civicloop.core.auth import current_actor, platform, request_id, require_roles
from civicloop.core.errors import ForbiddenError, NotFoundError
from civicloop.discovery import (
    alert_store,  # noqa: F401  (registers the tables with the app)
    alerts,
    emergency,
    permits,
    rules,
)
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

router = APIRouter(tags=["discovery"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]
_COMMAND = (Role.SHIFT_CHIEF, Role.DISTRICT_SUPERVISOR, Role.ADMIN, Role.STREET_ADMIN)
CommandActor = Annotated[Actor, Depends(require_roles(*_COMMAND))]
_OPS = (
    Role.OPERATOR,
    Role.DISPATCHER,
    Role.SHIFT_CHIEF,
    Role.GRID_WORKER,
    Role.STREET_ADMIN,
    Role.DISTRICT_SUPERVISOR,
    Role.AUDITOR,
    Role.ADMIN,
)
OpsActor = Annotated[Actor, Depends(require_roles(*_OPS))]
AdminActor = Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.DISTRICT_SUPERVISOR))]
_LEVEL_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
_HAZARD_ZH = {
    "typhoon": "台风",
    "rainstorm": "暴雨",
    "flood": "洪涝",
    "wind": "大风",
    "rain": "降雨",
}
_SCOPE_ZH = {"district": "全区", "street": "街镇", "scene": "场景"}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmergencyStart(_In):
    scope_kind: str = Field(default="district", description="district | street | scene")
    scope_code: str | None = Field(default=None, max_length=64)
    level: str = Field(min_length=1, max_length=16, description="blue | yellow | orange | red")
    hazard: str = Field(min_length=1, max_length=32, description="typhoon, rainstorm …")
    reason: str = Field(default="", max_length=500)


class EmergencyLeave(_In):
    reason: str = Field(default="", max_length=500)


def _banner(modes: list[dict[str, Any]]) -> str:
    parts = []
    for m in modes:
        scope = _SCOPE_ZH.get(str(m["scope_kind"]), m["scope_kind"])
        if m["scope_kind"] != "district":
            scope = f"{scope} {m['scope_code']}"
        hazard = _HAZARD_ZH.get(str(m["hazard"]), m["hazard"])
        level = _LEVEL_ZH.get(str(m["level"]), m["level"])
        parts.append(f"{hazard}{level}预警（{scope}）")
    return ("应急模式：" + "；".join(parts)) if parts else ""


def _street_path(p: Platform, street: str) -> str | None:
    for code in p.grids.codes:
        if emergency.street_of(p, code) == street:
            path = p.grid_path(code) or ""
            parts = [c for c in path.split("/") if c]
            return "/" + "/".join(parts[:2]) + "/"
    return None


def _may_command(p: Platform, actor: Actor, scope_kind: str, scope_code: str | None) -> None:
    if actor.role is not Role.STREET_ADMIN:
        return
    path = _street_path(p, scope_code or "") if scope_kind == "street" else None
    if path is None or not actor.covers(path):
        raise ForbiddenError("a street admin switches emergency mode for their own street only")


@router.get("/api/v1/emergency", summary="Current emergency mode (banner)")
def current_mode(p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    modes = emergency.list_modes(p, active_only=True)
    return {"is_active": bool(modes), "banner": _banner(modes), "modes": modes}


@router.get("/api/v1/emergency/history", summary="Emergency modes, newest first")
def mode_history(
    p: PlatformDep, actor: OpsActor, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    return emergency.list_modes(p, limit=limit)


@router.post("/api/v1/emergency", status_code=201, summary="Start or escalate emergency mode")
async def start_mode(
    body: EmergencyStart, p: PlatformDep, actor: CommandActor, rid: RequestId
) -> dict[str, Any]:
    _may_command(p, actor, body.scope_kind, body.scope_code)
    return await run_in_threadpool(
        lambda: emergency.enter_emergency(
            p,
            actor,
            scope_kind=body.scope_kind,
            scope_code=body.scope_code,
            level=body.level.lower(),
            hazard=body.hazard.lower(),
            reason=body.reason,
            source="operator",
            request_id=rid,
        )
    )


@router.post("/api/v1/emergency/{mode_id}/leave", summary="End an emergency mode")
async def leave_mode(
    mode_id: str, body: EmergencyLeave, p: PlatformDep, actor: CommandActor, rid: RequestId
) -> dict[str, Any]:
    found = [m for m in emergency.list_modes(p, limit=200) if m["id"] == mode_id]
    if not found:
        raise NotFoundError(f"no emergency mode {mode_id!r}")
    _may_command(p, actor, str(found[0]["scope_kind"]), str(found[0]["scope_code"]))
    return await run_in_threadpool(
        lambda: emergency.leave_emergency(p, actor, mode_id, reason=body.reason, request_id=rid)
    )


@router.get("/api/v1/alerts", summary="Alerts on grids in the caller's territory")
def list_alerts(
    p: PlatformDep,
    actor: OpsActor,
    status: Annotated[str | None, Query(pattern="^(open|cleared|closed|unplaced)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return alerts.list_alerts(p, actor, status=status, limit=limit)


@router.get("/api/v1/rules", summary="The loaded discovery rules")
def list_rules(p: PlatformDep, actor: OpsActor) -> dict[str, Any]:
    eng = rules.engine_for(p)
    return {"rules": rules.describe_rules(p), "problems": eng.problems}


@router.get("/api/v1/permits", summary="Muck-truck transport permits")
def list_permits(p: PlatformDep, actor: OpsActor) -> list[dict[str, Any]]:
    return permits.list_permits(p)


@router.post("/api/v1/permits", status_code=201, summary="Import transport permits")
async def import_permits(
    p: PlatformDep, actor: AdminActor, rid: RequestId, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    count = await run_in_threadpool(permits.import_permits, p, actor, body, request_id=rid)
    return {"imported": count}
