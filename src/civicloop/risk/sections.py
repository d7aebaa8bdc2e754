"""The ``risk`` and ``credit`` sections of registry profiles (一企一档, 一房一档).

Registered with ``registry.profiles.register_section`` when this module is imported (the risk
API imports it, so a running server's profiles carry them). Each section reads through
``risk.service.read_score`` with the profile's viewer, so it shows only what the viewer may see.
"""

from __future__ import annotations

from typing import Any

from civicloop.core.errors import ForbiddenError, NotFoundError
from civicloop.org.model import Actor
from civicloop.registry.model import Kind
from civicloop.registry.profiles import register_section
from civicloop.risk import service
from civicloop.risk.model import SubjectKind
from civicloop.runtime import Platform

_SUBJECT = {
    Kind.ENTITY: SubjectKind.ENTERPRISE,
    Kind.BUILDING: SubjectKind.BUILDING,
    Kind.ROOM: SubjectKind.ROOM,
}


def _score(p: Platform, kind: Kind, record_id: str, actor: Actor) -> dict[str, Any] | None:
    try:
        s = service.read_score(p, actor, str(_SUBJECT[kind]), record_id)
    except (NotFoundError, ForbiddenError):
        return None
    return s


def risk_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> dict[str, Any] | None:
    s = _score(p, kind, record_id, actor)
    if s is None:
        return None
    return {
        "score": s["score"],
        "band": s["band"],
        "explanation": s["explanation"],
        "history": s["history"][:10],
    }


def credit_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> dict[str, Any] | None:
    s = _score(p, kind, record_id, actor)
    if s is None:
        return None
    return {
        "grade": s["grade"],
        "risk_score": s["score"],
        "history": [
            {
                "grade": h["grade"],
                "previous_grade": h["previous_grade"],
                "at": h["at"],
                "cause": h["cause"],
            }
            for h in s["history"][:10]
            if h["grade"] != h["previous_grade"]
        ],
    }


register_section("risk", risk_section, kinds=(Kind.ENTITY, Kind.BUILDING, Kind.ROOM))
register_section("credit", credit_section, kinds=(Kind.ENTITY,))
