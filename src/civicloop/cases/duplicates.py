"""Duplicate reports (重复上报): many people report one problem; the loop should run once.

A new report is compared with the open cases of the same element reported within the
element's window (``dedupe_window_hours``) and radius (``dedupe_radius_m``), both from the
catalogue. Per candidate two signals are measured — the distance between the points and the
similarity of the two texts (Jaccard over character bigrams, which needs no segmentation and
is robust to the word order of spoken Chinese) — and the report is

* **certain** to be a duplicate when it lies within :data:`CERTAIN_SHARE` of the radius but no
  farther than :data:`CERTAIN_MAX_M` (about the error of a phone's GPS), or within the radius
  with texts at least :data:`CERTAIN_SIMILARITY` alike: the reporter is then attached to the
  master case instead of opening a new one;
* **possible** when it lies within the radius but is not certain: a new case is filed and the
  candidates are shown to the operator, who merges with one click (``merge_case``);
* otherwise unrelated.

Reports without coordinates (a grid code only) are never merged automatically: a grid is too
coarse to be sure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from civicloop.cases.model import OPEN_STATUSES, Status
from civicloop.catalogue.model import Element
from civicloop.core.rawsql import Raw

CERTAIN_SHARE = 0.4
CERTAIN_MAX_M = 25.0
CERTAIN_SIMILARITY = 0.5
EARTH_RADIUS_M = 6_371_008.8
# The master of a duplicate is a case still in the loop before its disposal is settled.
_MASTER_STATUSES = tuple(
    sorted(str(s) for s in OPEN_STATUSES if s not in (Status.VERIFIED, Status.MERGED))
)


@dataclass(frozen=True)
class Candidate:
    """An open case that a report may duplicate."""

    case_id: str
    number: str
    status: str
    distance_m: float
    similarity: float
    certain: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "number": self.number,
            "status": self.status,
            "distance_m": round(self.distance_m, 1),
            "similarity": round(self.similarity, 2),
            "certain": self.certain,
        }


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine); exact enough at the scale of a street."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def near_params(
    lon: float, lat: float, radius_m: float, statuses: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    """SQL and parameters for "cases in these statuses inside the box around a point":
    the box a radius spans (a cheap index range), refined by :func:`distance_m` afterwards."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    marks = ", ".join(f":s{i}" for i in range(len(statuses)))
    params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(statuses)}
    params.update(x0=lon - dlon, x1=lon + dlon, y0=lat - dlat, y1=lat + dlat)
    sql = f"status IN ({marks}) AND lon BETWEEN :x0 AND :x1 AND lat BETWEEN :y0 AND :y1"
    return sql, params


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace() and c not in "，。、！？,.!?；;：:（）()"]
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)} or set(chars)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two texts, 0..1."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def candidates(
    raw: Raw,
    element: Element,
    lon: float,
    lat: float,
    text: str,
    now: datetime,
    *,
    exclude: str | None = None,
    limit: int = 5,
) -> list[Candidate]:
    """Open cases of ``element`` near (lon, lat) within its window, best first."""
    radius = float(element.dedupe_radius_m)
    if radius <= 0:
        return []
    since = now - timedelta(hours=element.dedupe_window_hours)
    box, params = near_params(lon, lat, radius, _MASTER_STATUSES)
    params.update(element=element.code, since=raw.ts(since))
    rows = raw.all(
        "SELECT id, number, status, lon, lat, description FROM cases"
        f" WHERE element_code = :element AND reported_at >= :since AND {box}",
        params,
    )
    found: list[Candidate] = []
    for r in rows:
        if r["id"] == exclude or r["lon"] is None or r["lat"] is None:
            continue
        d = distance_m(lon, lat, float(r["lon"]), float(r["lat"]))
        if d > radius:
            continue
        sim = similarity(text, str(r["description"]))
        near = min(radius * CERTAIN_SHARE, CERTAIN_MAX_M)
        certain = d <= near or sim >= CERTAIN_SIMILARITY
        found.append(Candidate(str(r["id"]), str(r["number"]), str(r["status"]), d, sim, certain))
    found.sort(key=lambda c: (not c.certain, c.distance_m - 100.0 * c.similarity))
    return found[:limit]
