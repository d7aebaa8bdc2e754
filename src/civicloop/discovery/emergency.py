"""Emergency mode (战平一体): bad weather or an operator switches a place from normal to emergency.

A mode covers a *scope*: the whole district, one street, or one scene (e.g. ``smart_weather``).
It starts when a ``WeatherAlert`` reading of a listed hazard reaches the catalogue profile's
trigger level (``catalogue/data/default/40-emergency.yaml``: levels blue < yellow < orange <
red), or when an operator starts it (API ``POST /api/v1/emergency``, CLI ``civicloop rules
emergency on``). While it lasts:

* the profile's task packages (预置任务) for that hazard and level are filed as cases — one
  per street in scope (or one for the district) — through ``cases.reporting.report_case``,
  channel ``data_rule``, and routed like any case;
* those cases and every case reported in scope meanwhile (any channel) get tightened
  deadlines: each open step keeps ``deadline_factor`` of its remaining time (at least
  ``min_deadline``), or the emergency class the profile maps its class to
  (:func:`tighten_deadlines`, after each filing and by the periodic tick);
* rules with ``mode: emergency`` (emergency thresholds) replace their ``mode: normal`` twins.

A weather-started mode ends when the warning drops below the trigger level (or is cancelled);
an operator-started one when an operator ends it. Starting, escalating, every task and every
end are ledger entries.

Deadline tightening goes through the SLA clock's verb ``cases.sla.tighten_open_steps``, in the
same transaction as the mode's bookkeeping and its ledger entry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from civicloop.catalogue.model import ClockMode, EmergencyProfile
from civicloop.core.errors import ConflictError, InputError, NotFoundError
from civicloop.core.ids import new_uuid
from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import emergency_modes  # noqa: F401  (registers tables)
from civicloop.discovery.model import Reading
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor
from civicloop.runtime import Platform

SCOPES = ("district", "street", "scene")
CACHE_SECONDS = 2.0
_CACHE_ATTR = "_discovery_emergency_cover"
CANCELLED = ("cancelled", "canceled", "lifted", "解除")


@dataclass(frozen=True)
class Coverage:
    """The active modes, as a fast "is this place in emergency mode?" test."""

    modes: tuple[dict[str, Any], ...]

    @property
    def is_active(self) -> bool:
        return bool(self.modes)

    def covers(self, p: Platform, grid_code: str | None, scene_code: str | None) -> bool:
        if not self.modes:
            return False
        street = street_of(p, grid_code) if grid_code else None
        for m in self.modes:
            kind, code = m["scope_kind"], m["scope_code"]
            if (
                kind == "district"
                or (kind == "street" and code == street)
                or (kind == "scene" and code == scene_code)
            ):
                return True
        return False


def street_of(p: Platform, grid_code: str) -> str | None:
    path = p.grid_path(grid_code)
    parts = [c for c in path.split("/") if c] if path else []
    return parts[1] if len(parts) > 1 else None


def profile(p: Platform) -> EmergencyProfile:
    prof = p.catalogue.emergency
    if prof is None:
        raise InputError(
            "the catalogue has no emergency profile", field="emergency", rule="configured"
        )
    return prof


def coverage(p: Platform) -> Coverage:
    """Active modes, cached for ``CACHE_SECONDS`` (a change in this process clears it)."""
    hit = getattr(p, _CACHE_ATTR, None)
    now = time.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    cover = Coverage(tuple(list_modes(p, active_only=True)))
    setattr(p, _CACHE_ATTR, (now, cover))
    return cover


def _forget(p: Platform) -> None:
    setattr(p, _CACHE_ATTR, None)


def list_modes(p: Platform, *, active_only: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Modes, newest first; with ``active_only`` those not yet ended."""
    where = " WHERE ended_at IS NULL" if active_only else ""
    with p.db.read() as conn:
        raw = Raw(conn)
        rows = raw.all(
            f"SELECT * FROM discovery_emergency_modes{where} ORDER BY started_at DESC, id"
            f" LIMIT {int(limit)}"
        )
        for r in rows:
            for k in ("started_at", "ended_at"):
                r[k] = raw.parse_ts(r[k])
    return rows


def _district(p: Platform) -> str:
    codes = p.grids.codes
    if not codes:
        raise InputError("the district has no grids", field="scope_code", rule="exists")
    path = p.grid_path(codes[0]) or ""
    return next(c for c in path.split("/") if c)


def _streets(p: Platform) -> dict[str, str]:
    """street code → its first grid (by code): where a per-street task case is filed."""
    out: dict[str, str] = {}
    for code in p.grids.codes:
        street = street_of(p, code)
        if street is not None and street not in out:
            out[street] = code
    return out


def _check_scope(p: Platform, scope_kind: str, scope_code: str | None) -> str:
    if scope_kind not in SCOPES:
        raise InputError(
            f"unknown scope {scope_kind!r}", field="scope_kind", rule=f"one of {', '.join(SCOPES)}"
        )
    if scope_kind == "district":
        return _district(p)
    if not scope_code:
        raise InputError("name the street or scene", field="scope_code", rule="required")
    if scope_kind == "street" and scope_code not in _streets(p):
        raise InputError(f"unknown street {scope_code!r}", field="scope_code", rule="a street")
    if scope_kind == "scene" and scope_code not in p.catalogue.scenes:
        raise InputError(f"unknown scene {scope_code!r}", field="scope_code", rule="a scene")
    return scope_code


def enter_emergency(
    p: Platform,
    actor: Actor,
    *,
    scope_kind: str,
    scope_code: str | None = None,
    level: str,
    hazard: str,
    reason: str,
    source: str = "operator",
    request_id: str = "-",
) -> dict[str, Any]:
    """Start emergency mode over a scope and dispatch its task packages.

    An active mode over the same scope is escalated to a higher level (its new packages are
    dispatched) instead of opening a second one; the same or a lower level changes nothing.
    Raises InputError for an unknown scope, level or hazard. Ledger: ``emergency.entered`` or
    ``emergency.escalated``, and ``emergency.task_dispatched`` per task case.
    """
    prof = profile(p)
    code = _check_scope(p, scope_kind, scope_code)
    if prof.rank(level) < 0:
        raise InputError(
            f"unknown level {level!r}", field="level", rule=f"one of {', '.join(prof.levels)}"
        )
    if not hazard or len(hazard) > 32:
        raise InputError("name the hazard (e.g. typhoon)", field="hazard", rule="required")
    reason = (reason or "").strip()[:500] or f"{hazard} {level}"
    now = p.clock.now()
    current = [
        m
        for m in list_modes(p, active_only=True)
        if m["scope_kind"] == scope_kind and m["scope_code"] == code
    ]
    previous_rank = -1
    with p.db.write() as conn:
        raw = Raw(conn)
        if current:
            mode = current[0]
            previous_rank = prof.rank(str(mode["level"]))
            if prof.rank(level) <= previous_rank:
                return {**mode, "is_new": False, "tasks": []}
            raw.run(
                "UPDATE discovery_emergency_modes SET level = :level WHERE id = :id",
                {"level": level, "id": mode["id"]},
            )
            record(
                conn,
                actor,
                [
                    LedgerAction(
                        "emergency.escalated",
                        "emergency_mode",
                        str(mode["id"]),
                        before={"level": mode["level"]},
                        after={"level": level, "reason": reason},
                    )
                ],
                at=now,
                request_id=request_id,
            )
            mode = {**mode, "level": level}
        else:
            mode = {
                "id": new_uuid(),
                "scope_kind": scope_kind,
                "scope_code": code,
                "level": level,
                "hazard": hazard,
                "source": source,
                "reason": reason,
                "deadline_factor": prof.deadline_factor,
                "started_at": now,
                "started_by": actor.id,
                "ended_at": None,
                "ended_by": None,
                "end_reason": None,
            }
            raw.run(
                "INSERT INTO discovery_emergency_modes (id, scope_kind, scope_code, level, hazard,"
                " source, reason, deadline_factor, started_at, started_by) VALUES (:id,"
                " :scope_kind, :scope_code, :level, :hazard, :source, :reason, :deadline_factor,"
                " :started_at, :started_by)",
                {**mode, "started_at": raw.ts(now)},
            )
            record(
                conn,
                actor,
                [
                    LedgerAction(
                        "emergency.entered",
                        "emergency_mode",
                        str(mode["id"]),
                        after={
                            k: mode[k]
                            for k in ("scope_kind", "scope_code", "level", "hazard", "source")
                        }
                        | {"reason": reason},
                    )
                ],
                at=now,
                request_id=request_id,
            )
    _forget(p)
    tasks = _dispatch_tasks(p, actor, mode, prof, previous_rank, request_id)
    tighten_deadlines(p)
    return {**mode, "is_new": not current, "tasks": tasks}


def _dispatch_tasks(
    p: Platform,
    actor: Actor,
    mode: dict[str, Any],
    prof: EmergencyProfile,
    previous_rank: int,
    request_id: str,
) -> list[dict[str, Any]]:
    from civicloop.cases.model import Channel
    from civicloop.cases.reporting import CaseDraft, report_case

    rank = prof.rank(str(mode["level"]))
    streets = _streets(p)
    if mode["scope_kind"] == "street":
        streets = {k: v for k, v in streets.items() if k == mode["scope_code"]}
    out: list[dict[str, Any]] = []
    for pkg in prof.task_packages:
        if mode["hazard"] not in pkg.hazards:
            continue
        need = prof.rank(pkg.min_level)
        if not (rank >= need > previous_rank):  # due now, and not already at a lower level
            continue
        for task in pkg.tasks:
            element = p.catalogue.element(task.element)
            if element is None:
                continue
            if mode["scope_kind"] == "scene" and element.scene_code != mode["scope_code"]:
                continue
            # per district: once, at the scope's first grid (a street mode's own street)
            only = mode["scope_code"] if mode["scope_kind"] == "street" else None
            places = (
                list(streets.items())
                if task.per == "street"
                else [(only, next(iter(sorted(streets.values())), None))]
            )
            for street, grid in places:
                if grid is None:
                    continue

                def also(conn: Connection, view: dict[str, Any], pkg_code: str = pkg.code) -> None:
                    _register(conn, mode["id"], str(view["id"]), "task", p.clock.now())
                    record(
                        conn,
                        actor,
                        [
                            LedgerAction(
                                "emergency.task_dispatched",
                                "emergency_mode",
                                str(mode["id"]),
                                after={"case_id": view["id"], "package": pkg_code},
                            )
                        ],
                        at=p.clock.now(),
                        request_id=request_id,
                    )

                view = report_case(
                    p,
                    actor,
                    CaseDraft(
                        element_code=element.code,
                        description=f"【应急任务·{pkg.name}】{task.description}",
                        title=task.title,
                        channel=Channel.DATA_RULE,
                        grid_code=grid,
                    ),
                    request_id=request_id,
                    also=also,
                )
                out.append(
                    {
                        "case_id": view["id"],
                        "number": view["number"],
                        "street": street,
                        "package": pkg.code,
                        "element": element.code,
                    }
                )
    return out


def _register(conn: Connection, mode_id: str, case_id: str, kind: str, at: datetime) -> None:
    raw = Raw(conn)
    raw.run(
        "INSERT INTO discovery_emergency_cases (case_id, mode_id, kind, tightened, filed_at)"
        " VALUES (:case_id, :mode_id, :kind, :tightened, :filed_at) ON CONFLICT (case_id)"
        " DO NOTHING",
        {
            "case_id": case_id,
            "mode_id": mode_id,
            "kind": kind,
            "tightened": raw.js([]),
            "filed_at": raw.ts(at),
        },
    )


def register_alert_case(
    p: Platform, conn: Connection, grid_code: str | None, scene_code: str | None, case_id: str
) -> bool:
    """Inside an alert filing's transaction: put the case under the mode covering its place."""
    cover = coverage(p)
    if not cover.is_active:
        return False
    street = street_of(p, grid_code) if grid_code else None
    for m in cover.modes:
        kind, code = m["scope_kind"], m["scope_code"]
        if kind == "district" or (kind, code) in (("street", street), ("scene", scene_code)):
            _register(conn, str(m["id"]), case_id, "alert", p.clock.now())
            return True
    return False


def leave_emergency(
    p: Platform, actor: Actor, mode_id: str, *, reason: str, request_id: str = "-"
) -> dict[str, Any]:
    """End a mode. NotFoundError for an unknown mode, ConflictError when already ended.
    Ledger: ``emergency.left``. Deadlines already tightened stay as they are."""
    now = p.clock.now()
    reason = (reason or "").strip()[:500] or "解除"
    with p.db.write() as conn:
        raw = Raw(conn)
        row = raw.one("SELECT * FROM discovery_emergency_modes WHERE id = :id", {"id": mode_id})
        if row is None:
            raise NotFoundError(f"no emergency mode {mode_id!r}")
        if row["ended_at"] is not None:
            raise ConflictError("this emergency mode has already ended")
        raw.run(
            "UPDATE discovery_emergency_modes SET ended_at = :at, ended_by = :by,"
            " end_reason = :reason WHERE id = :id",
            {"at": raw.ts(now), "by": actor.id, "reason": reason, "id": mode_id},
        )
        record(
            conn,
            actor,
            [
                LedgerAction(
                    "emergency.left",
                    "emergency_mode",
                    mode_id,
                    before={"level": row["level"], "scope": row["scope_code"]},
                    after={"reason": reason},
                )
            ],
            at=now,
            request_id=request_id,
        )
        row["started_at"] = raw.parse_ts(row["started_at"])
    row.update(ended_at=now, ended_by=actor.id, end_reason=reason)
    _forget(p)
    return row


# -- weather --------------------------------------------------------------------------------------


def observe_weather(p: Platform, readings: list[Reading]) -> list[dict[str, Any]]:
    """Switch district mode from WeatherAlert readings (Smart Data Models: ``awarenessLevel``,
    ``awarenessType``; ``level``/``hazard`` accepted too). At or above the trigger level for a
    listed hazard: enter (or escalate); below it, or cancelled: leave the weather-started
    modes for that hazard. Returns what changed."""
    prof = p.catalogue.emergency
    if prof is None or not readings:
        return []
    from civicloop.org.model import SYSTEM_ACTOR

    changed: list[dict[str, Any]] = []
    for r in sorted(readings, key=lambda x: x.observed_at):
        level = str(r.attrs.get("awarenessLevel") or r.attrs.get("level") or "").lower()
        hazard = str(r.attrs.get("awarenessType") or r.attrs.get("hazard") or "").lower()
        status = str(r.attrs.get("status") or "").lower()
        if hazard not in prof.hazards:
            continue
        rid = f"weather:{r.device_id}"
        if status not in CANCELLED and prof.rank(level) >= prof.rank(prof.trigger_level):
            mode = enter_emergency(
                p,
                SYSTEM_ACTOR,
                scope_kind="district",
                level=level,
                hazard=hazard,
                reason=f"气象预警 {hazard} {level}（{r.device_id}）",
                source="weather",
                request_id=rid,
            )
            if mode.get("is_new") or mode.get("tasks"):
                changed.append(mode)
        else:
            for m in list_modes(p, active_only=True):
                if m["source"] == "weather" and m["hazard"] == hazard:
                    changed.append(
                        leave_emergency(
                            p,
                            SYSTEM_ACTOR,
                            str(m["id"]),
                            reason=f"气象预警降级或解除：{hazard} {level or status}",
                            request_id=rid,
                        )
                    )
    return changed


# -- deadlines ------------------------------------------------------------------------------------


def tighten_deadlines(p: Platform, now: datetime | None = None) -> int:
    """Tighten the open steps of cases filed under an active mode; the number of steps changed.

    Each step is tightened once (its ``step@started_at`` key is remembered), so the periodic
    call is idempotent. Ledger: ``case.deadline_tightened`` per case changed.
    """
    prof = p.catalogue.emergency
    if prof is None:
        return 0
    now = now or p.clock.now()
    adopt_cases(p)
    changed = 0
    with p.db.write() as conn:
        raw = Raw(conn)
        rows = raw.all(
            "SELECT e.case_id, e.tightened, m.deadline_factor, m.id AS mode_id"
            " FROM discovery_emergency_cases e JOIN discovery_emergency_modes m"
            " ON m.id = e.mode_id WHERE m.ended_at IS NULL"
        )
        actions: list[LedgerAction] = []
        for row in rows:
            done = set(raw.parse_js(row["tightened"]) or [])
            steps = _tighten_case(p, raw, str(row["case_id"]), done, prof, row, now)
            if steps:
                changed += len(steps)
                raw.run(
                    "UPDATE discovery_emergency_cases SET tightened = :t WHERE case_id = :id",
                    {"t": raw.js(sorted(done)), "id": row["case_id"]},
                )
                actions.append(
                    LedgerAction(
                        "case.deadline_tightened",
                        "case",
                        str(row["case_id"]),
                        after={"mode_id": row["mode_id"], "steps": steps},
                    )
                )
        if actions:
            from civicloop.org.model import SYSTEM_ACTOR

            record(conn, SYSTEM_ACTOR, actions, at=now, request_id="emergency")
    return changed


def adopt_cases(p: Platform, *, page: int = 500, cap: int = 20_000) -> int:
    """Put the open cases reported in scope since a mode started — by any channel — under
    that mode, so their deadlines tighten too; the number newly adopted (idempotent)."""
    from civicloop.cases.queries import CaseFilter, list_cases
    from civicloop.org.model import SYSTEM_ACTOR

    adopted = 0
    for m in list_modes(p, active_only=True):
        kind, code = str(m["scope_kind"]), str(m["scope_code"])
        flt = CaseFilter(
            is_open=True,
            reported_from=m["started_at"],
            street_code=code if kind == "street" else None,
            scene_code=code if kind == "scene" else None,
        )
        offset = 0
        while offset < cap:
            rows, _total = list_cases(p, SYSTEM_ACTOR, flt, limit=page, offset=offset)
            if rows:
                with p.db.write() as conn:
                    raw = Raw(conn)
                    for r in rows:
                        adopted += raw.run(
                            "INSERT INTO discovery_emergency_cases (case_id, mode_id, kind,"
                            " tightened, filed_at) VALUES (:case_id, :mode_id, 'filed', :t, :at)"
                            " ON CONFLICT (case_id) DO NOTHING",
                            {
                                "case_id": r["id"],
                                "mode_id": m["id"],
                                "t": raw.js([]),
                                "at": raw.ts(r["reported_at"]),
                            },
                        )
            if len(rows) < page:
                break
            offset += page
    return adopted


def _tighten_case(
    p: Platform,
    raw: Raw,
    case_id: str,
    done: set[str],
    prof: EmergencyProfile,
    row: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """New due times for one case's open steps, through the SLA clock's own verb; each step
    (``step@started_at``) is considered once."""
    from civicloop.cases.sla import tighten_open_steps

    def new_due(s: dict[str, Any]) -> datetime | None:
        key = f"{s['step']}@{s['started_at'].isoformat()}"
        if key in done:
            return None
        done.add(key)
        target = prof.deadline_classes.get(str(s["deadline_class"]))
        cls = p.catalogue.deadline_classes.get(target) if target else None
        if cls is not None and cls.mode is ClockMode.CLOCK:
            return s["started_at"] + cls.duration
        remaining = max(s["due_at"] - now, timedelta(0))
        return now + max(remaining * float(row["deadline_factor"]), prof.min_deadline)

    return tighten_open_steps(raw, case_id, new_due)
