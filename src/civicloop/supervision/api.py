"""HTTP routes of the supervision context: orders, the status board, step times, reply quality
(and, mounted here because app.py already mounts this router, the ledger's proof routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from civicloop.core.auth import current_actor, platform, request_id
from civicloop.ledger import api as ledger_api
from civicloop.org.model import Actor
from civicloop.runtime import Platform
from civicloop.supervision import service

router = APIRouter()
router.include_router(ledger_api.router)

# Order ids are 32-bit integers in storage (INTEGER on PostgreSQL); larger ones are bad input
# (422), not a driver error.
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1)]

api = APIRouter(prefix="/api/v1/supervision", tags=["supervision"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


@api.get("/orders", summary="督办 supervision orders with their status")
def list_orders(
    p: PlatformDep,
    actor: ActorDep,
    status: Annotated[
        str | None, Query(description="open/responded/overdue/closed/resolved")
    ] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    case_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return service.list_orders(
        p, actor, status=status, department=department, case_id=case_id, limit=limit, offset=offset
    )


@api.get("/orders/{order_id}", summary="One supervision order and its events")
def read_order(order_id: OrderId, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return service.read_order(p, actor, order_id)


@api.post("/orders/{order_id}/respond", summary="反馈 a department answers an order")
async def respond(
    order_id: OrderId, body: TextBody, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    return await run_in_threadpool(
        service.respond_to_order, p, actor, order_id, text=body.text, request_id=rid
    )


@api.post("/orders/{order_id}/close", summary="销号 a supervisor closes an order")
async def close(
    order_id: OrderId, body: TextBody, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    return await run_in_threadpool(
        service.close_order, p, actor, order_id, note=body.text, request_id=rid
    )


@api.post("/orders/{order_id}/escalate", summary="升级督办 a supervisor escalates an order")
async def escalate(
    order_id: OrderId, body: TextBody, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    return await run_in_threadpool(
        service.escalate_order, p, actor, order_id, reason=body.text, request_id=rid
    )


@api.get("/board", summary="Cross-department status board: counts and who waits on whom")
def board(p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return service.status_board(p, actor)


@api.get("/step-times", summary="Time spent in each step per department")
def step_times(
    p: PlatformDep,
    actor: ActorDep,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    return service.step_times(p, actor, since=since, until=until)


@api.get("/cases/{case_id}/reply-quality", summary="答复质量 score of a closed case's reply")
def reply_quality(case_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return service.reply_quality_for_case(p, actor, case_id)


@api.get(
    "/track/{tracking_code}/proofs",
    tags=["public"],
    summary="Proofs that a tracked case's record is in the signed ledger (public, hashes only)",
)
def tracked_proofs(tracking_code: str, p: PlatformDep) -> dict[str, Any]:
    return service.tracked_case_proofs(p, tracking_code)


router.include_router(api)
