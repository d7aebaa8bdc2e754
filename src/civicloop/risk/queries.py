"""Risk reads over many subjects: ranked score lists and risk heat per grid and street.

Scope rules are the service's (``risk.service._sees``): district-wide roles see everything,
territorial roles their territory, department handlers enterprises.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from civicloop.core.errors import InputError
from civicloop.org.model import Actor, RegionLevel
from civicloop.risk import store
from civicloop.risk.model import SubjectKind
from civicloop.risk.service import WIDE_ROLES, _check_reader, _row_view, _sees
from civicloop.runtime import Platform


def list_scores(
    p: Platform,
    actor: Actor,
    *,
    kind: str | None = None,
    band: str | None = None,
    street_code: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Scores in the actor's scope, highest first."""
    _check_reader(actor)
    t = store.risk_scores
    q = select(t).order_by(t.c.score.desc(), t.c.subject_id).limit(max(1, min(limit, 500)) * 4)
    if kind:
        q = q.where(t.c.subject_kind == kind)
    if band:
        q = q.where(t.c.band == band)
    if street_code:
        q = q.where(t.c.street_code == street_code)
    with p.db.read() as conn:
        rows = list(conn.execute(q))
    out = [_row_view(r) for r in rows if _sees(p, actor, r.subject_kind, r.grid_code)]
    return out[: max(1, min(limit, 500))]


def heat(p: Platform, actor: Actor, level: str) -> list[dict[str, Any]]:
    """Risk heat per grid (the grid's own score) or per street (the mean over ALL its grids,
    unscored grids counting 0, with the maximum and the count of high-band subjects)."""
    from civicloop.org import service as org

    _check_reader(actor)
    if level not in ("grid", "street"):
        raise InputError("level must be grid or street", field="level", rule="enum")
    t = store.risk_scores
    with p.db.read() as conn:
        grids = {
            r.subject_id: r
            for r in conn.execute(select(t).where(t.c.subject_kind == str(SubjectKind.GRID)))
        }
        if level == "grid":
            return [
                {"code": code, "score": r.score, "band": r.band}
                for code, r in sorted(grids.items())
                if _sees(p, actor, "grid", code)
            ]
        streets = org.list_regions(conn, level=RegionLevel.STREET)
        all_grids = org.list_regions(conn, level=RegionLevel.GRID)
        high: dict[str, int] = dict(
            conn.execute(
                select(t.c.street_code, func.count())
                .where(t.c.band.in_(("high", "critical")), t.c.subject_kind != "grid")
                .group_by(t.c.street_code)
            ).all()
        )
    out = []
    for st in streets:
        if not (
            actor.role in WIDE_ROLES
            or actor.region_path == "/"
            or actor.covers(st.path)
            or st.path.startswith(actor.region_path or "\0")
        ):
            continue
        mine = [g.code for g in all_grids if g.path.startswith(st.path)]
        scores = [grids[c].score for c in mine if c in grids]
        out.append(
            {
                "code": st.code,
                "name": st.name,
                "score": round(sum(scores) / len(mine), 2) if mine else 0.0,
                "max": max(scores, default=0.0),
                "grids": len(mine),
                "grids_scored": len(scores),
                "high_subjects": int(high.get(st.code, 0)),
            }
        )
    return out
