"""HTTP routes of entity resolution: runs, the review queue, clusters, merge and unmerge.

``/api/v1/links/…``. Admins change links; admins and auditors read them. The service
(``registry.resolution``) authorises and writes the ledger.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from civicloop.core.auth import current_actor, platform, request_id
from civicloop.org.model import Actor
from civicloop.registry import resolution
from civicloop.registry.resolution_model import Thresholds
from civicloop.registry.resolution_sources import SourceLimits
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/links", tags=["links"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]

# imported for its side effect: registry profiles carry a "links" section
from civicloop.registry import resolution_sections  # noqa: E402, F401


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ExternalRecord(_In):
    source: str = Field(min_length=1, max_length=32, description="permit, device_owner …")
    record_id: str = Field(min_length=1, max_length=120)
    kind: str = Field(default="enterprise", pattern="^(enterprise|person|building)$")
    name: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, max_length=18)
    id_number: str | None = Field(default=None, max_length=18)
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=20)
    representative: str | None = Field(default=None, max_length=64)


class RunBody(_In):
    records: list[ExternalRecord] = Field(default_factory=list, max_length=50_000)
    high: float = Field(default=Thresholds.high, gt=0, le=1)
    low: float = Field(default=Thresholds.low, gt=0, le=1)
    # gather the platform's own permits, enterprises, demands, device owners and cases
    platform_sources: bool = True
    case_days: int = Field(default=SourceLimits.case_days, ge=1, le=3660)
    max_cases: int = Field(default=SourceLimits.max_cases, ge=0, le=1_000_000)


class ReviewDecision(_In):
    review_id: str = Field(min_length=1, max_length=32)
    decision: str = Field(pattern="^(accept|reject)$")
    note: str = Field(default="", max_length=2000)


class MergeBody(_In):
    golden_id: str = Field(min_length=1, max_length=40)
    other_golden_id: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=2000)


class UnmergeBody(_In):
    record_key: str = Field(min_length=1, max_length=160)
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/run")
def run(body: RunBody, p: PlatformDep, actor: ActorDep, rid: RequestId) -> dict[str, Any]:
    """Link every registry record, the platform's own sources (unless ``platform_sources`` is
    false) and the given source records; queue uncertain pairs."""
    external = resolution.parse_external(r.model_dump() for r in body.records)
    return resolution.run_linkage(
        p,
        actor,
        external=external,
        thresholds=Thresholds(high=body.high, low=body.low),
        platform_sources=body.platform_sources,
        limits=SourceLimits(case_days=body.case_days, max_cases=body.max_cases),
        request_id=rid,
    )


@router.get("/review")
def list_review(
    p: PlatformDep,
    actor: ActorDep,
    status: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The review queue: uncertain pairs with both records, most probable first."""
    return {"items": resolution.list_reviews(p, actor, status=status, limit=limit)}


@router.post("/review")
def decide_review(
    body: ReviewDecision, p: PlatformDep, actor: ActorDep, rid: RequestId
) -> dict[str, Any]:
    """Accept (merge) or reject (never link these two) one review item."""
    return resolution.decide_review(
        p,
        actor,
        body.review_id,
        accept=body.decision == "accept",
        note=body.note,
        request_id=rid,
    )


@router.get("/clusters/{golden_id}")
def read_cluster(golden_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return resolution.read_cluster(p, actor, golden_id)


@router.get("/records/{record_key}")
def read_record(record_key: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return resolution.read_record_link(p, actor, record_key)


@router.post("/merge")
def merge(body: MergeBody, p: PlatformDep, actor: ActorDep, rid: RequestId) -> dict[str, Any]:
    return resolution.merge(
        p, actor, body.golden_id, body.other_golden_id, reason=body.reason, request_id=rid
    )


@router.post("/unmerge")
def unmerge(body: UnmergeBody, p: PlatformDep, actor: ActorDep, rid: RequestId) -> dict[str, Any]:
    return resolution.unmerge(p, actor, body.record_key, reason=body.reason, request_id=rid)
