"""HTTP routes of the risk context: scores with their explanation, heat, inspection draws.

``/api/v1/risk/…``. Reads need a staff role and see their scope (``risk.service``); draws are
for street admins (their street), shift chiefs, district supervisors and admins; ``update``
runs the data loop now (admins), which the server also does on its sweeper.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from civicloop.core.auth import current_actor, platform, request_id
from civicloop.core.errors import ForbiddenError
from civicloop.org.model import Actor, Role
from civicloop.risk import draws, queries, scorecards, service
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/risk", tags=["risk"])

# imported for its side effect: registry profiles carry the risk and credit sections (a
# registry without profiles still gets its scores served here)
from civicloop.risk import sections  # noqa: E402, F401

PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
RequestId = Annotated[str, Depends(request_id)]


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street_code: str = Field(min_length=1, max_length=32)
    subject_kind: str = Field(default="enterprise", pattern="^(enterprise|building|room)$")
    size: int = Field(ge=1, le=draws.MAX_SIZE)
    seed: int | None = Field(default=None, ge=0, lt=2**62, description="omit for a fresh seed")
    tilt: float = Field(
        default=2.0, ge=0, le=10, description="0 = uniform; weight 1+tilt×score/100"
    )


@router.get("/scores")
def list_scores(
    p: PlatformDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(pattern="^(enterprise|building|room|grid)$")] = None,
    band: Annotated[str | None, Query(max_length=16)] = None,
    street_code: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Scores in the viewer's scope, highest first."""
    items = queries.list_scores(
        p, actor, kind=kind, band=band, street_code=street_code, limit=limit
    )
    return {"items": items}


@router.get("/scores/{kind}/{subject_id}")
def read_score(kind: str, subject_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """One subject's score, credit grade, every indicator's contribution, and its history."""
    return service.read_score(p, actor, kind, subject_id)


@router.get("/heat")
def heat(
    p: PlatformDep,
    actor: ActorDep,
    level: Annotated[str, Query(pattern="^(grid|street)$")] = "grid",
) -> dict[str, Any]:
    """Risk heat per grid or per street."""
    return {"level": level, "items": queries.heat(p, actor, level)}


@router.get("/scorecards")
def list_scorecards(p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """The active scorecards (and every version stored)."""
    queries.list_scores(p, actor, limit=1)  # the same readers as scores
    active = {str(k): c.body for k, c in scorecards.load(p).items()}
    return {"active": active, "versions": scorecards.list_versions(p)}


@router.post("/update")
def update(p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """Run the data loop now: apply case outcomes recorded since the cursor."""
    if actor.role is not Role.ADMIN:
        raise ForbiddenError("only an admin runs the data loop by hand", action="risk.update")
    return service.consume(p)


@router.post("/draws", status_code=201)
def make_draw(body: DrawCreate, p: PlatformDep, actor: ActorDep, rid: RequestId) -> dict[str, Any]:
    """双随机: draw objects to inspect in a street, tilted by risk, recorded in the ledger."""
    return draws.draw(
        p,
        actor,
        street_code=body.street_code,
        subject_kind=body.subject_kind,
        size=body.size,
        seed=body.seed,
        tilt=body.tilt,
        request_id=rid,
    )


@router.get("/draws")
def list_draws(
    p: PlatformDep,
    actor: ActorDep,
    street_code: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    return {"items": draws.list_draws(p, actor, street_code=street_code)}


@router.get("/draws/{draw_id}")
def read_draw(draw_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    return draws.read_draw(p, actor, draw_id)


@router.post("/draws/{draw_id}/replay")
def replay_draw(draw_id: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    """Draw again from the stored seed: says whether the population and the picks agree."""
    return draws.replay(p, actor, draw_id)
