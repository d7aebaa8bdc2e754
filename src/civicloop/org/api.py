"""Organisation API: login, who am I, the territorial tree, departments, the matrix."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from civicloop.core.auth import current_actor, platform, request_id, require_roles
from civicloop.core.errors import InputError, NotFoundError
from civicloop.org import schemas as s
from civicloop.org import service, store
from civicloop.org.model import Actor, RegionLevel, Responsibility, Role
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1", tags=["organisation"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.post(
    "/auth/login", response_model=s.TokenRead, summary="Password login; returns a bearer token"
)
def login(
    body: s.LoginBody, p: PlatformDep, rid: Annotated[str, Depends(request_id)]
) -> dict[str, Any]:
    token, expires = service.login(p, body.username, body.password, request_id=rid)
    return {"access_token": token, "token_type": "bearer", "expires_at": expires}


@router.post("/auth/logout", status_code=204, summary="Revoke the current token")
def logout(request: Request, p: PlatformDep, actor: ActorDep) -> None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        service.logout(p, header[7:].strip())


@router.get("/me", response_model=s.MeRead)
def me(actor: ActorDep) -> dict[str, Any]:
    return {
        "id": actor.id,
        "name": actor.name,
        "role": str(actor.role),
        "region_path": actor.region_path,
        "department_ids": sorted(actor.department_ids),
    }


@router.get(
    "/regions",
    response_model=list[s.RegionRead],
    summary="The territorial tree, one level at a time",
)
def regions(
    p: PlatformDep,
    actor: ActorDep,
    level: RegionLevel | None = None,
    parent_code: str | None = None,
    with_geometry: Annotated[bool, Query(description="include GeoJSON polygons")] = False,
) -> list[dict[str, Any]]:
    if level is None and parent_code is None:
        level = RegionLevel.STREET
    if level is RegionLevel.GRID and parent_code is None and with_geometry:
        raise InputError(
            "grids with geometry need parent_code (a community)",
            field="parent_code",
            rule="required_for_grid_geometry",
        )
    with p.db.read() as conn:
        found = service.list_regions(conn, level=level, parent_code=parent_code)
        geoms: dict[str, Any] = {}
        if with_geometry and found:
            r = store.regions
            geoms = {
                row.code: row.geometry
                for row in conn.execute(
                    select(r.c.code, r.c.geometry).where(r.c.code.in_([x.code for x in found]))
                )
            }
    return [
        {
            "code": x.code,
            "name": x.name,
            "level": str(x.level),
            "parent_code": x.parent_code,
            "path": x.path,
            "centroid": x.centroid,
            "geometry": geoms.get(x.code),
        }
        for x in found
    ]


@router.get("/regions/{code}", response_model=s.RegionRead)
def region(code: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    with p.db.read() as conn:
        x = service.read_region(conn, code)
        if x is None:
            raise NotFoundError("region not found", code="region.not_found")
        geometry = conn.execute(
            select(store.regions.c.geometry).where(store.regions.c.code == code)
        ).scalar()
    return {
        "code": x.code,
        "name": x.name,
        "level": str(x.level),
        "parent_code": x.parent_code,
        "path": x.path,
        "centroid": x.centroid,
        "geometry": geometry,
    }


@router.get("/departments", response_model=list[s.DepartmentRead])
def departments(p: PlatformDep, actor: ActorDep) -> list[dict[str, Any]]:
    with p.db.read() as conn:
        return service.list_departments(conn)


@router.put(
    "/responsibilities", status_code=204, summary="Set one row of the responsibility matrix"
)
def set_responsibility(
    body: s.ResponsibilityBody,
    p: PlatformDep,
    actor: Annotated[Actor, Depends(require_roles(Role.ADMIN))],
    rid: Annotated[str, Depends(request_id)],
) -> None:
    if p.catalogue.element(body.element_code) is None:
        raise InputError(
            f"unknown element code {body.element_code!r}",
            field="element_code",
            rule="must be an element of the active catalogue",
        )
    path = (
        body.region_path
        if not body.region_path or body.region_path.endswith("/")
        else body.region_path + "/"
    )
    service.set_responsibility(
        p,
        Responsibility(body.element_code, path, body.lead, tuple(body.assists), body.loop_level),
        actor=actor,
        request_id=rid,
    )
