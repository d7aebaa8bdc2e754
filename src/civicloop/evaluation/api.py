"""HTTP routes of the evaluation context: KPI values, rankings, trends, comparisons,
drill-downs, exports, the monthly report and supervisors' reviews.

Every route needs a logged-in staff member; what each sees is decided in
:func:`civicloop.evaluation.reading.scope_of` (403 outside one's scope). Answers are plain
JSON objects the console renders as they are.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from civicloop.core.auth import current_actor, platform
from civicloop.core.errors import InputError
from civicloop.evaluation import export, reading, report, service
from civicloop.org.model import Actor
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/kpi", tags=["evaluation"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
Period = Annotated[str, Query(description="YYYY-MM, YYYY, YYYY-Www, YYYY-MM-DD or a..b")]


class ReviewCreate(BaseModel):
    period: str = Field(max_length=32)
    level: str = Field(max_length=16)
    code: str = Field(max_length=64)
    score: float
    comment: str = Field(default="", max_length=2000)


@router.get("/indicators")
def indicators(actor: ActorDep) -> list[dict[str, Any]]:
    reading.scope_of(actor)
    return reading.indicators_list()


@router.get("")
def kpi_values(
    p: PlatformDep,
    actor: ActorDep,
    indicator: str,
    period: Period,
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    return reading.values(p, actor, indicator, period, level, code)


@router.get("/dashboard")
def dashboard(
    p: PlatformDep,
    actor: ActorDep,
    period: Period,
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    return reading.dashboard(p, actor, period, level, code)


@router.get("/rankings")
def rankings(
    p: PlatformDep, actor: ActorDep, period: Period, composite: str = "street"
) -> dict[str, Any]:
    return reading.rankings(p, actor, period, composite)


@router.get("/trend")
def trend(
    p: PlatformDep,
    actor: ActorDep,
    indicator: str,
    period: Period,
    grain: str = "day",
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    return reading.trend(p, actor, indicator, period, grain, level, code)


@router.get("/compare")
def compare(
    p: PlatformDep,
    actor: ActorDep,
    indicator: str,
    period: Period,
    level: str = "district",
    code: str | None = None,
) -> dict[str, Any]:
    return reading.compare(p, actor, indicator, period, level, code)


@router.get("/export")
def export_table(
    p: PlatformDep,
    actor: ActorDep,
    period: Period,
    kind: str = "values",
    format: str = "csv",
    indicator: str | None = None,
    level: str = "street",
    composite: str = "street",
) -> Response:
    """``kind=values`` (one indicator per object of a level) or ``kind=rankings``; CSV or XLSX."""
    if format not in ("csv", "xlsx"):
        raise InputError("format is csv or xlsx", field="format", rule="enum")
    if kind == "values":
        if not indicator:
            raise InputError("give the indicator", field="indicator", rule="required")
        rows = reading.values(p, actor, indicator, period, level)["items"]
        cols = ["code", "value", "numerator", "denominator"]
        name = f"kpi-{indicator}-{level}-{period}"
    elif kind == "rankings":
        rows = reading.rankings(p, actor, period, composite)["items"]
        cols = ["rank", "code", "score", "grade"]
        name = f"ranking-{composite}-{period}"
    else:
        raise InputError("kind is values or rankings", field="kind", rule="enum")
    if format == "csv":
        body, media = export.to_csv(rows, cols), "text/csv; charset=utf-8"
    else:
        body = export.to_xlsx(rows, cols, title=name)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


@router.get("/report")
async def monthly_report(
    p: PlatformDep, actor: ActorDep, month: str, format: str = "html"
) -> Response:
    """The monthly evaluation report (HTML with SVG charts, or PDF); the operations centre."""
    if format not in ("html", "pdf"):
        raise InputError("format is html or pdf", field="format", rule="enum")
    body = await run_in_threadpool(report.monthly_report, p, actor, month, format)
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(body, media_type=media)


@router.post("/reviews", status_code=201)
def add_review(p: PlatformDep, actor: ActorDep, body: ReviewCreate) -> dict[str, Any]:
    return service.add_review(
        p,
        actor,
        period=body.period,
        level=body.level,
        code=body.code,
        score=body.score,
        comment=body.comment,
    )


@router.get("/{indicator}/cases")
def drilldown(
    p: PlatformDep,
    actor: ActorDep,
    indicator: str,
    period: Period,
    level: str = "district",
    code: str | None = None,
    part: str = "numerator",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: str = "json",
) -> Any:
    """The cases behind a number (ids and numbers, within the caller's scope)."""
    got = reading.drilldown(
        p, actor, indicator, period, level, code, part, limit=limit, offset=offset
    )
    if format == "json":
        return got
    cols = ["case_id", "number", "day", "street_code", "community_code", "grid_code",
            "department_code", "element_code", "channel"]  # fmt: skip
    if format == "csv":
        return Response(export.to_csv(got["cases"], cols), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        return Response(
            export.to_xlsx(got["cases"], cols, title=f"{indicator}-{part}"),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise InputError("format is json, csv or xlsx", field="format", rule="enum")
