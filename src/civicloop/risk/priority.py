"""Risk raises case priority: which new case is about a subject in a raised band.

A case reported at, or naming, an object whose risk band is at or above its scorecard's
``raise_priority_from`` (a high-risk grid, building, room or enterprise) starts with priority
``high``, so the dispatcher's queue puts it first. Reporting and filing ask this for every case,
sensors included, so the answer must be cheap: the raised subjects are read once into a set per
platform and re-read every ``CACHE_SECONDS`` (sooner when this process rescored — the consumer
calls :func:`forget`). With no raised subject anywhere the answer is immediate; otherwise the
case's subjects are found as the data loop finds them (:func:`service.subjects_of_case`) and
looked up in the set.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from civicloop.risk import scorecards, store
from civicloop.risk.model import SubjectKind, band_rank
from civicloop.runtime import Platform

CACHE_SECONDS = 30.0
# (kind, id) → (score, band, grid code): the grid says where cases about the subject are found
Raised = dict[tuple[str, str], tuple[float, str, str | None]]

_CACHE: dict[int, tuple[weakref.ref[Platform], float, Raised]] = {}
_LOCK = threading.Lock()


def raised_subjects(p: Platform) -> Raised:
    """Every subject whose band raises case priority, with its score and band (cached)."""
    now = time.monotonic()
    with _LOCK:
        hit = _CACHE.get(id(p))
        if hit is not None and hit[0]() is p and now - hit[1] < CACHE_SECONDS:
            return hit[2]
    out: Raised = {}
    t = store.risk_scores
    with p.db.read() as conn:
        for kind, card in scorecards.load(p).items():
            names = [b for b, _ in card.bands]
            raised = names[band_rank(card, card.raise_priority_from) :]
            rows = conn.execute(
                select(t.c.subject_id, t.c.score, t.c.band, t.c.grid_code).where(
                    t.c.subject_kind == str(kind), t.c.band.in_(raised)
                )
            )
            for sid, value, band, grid in rows:
                out[(str(kind), str(sid))] = (float(value), str(band), grid)
    with _LOCK:
        _CACHE[id(p)] = (weakref.ref(p), now, out)
    return out


def forget(p: Platform) -> None:
    """Drop the cached set (after this process wrote scores)."""
    with _LOCK:
        _CACHE.pop(id(p), None)


def moved(before: Raised, after: Raised) -> tuple[set[str], set[str]]:
    """Where the cases about subjects that entered or left a raised band are: their grids, and
    the credit codes of enterprises among them (cases name those in their text)."""
    grids: set[str] = set()
    codes: set[str] = set()
    for key in before.keys() ^ after.keys():
        hit = after.get(key) or before[key]
        if hit[2]:
            grids.add(hit[2])
        if key[0] == str(SubjectKind.ENTERPRISE):
            codes.add(key[1])
    return grids, codes


def case_priority(p: Platform, view: Mapping[str, Any]) -> dict[str, Any] | None:
    """The riskiest raised subject a case (grid_code, address, title, description) is about,
    as ``{subject_kind, subject_id, score, band, reason}``; None when none is raised."""
    from civicloop.risk.service import subjects_of_case

    raised = raised_subjects(p)
    if not raised:
        return None
    best: dict[str, Any] | None = None
    for s in subjects_of_case(p, view):
        hit = raised.get((str(s.kind), s.id))
        if hit is None or (best is not None and hit[0] <= best["score"]):
            continue
        best = {
            "subject_kind": str(s.kind),
            "subject_id": s.id,
            "score": hit[0],
            "band": hit[1],
            "reason": f"{s.kind} {s.id} risk {hit[0]:g} ({hit[1]})",
        }
    return best
