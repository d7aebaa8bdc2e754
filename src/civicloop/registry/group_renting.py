"""The group-renting (群租) detector: residents per room against limits, with supporting signals.

For every residential room it compares who lives there — the registered residents, or what a
site visit observed (an approved correction), whichever is larger — with the room's limit
(``model.residents_limit``: registered limit, floor area per person, a hard cap). A room over
its limit is a suspicion; ``model.judge_occupancy`` raises an alert when a supporting signal
agrees or the excess is large.

Supporting signals (each an int; > 0 agrees):

* ``complaints``: cases near the building (any channel but data rules, so the detector never
  supports itself) over ``rules.complaint_days``, read through ``cases.queries``;
* ``utility``: the residents the room's water and electricity meters imply
  (``discovery.utility``: use per day over the last ``rules.utility_days`` against per-person
  norms) above the room's limit — 0 when use is normal or the meters cover too few days. Built
  in: the detector asks discovery for every over-occupied room in one batch. The import sits
  inside :func:`detect_group_renting` because discovery's detectors read this context's
  service (elders living alone) and a module-level import each way would be a cycle; calling it
  here rather than having discovery register it keeps the signal independent of which
  context was imported first;
* whatever other contexts register with :func:`register_signal` (``fn(p, room) -> int``).

An alert is a case of the catalogue's group-renting element, channel ``data_rule``, filed with
``cases.reporting.report_case``; the ``registry_alerts`` row is written in the same transaction
(``also``), and a room alerted within ``rules.realert_days`` is not raised again unless more
people now live there. The case's own duplicate check adds a second guard. Each result names
its utility evidence (implied residents, days covered, meters) and so does the case text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select

from civicloop.cases.model import Channel
from civicloop.cases.reporting import CaseDraft, report_case
from civicloop.core.errors import ConflictError
from civicloop.org.model import SYSTEM_ACTOR, Actor
from civicloop.registry import store
from civicloop.registry.model import GroupRentingRules, RoomUse, judge_occupancy, residents_limit
from civicloop.registry.profiles import cases_near
from civicloop.runtime import Platform

PREFERRED_ELEMENT = "E0701"  # 群租居住人数超标
SignalFn = Callable[[Platform, dict[str, Any]], int]
_SIGNALS: dict[str, SignalFn] = {}


def register_signal(name: str, fn: SignalFn) -> None:
    """Add a supporting signal (``fn(p, room) -> count``; room has id, building_id, lon, lat,
    grid_code, address, residents, limit)."""
    _SIGNALS[name] = fn


def element_code(p: Platform) -> str:
    """The catalogue's element for over-occupied rentals (E0701, else the first element of the
    group_renting scene). ConflictError when the catalogue has none."""
    if p.catalogue.element(PREFERRED_ELEMENT) is not None:
        return PREFERRED_ELEMENT
    for e in p.catalogue.elements.values():
        if e.scene_code == "group_renting":
            return e.code
    raise ConflictError(
        "the catalogue has no group-renting element", code="registry.no_group_renting_element"
    )


def over_occupied(p: Platform, rules: GroupRentingRules) -> list[dict[str, Any]]:
    """Residential rooms whose residents exceed their limit (no signals yet)."""
    r, b, pe = store.rooms.c, store.buildings.c, store.people.c
    counts = (
        select(pe.room_id, func.count().label("n"))
        .where(pe.room_id.is_not(None))
        .group_by(pe.room_id)
        .subquery()
    )
    q = (
        select(
            r.id,
            r.building_id,
            r.address,
            r.area_m2,
            r.residents_limit,
            r.observed_residents,
            r.grid_code,
            b.lon,
            b.lat,
            func.coalesce(counts.c.n, 0).label("registered"),
        )
        .select_from(
            store.rooms.join(store.buildings, b.id == r.building_id).outerjoin(
                counts, counts.c.room_id == r.id
            )
        )
        .where(r.use == str(RoomUse.RESIDENTIAL))
    )
    out = []
    with p.db.read() as conn:
        for row in conn.execute(q):
            residents = max(int(row.registered), int(row.observed_residents or 0))
            limit = residents_limit(row.area_m2, row.residents_limit, rules)
            if residents > limit:
                out.append({**row._mapping, "residents": residents, "limit": limit})
    return out


def _recent_alert(p: Platform, room_id: str, rules: GroupRentingRules) -> int | None:
    a = store.alerts.c
    since = p.clock.now() - timedelta(days=rules.realert_days)
    with p.db.read() as conn:
        return conn.execute(
            select(func.max(a.residents)).where(a.room_id == room_id, a.raised_at >= since)
        ).scalar()


def detect_group_renting(
    p: Platform,
    *,
    rules: GroupRentingRules | None = None,
    actor: Actor = SYSTEM_ACTOR,
    request_id: str = "group-renting",
) -> list[dict[str, Any]]:
    """Check every residential room; file a case for each new alert. Returns one result per
    over-occupied room: residents, limit, signals, and ``case_id`` or why nothing was filed."""
    from civicloop.discovery.utility import utility_evidence

    rules = rules or GroupRentingRules()
    code = element_code(p)
    results = []
    rooms = over_occupied(p, rules)
    metered = utility_evidence(p, [str(r["id"]) for r in rooms], rules) if rooms else {}
    for room in rooms:
        near = cases_near(
            p,
            actor,
            room["grid_code"],
            room["lon"],
            room["lat"],
            radius_m=rules.complaint_radius_m,
            days=rules.complaint_days,
        )
        signals = {"complaints": sum(1 for c in near if c["channel"] != Channel.DATA_RULE)}
        evidence = metered.get(str(room["id"]))
        signals["utility"] = max(0, evidence.implied - room["limit"]) if evidence else 0
        for name, fn in sorted(_SIGNALS.items()):
            signals[name] = int(fn(p, room))
        utility = evidence.public() if evidence else None
        verdict = judge_occupancy(room["id"], room["residents"], room["limit"], signals, rules)
        result: dict[str, Any] = {
            "room_id": room["id"],
            "address": room["address"],
            "residents": room["residents"],
            "limit": room["limit"],
            "signals": signals,
            "utility": utility,
            "case_id": None,
        }
        results.append(result)
        if not verdict.should_alert:
            result["outcome"] = "no_supporting_signal"
            continue
        previous = _recent_alert(p, room["id"], rules)
        if previous is not None and previous >= room["residents"]:
            result["outcome"] = "already_alerted"
            continue
        support = support_text(signals, utility, rules.complaint_days)
        result["case_id"] = _file(p, actor, code, room, signals, support, request_id)
        result["outcome"] = "alerted"
    return results


def support_text(signals: dict[str, int], utility: dict[str, Any] | None, days: int) -> str:
    """The evidence in the case's words (中文): complaints, metered use and what it implies."""
    parts = []
    if signals.get("complaints"):
        parts.append(f"附近{days}天内投诉{signals['complaints']}件")
    if signals.get("utility") and utility:
        use = []
        if utility.get("water_m3_per_day") is not None:
            use.append(f"日均用水{utility['water_m3_per_day']:.2f}立方米")
        if utility.get("electricity_kwh_per_day") is not None:
            use.append(f"日均用电{utility['electricity_kwh_per_day']:.1f}千瓦时")
        parts.append(
            f"{'、'.join(use)}（{utility['days_covered']:.1f}天读数），"
            f"推算约{utility['implied_residents']}人居住"
        )
    parts += [f"{k} {v}" for k, v in signals.items() if v and k not in ("complaints", "utility")]
    return "；".join(parts) or "超标倍数较大"


def _file(
    p: Platform,
    actor: Actor,
    code: str,
    room: dict[str, Any],
    signals: dict[str, int],
    support: str,
    request_id: str,
) -> str:
    now = p.clock.now()
    description = (
        f"数据规则发现疑似群租：{room['address']}（房屋编号 {room['id']}，面积"
        f"{room['area_m2']:.0f}平方米）居住{room['residents']}人，按标准最多{room['limit']}人；"
        f"佐证：{support}。"
    )
    case_id: dict[str, str] = {}

    def also(conn: Connection, view: dict[str, Any]) -> None:
        case_id["id"] = str(view["id"])
        conn.execute(
            insert(store.alerts).values(
                room_id=room["id"],
                residents=room["residents"],
                residents_limit=room["limit"],
                signals=signals,
                case_id=case_id["id"],
                raised_at=now,
            )
        )

    report_case(
        p,
        actor,
        CaseDraft(
            element_code=code,
            description=description,
            channel=Channel.DATA_RULE,
            title=f"疑似群租：{room['address']}",
            lon=room["lon"],
            lat=room["lat"],
            address=room["address"],
        ),
        request_id=request_id,
        also=also,
    )
    return case_id["id"]
