"""Duplicates and nearby problems over HTTP.

* ``GET /api/v1/nearby`` — public, FixMyStreet-style: the open problems around a point, so an
  app can show them before someone files the same thing again. No personal data: titles are
  masked, descriptions and reporters are never shown, positions are rounded to about 10 m.
* ``GET /api/v1/cases/{id}/duplicates`` — for the operations centre: the open cases this one may
  duplicate (same element, within the element's radius and window), to merge with one click.
* ``POST /api/v1/cases/{id}/not-fixed`` — the reporter (or the hotline operator for them) says
  a closed problem is not fixed: within the configured days the case goes back into rework.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from civicloop.cases import duplicates, service
from civicloop.cases import schemas as s
from civicloop.cases.access import access_case
from civicloop.cases.api import ActorDep, IfMatch, PlatformDep, RequestId, _act, _version
from civicloop.cases.model import OPEN_STATUSES
from civicloop.core.auth import require_roles
from civicloop.core.errors import InputError, NotFoundError
from civicloop.core.rawsql import Raw
from civicloop.core.security import mask_text
from civicloop.org.model import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["cases"])
MAX_RADIUS_M = 2000
MAX_ITEMS = 100
_OPEN = tuple(sorted(str(s) for s in OPEN_STATUSES))
ScreeningActor = Annotated[
    Actor,
    Depends(
        require_roles(
            Role.OPERATOR,
            Role.DISPATCHER,
            Role.SHIFT_CHIEF,
            Role.STREET_ADMIN,
            Role.DISTRICT_SUPERVISOR,
            Role.ADMIN,
        )
    ),
]


@router.get("/nearby", summary="Open problems near a point (public, no personal data)")
def nearby(
    p: PlatformDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
    radius_m: Annotated[float, Query(gt=0)] = 300,
    element_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 50,
) -> dict[str, Any]:
    if radius_m > MAX_RADIUS_M:
        raise InputError(
            f"radius_m must be at most {MAX_RADIUS_M} metres", field="radius_m", rule="maximum"
        )
    if element_code is not None and p.catalogue.element(element_code) is None:
        raise InputError(
            f"unknown element code {element_code!r}",
            field="element_code",
            rule="must be an element of the active catalogue",
        )
    box, params = duplicates.near_params(lon, lat, radius_m, _OPEN)
    params["e"] = element_code
    sql = (
        "SELECT element_code, title, status, lon, lat, reported_at, is_overdue FROM cases"
        f" WHERE {box}" + (" AND element_code = :e" if element_code else "")
    )
    with p.db.read() as conn:
        raw = Raw(conn)
        rows = raw.all(sql, params)
        items = []
        for r in rows:
            d = duplicates.distance_m(lon, lat, float(r["lon"]), float(r["lat"]))
            if d > radius_m:
                continue
            e = p.catalogue.element(r["element_code"])
            items.append(
                {
                    "element_code": r["element_code"],
                    "element_name": e.name if e else r["element_code"],
                    "title": mask_text(r["title"]),
                    "status": r["status"],
                    "is_overdue": bool(r["is_overdue"]),
                    "reported_at": raw.parse_ts(r["reported_at"]),
                    "lon": round(float(r["lon"]), 4),
                    "lat": round(float(r["lat"]), 4),
                    "distance_m": round(d, 1),
                }
            )
    items.sort(key=lambda x: x["distance_m"])
    return {"items": items[:limit], "radius_m": radius_m}


@router.get(
    "/cases/{case_id}/duplicates",
    summary="Open cases this case may duplicate (to merge)",
)
def case_duplicates(case_id: str, p: PlatformDep, actor: ScreeningActor) -> dict[str, Any]:
    with p.db.read() as conn:
        raw = Raw(conn)
        row, _ = access_case(raw, actor, case_id, for_write=False)
        element = p.catalogue.element(row["element_code"])
        if element is None or row["lon"] is None or row["lat"] is None:
            return {"items": []}
        found = duplicates.candidates(
            raw,
            element,
            float(row["lon"]),
            float(row["lat"]),
            str(row["description"]),
            p.clock.now(),
            exclude=case_id,
            limit=20,
        )
        visible = []
        for c in found:  # only cases the viewer may see (others would leak their existence)
            try:
                access_case(raw, actor, c.case_id, for_write=False)
            except NotFoundError:
                continue
            visible.append(c.as_dict())
    return {"items": visible}


class NotFixedBody(s.Versioned):
    comment: str = Field(min_length=1, max_length=2000, description="what is still wrong")


@router.post(
    "/cases/{case_id}/not-fixed",
    response_model=s.CaseRead,
    summary="未解决: the reporter says the closed problem is not fixed (back into rework)",
)
async def not_fixed(
    case_id: str,
    body: NotFixedBody,
    p: PlatformDep,
    actor: ActorDep,
    rid: RequestId,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    return await _act(
        service.report_not_fixed,
        p,
        actor,
        case_id,
        _version(body.expected_version, if_match),
        rid,
        comment=body.comment,
    )
