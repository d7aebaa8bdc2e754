"""Inspection draws (双随机): per street, a risk-tilted random draw of objects to inspect.

"双随机、一公开" means inspectors and objects are drawn at random and the result is public; a
risk-tilted draw keeps the randomness (every object can be drawn) while drawing risky objects
more often. A draw is reproducible: it records its seed, the tilt, and a SHA-256 of the
population it drew from (each key with its risk score, in key order); :func:`replay` draws
again from the same seed and says whether the population is unchanged and the picks agree.
Every draw is a ledger entry (``risk.draw_made``), so nobody can redraw quietly until the
result suits them.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select

from civicloop.core.errors import ForbiddenError, InputError, NotFoundError
from civicloop.core.ids import new_uuid
from civicloop.ledger.service import Action, record
from civicloop.org.model import Actor, RegionLevel, Role
from civicloop.risk import service, store
from civicloop.risk.model import SubjectKind, weighted_draw
from civicloop.runtime import Platform

DRAW_ROLES = frozenset({Role.ADMIN, Role.STREET_ADMIN, Role.DISTRICT_SUPERVISOR, Role.SHIFT_CHIEF})
MAX_SIZE = 500
_REGISTRY_KIND = {
    SubjectKind.ENTERPRISE: "entity",
    SubjectKind.BUILDING: "building",
    SubjectKind.ROOM: "room",
}
_KEY = {SubjectKind.ENTERPRISE: "credit_code", SubjectKind.BUILDING: "id", SubjectKind.ROOM: "id"}


def _street_path(p: Platform, actor: Actor, street_code: str) -> str:
    from civicloop.org import service as org

    with p.db.read() as conn:
        region = org.read_region(conn, street_code)
    if region is None or region.level is not RegionLevel.STREET:
        raise InputError(f"{street_code} is not a street", field="street_code", rule="street")
    if actor.role is Role.STREET_ADMIN and not actor.covers(region.path):
        raise NotFoundError("no such street in your territory", code="region.not_found")
    return region.path


def population(p: Platform, street_path: str, kind: SubjectKind) -> list[tuple[str, float]]:
    """Every registered object of ``kind`` in the street, with its risk score, in key order."""
    from civicloop.registry import service as registry

    keys: list[str] = []
    for batch in registry.iter_records(p, _REGISTRY_KIND[kind]):
        for r in batch:
            path = p.grid_path(r.get("grid_code") or "")
            if path is not None and path.startswith(street_path):
                keys.append(str(r[_KEY[kind]]))
    keys.sort()
    scores = service.scores_of(p, [(str(kind), k) for k in keys])
    return [(k, scores.get((str(kind), k), 0.0)) for k in keys]


def _digest(pop: list[tuple[str, float]]) -> str:
    return hashlib.sha256("\n".join(f"{k}\t{s:.2f}" for k, s in pop).encode()).hexdigest()


def draw(
    p: Platform,
    actor: Actor,
    *,
    street_code: str,
    subject_kind: str,
    size: int,
    seed: int | None = None,
    tilt: float = 2.0,
    request_id: str = "-",
) -> dict[str, Any]:
    """Draw ``size`` objects of ``subject_kind`` in a street, tilted by risk; store and ledger it.

    Raises ForbiddenError for roles that do not draw, InputError for a bad kind, size, tilt or
    street, NotFoundError for a street outside a street admin's territory.
    """
    if actor.role not in DRAW_ROLES:
        raise ForbiddenError("this role does not make inspection draws", action="risk.draw")
    try:
        kind = SubjectKind(subject_kind)
    except ValueError as exc:
        raise InputError(
            "subject_kind must be enterprise, building or room", field="subject_kind", rule="enum"
        ) from exc
    if kind not in _REGISTRY_KIND:
        raise InputError("grids are not drawn", field="subject_kind", rule="enum")
    if not 1 <= size <= MAX_SIZE:
        raise InputError(f"size must be 1–{MAX_SIZE}", field="size", rule="range")
    if not 0 <= tilt <= 10:
        raise InputError("tilt must be 0–10", field="tilt", rule="range")
    if seed is None:
        seed = secrets.randbits(48)
    elif not 0 <= seed < 2**62:
        raise InputError("seed must be 0 ≤ seed < 2^62", field="seed", rule="range")
    path = _street_path(p, actor, street_code)
    pop = population(p, path, kind)
    picks = weighted_draw(pop, size, seed, tilt)
    now = p.clock.now()
    draw_id = new_uuid()
    row: dict[str, Any] = {
        "id": draw_id,
        "street_code": street_code,
        "subject_kind": str(kind),
        "seed": seed,
        "size": size,
        "tilt": tilt,
        "population": len(pop),
        "population_sha256": _digest(pop),
        "picked": picks,
        "actor_id": actor.id,
        "at": now,
    }
    with p.db.write() as conn:
        conn.execute(store.risk_draws.insert().values(**row))
        after = {k: v for k, v in row.items() if k not in ("id", "at", "picked")}
        after["picked"] = [x["key"] for x in picks]
        record(
            conn,
            actor,
            [Action("risk.draw_made", "risk_draw", draw_id, after=after)],
            at=now,
            request_id=request_id,
        )
    return row


def read_draw(p: Platform, actor: Actor, draw_id: str) -> dict[str, Any]:
    if actor.role not in DRAW_ROLES | {Role.AUDITOR}:
        raise ForbiddenError("this role does not read inspection draws", action="risk.draw")
    t = store.risk_draws
    with p.db.read() as conn:
        row = conn.execute(select(t).where(t.c.id == draw_id)).first()
    if row is None:
        raise NotFoundError("no such draw", code="draw.not_found")
    view = dict(row._mapping)
    if actor.role is Role.STREET_ADMIN:
        _street_path(p, actor, view["street_code"])
    return view


def list_draws(
    p: Platform, actor: Actor, *, street_code: str | None = None
) -> list[dict[str, Any]]:
    if actor.role not in DRAW_ROLES | {Role.AUDITOR}:
        raise ForbiddenError("this role does not read inspection draws", action="risk.draw")
    t = store.risk_draws
    q = select(t).order_by(t.c.at.desc()).limit(200)
    if street_code:
        q = q.where(t.c.street_code == street_code)
    with p.db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    if actor.role is Role.STREET_ADMIN:
        rows = [r for r in rows if _covers(p, actor, r["street_code"])]
    return rows


def _covers(p: Platform, actor: Actor, street_code: str) -> bool:
    try:
        _street_path(p, actor, street_code)
    except (NotFoundError, InputError):
        return False
    return True


def replay(p: Platform, actor: Actor, draw_id: str) -> dict[str, Any]:
    """Draw again with the stored seed and tilt: same population → the same picks."""
    d = read_draw(p, actor, draw_id)
    path = _street_path(p, actor, d["street_code"])
    pop = population(p, path, SubjectKind(d["subject_kind"]))
    picks = weighted_draw(pop, d["size"], d["seed"], d["tilt"])
    same_population = _digest(pop) == d["population_sha256"]
    return {
        "draw_id": draw_id,
        "is_same_population": same_population,
        "is_same_picks": [x["key"] for x in picks] == [x["key"] for x in d["picked"]],
        "picked": picks,
    }
