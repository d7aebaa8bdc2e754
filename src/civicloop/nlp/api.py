"""HTTP endpoint of the text classifier: element suggestions for a free text.

``POST /api/v1/nlp/classify`` is for the people who screen and route reports (operators,
dispatchers, shift chiefs) and admins; citizens get suggestions only through intake, never the
raw classifier. The handler is a plain ``def``: classification is CPU work, so FastAPI runs it
on the thread pool instead of blocking the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from civicloop.core.auth import platform, require_roles
from civicloop.nlp import service
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/nlp", tags=["nlp"])

PlatformDep = Annotated[Platform, Depends(platform)]
RouterActor = Annotated[
    Actor,
    Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SHIFT_CHIEF, Role.ADMIN)),
]


class ClassifyBody(BaseModel):
    text: str = Field(description="the report's free text (title and description)")
    top: int = Field(3, ge=1, le=20, description="how many suggestions, best first")


class SuggestionRead(BaseModel):
    label: str
    name: str
    confidence: float


class ClassifyRead(BaseModel):
    model_version: str
    suggestions: list[SuggestionRead]


@router.post(
    "/classify", response_model=ClassifyRead, summary="Suggest elements for a text (文本分类)"
)
def classify(body: ClassifyBody, p: PlatformDep, actor: RouterActor) -> dict[str, Any]:
    model = service.active_model(p)
    text = service.check_text(p, body.text)
    return {
        "model_version": model.version,
        "suggestions": [s.__dict__ for s in service.suggest(model, text, p.catalogue, body.top)],
    }
