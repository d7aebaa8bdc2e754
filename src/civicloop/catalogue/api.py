"""Catalogue API: read the active catalogue (scenes, elements and their disposal standards)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from civicloop.core.auth import current_actor, platform
from civicloop.core.errors import NotFoundError
from civicloop.org.model import Actor
from civicloop.runtime import Platform

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def _element(e: Any) -> dict[str, Any]:
    return {
        "code": e.code,
        "name": e.name,
        "name_en": e.name_en,
        "kind": str(e.kind),
        "class_code": e.class_code,
        "scene_code": e.scene_code,
        "governance": str(e.governance),
        "filing_conditions": [
            {"code": f.code, "text": f.text, "deadline": f.deadline} for f in e.filing_conditions
        ],
        "closure_conditions": list(e.closure_conditions),
        "deadlines": {str(k): v for k, v in e.deadlines.items()},
        "lead_department": e.lead_department,
        "assist_departments": list(e.assist_departments),
        "loop_level": str(e.loop_level),
        "needs_onsite_check": e.needs_onsite_check,
        "needs_verification": e.needs_verification,
        "is_citizen_facing": e.is_citizen_facing,
        "keywords": list(e.keywords),
        "discovery": [{"kind": d.kind, "note": d.note} for d in e.discovery],
    }


@router.get("", summary="Catalogue version, categories and scenes")
def catalogue(p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    c = p.catalogue
    return {
        "version": c.version,
        "categories": [
            {"code": x.code, "name": x.name, "name_en": x.name_en, "governance": str(x.governance)}
            for x in c.categories.values()
        ],
        "scenes": [
            {"code": x.code, "name": x.name, "name_en": x.name_en, "category_code": x.category_code}
            for x in c.scenes.values()
        ],
        "deadline_classes": [
            {
                "code": d.code,
                "name": d.name,
                "mode": str(d.mode),
                "seconds": int(d.duration.total_seconds()),
            }
            for d in c.deadline_classes.values()
        ],
    }


@router.get("/elements", summary="Every element with its disposal standard")
def elements(
    p: PlatformDep, actor: ActorDep, scene_code: str | None = None
) -> list[dict[str, Any]]:
    return [
        _element(e)
        for e in p.catalogue.elements.values()
        if scene_code is None or e.scene_code == scene_code
    ]


@router.get("/elements/{code}")
def element(code: str, p: PlatformDep, actor: ActorDep) -> dict[str, Any]:
    e = p.catalogue.element(code)
    if e is None:
        raise NotFoundError("element not found", code="element.not_found")
    return _element(e)
