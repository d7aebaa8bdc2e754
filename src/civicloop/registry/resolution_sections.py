"""The ``links`` section of registry profiles: which records elsewhere are this same object.

Registered when this module is imported (``api_links`` imports it). Shown to the viewers who may
read links (admins, auditors); others get no section rather than an error.
"""

from __future__ import annotations

from typing import Any

from civicloop.core.errors import ForbiddenError, NotFoundError
from civicloop.org.model import Actor
from civicloop.registry import resolution
from civicloop.registry.model import Kind
from civicloop.registry.profiles import register_section
from civicloop.runtime import Platform

_SOURCE = {
    Kind.ENTITY: "registry.entity",
    Kind.BUILDING: "registry.building",
    Kind.PERSON: "registry.person",
}


def links_section(
    p: Platform, kind: Kind, record_id: str, record: dict[str, Any], actor: Actor
) -> dict[str, Any] | None:
    try:
        link = resolution.read_record_link(p, actor, f"{_SOURCE[kind]}:{record_id}")
        cluster = resolution.read_cluster(p, actor, link["golden_id"])
    except (NotFoundError, ForbiddenError):
        return None
    return {
        "golden_id": link["golden_id"],
        "records": [
            {k: m[k] for k in ("source", "record_id", "method", "probability", "label")}
            for m in cluster["members"]
        ],
        "history": cluster["history"],
    }


register_section("links", links_section, kinds=(Kind.ENTITY, Kind.BUILDING, Kind.PERSON))
