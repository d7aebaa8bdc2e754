"""Alert → case: a rule's or detector's finding becomes a case on the right grid, once.

For each raised alert (:func:`raise_alerts`):

1. **place** — the alert's grid, else its point located on the grid index (one vectorised
   ``locate_many`` for the batch); an alert that lands on no grid is kept as ``unplaced``
   (visible in the alert list, in the ledger) and files nothing;
2. **dedupe** — by ``dedupe_key`` (rule + device, or rule + place for device-less findings):
   while the key's alert is ``open`` and its case is still in the loop, the raise is
   SUPPRESSED (counted on the alert, traced in the ledger). Filing goes through
   ``cases.reporting.report_case``, whose duplicate check attaches a finding to an open case
   of the same element nearby (a citizen may have reported the same bin) instead of opening
   a second one;
3. **file** — channel ``sensor`` (device rules) or ``data_rule`` (detectors over registries
   and permits), counted as proactive discovery; the alert row, its ``alert.raised`` entry and
   (under emergency mode) the case's emergency registration commit with the case.

A cleared alert (readings back to normal) marks the alert ``cleared`` and puts a close
suggestion on its case as a note — never closes it: the element's standard decides whether a
grid worker must verify on site first, and the note says so.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection

from civicloop.cases.model import OPEN_STATUSES, Channel
from civicloop.core.errors import CivicError
from civicloop.core.ids import new_uuid
from civicloop.core.rawsql import Raw
from civicloop.discovery.alert_store import alerts as alerts_table  # noqa: F401  (tables)
from civicloop.discovery.model import Alert
from civicloop.ledger.service import Action as LedgerAction
from civicloop.ledger.service import record
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

log = logging.getLogger(__name__)
# The machine that files discovered problems. OPERATOR so that its close suggestion is a
# note the policy allows (a machine never takes a loop step beyond reporting).
DISCOVERY_ACTOR = Actor(
    id="discovery", role=Role.OPERATOR, name="智能发现", region_path="/", is_machine=True
)
_OPEN = frozenset(str(s) for s in OPEN_STATUSES)


@dataclass
class AlertSummary:
    filed: int = 0
    attached: int = 0  # joined an open case of the same element and place
    suppressed: int = 0
    cleared: int = 0
    close_suggested: int = 0
    unplaced: int = 0
    failed: int = 0
    case_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dedupe_key(a: Alert) -> str:
    if a.device_id:
        return f"{a.rule_id}|{a.device_id}"[:240]
    place = f"{a.lon:.4f},{a.lat:.4f}" if a.lon is not None and a.lat is not None else ""
    return f"{a.rule_id}|{a.grid_code or ''}|{place}"[:240]


def is_clear(a: Alert) -> bool:
    return a.evidence.get("transition") == "cleared"


def raise_alerts(p: Platform, alerts: list[Alert], *, request_id: str = "-") -> AlertSummary:
    """File, suppress or clear each alert (see the module docstring); the counts.

    One transaction per alert that changes something (a case filing, a suppression, a
    clearing); a failing alert is counted and logged and does not stop the others.
    """
    summary = AlertSummary()
    if not alerts:
        return summary
    raises = [a for a in alerts if not is_clear(a)]
    grids = _place(p, raises)
    registered = False
    for a, grid in zip(raises, grids, strict=True):
        try:
            registered |= _raise_one(p, a, grid, summary, request_id)
        except CivicError as exc:
            summary.failed += 1
            log.warning("alert %s not filed: %s", a.rule_id, exc)
    for a in alerts:
        if is_clear(a):
            try:
                _clear_one(p, a, summary, request_id)
            except CivicError as exc:
                summary.failed += 1
                log.warning("alert %s not cleared: %s", a.rule_id, exc)
    if registered:
        from civicloop.discovery.emergency import tighten_deadlines

        tighten_deadlines(p)
    return summary


def _place(p: Platform, alerts: list[Alert]) -> list[str | None]:
    out: list[str | None] = [a.grid_code for a in alerts]
    todo = [i for i, a in enumerate(alerts) if a.grid_code is None and a.lon is not None]
    todo = [i for i in todo if alerts[i].lat is not None]
    if todo:
        found = p.grids.locate_many(
            [float(alerts[i].lon) for i in todo],  # type: ignore[arg-type]
            [float(alerts[i].lat) for i in todo],  # type: ignore[arg-type]
        )
        for i, code in zip(todo, found, strict=True):
            out[i] = code
    return out


def _open_alert(p: Platform, key: str) -> dict[str, Any] | None:
    with p.db.read() as conn:
        return Raw(conn).one(
            "SELECT id, case_id, repeat_count FROM discovery_alerts"
            " WHERE dedupe_key = :k AND status = 'open' ORDER BY raised_at DESC LIMIT 1",
            {"k": key},
        )


def _case_is_open(p: Platform, case_id: str | None) -> bool:
    if not case_id:
        return False
    from civicloop.cases.queries import read_case

    try:
        return str(read_case(p, DISCOVERY_ACTOR, case_id)["status"]) in _OPEN
    except CivicError:
        return False


def _row(a: Alert, key: str, grid: str | None, status: str, raw: Raw) -> dict[str, Any]:
    return {
        "id": new_uuid(),
        "dedupe_key": key,
        "rule_id": a.rule_id,
        "element_code": a.element_code,
        "device_id": a.device_id,
        "grid_code": grid,
        "lon": a.lon,
        "lat": a.lat,
        "summary": a.summary[:2000],
        "severity": a.severity,
        "evidence": raw.js(_jsonable(a.evidence)),
        "case_id": None,
        "status": status,
        "raised_at": raw.ts(a.observed_at),
        "last_seen_at": raw.ts(a.observed_at),
    }


_INSERT = (
    "INSERT INTO discovery_alerts (id, dedupe_key, rule_id, element_code, device_id, grid_code,"
    " lon, lat, summary, severity, evidence, case_id, status, raised_at, last_seen_at,"
    " repeat_count) VALUES (:id, :dedupe_key, :rule_id, :element_code, :device_id, :grid_code,"
    " :lon, :lat, :summary, :severity, :evidence, :case_id, :status, :raised_at, :last_seen_at,"
    " 0)"
)


def _raise_one(
    p: Platform, a: Alert, grid: str | None, summary: AlertSummary, request_id: str
) -> bool:
    """Returns True when the filed case was put under an emergency mode."""
    from civicloop.cases.reporting import CaseDraft, report_case
    from civicloop.discovery import emergency

    key = dedupe_key(a)
    element = p.catalogue.element(a.element_code)
    if element is None:
        summary.failed += 1
        log.warning("alert of rule %s names unknown element %s", a.rule_id, a.element_code)
        return False
    current = _open_alert(p, key)
    if current is not None:
        if _case_is_open(p, current["case_id"]):
            _suppress(p, current, a, request_id)
            summary.suppressed += 1
            return False
        with p.db.write() as conn:  # its case left the loop: the next raise files anew
            Raw(conn).run(
                "UPDATE discovery_alerts SET status = 'closed' WHERE id = :id",
                {"id": current["id"]},
            )
    if grid is None:
        with p.db.write() as conn:
            raw = Raw(conn)
            row = _row(a, key, None, "unplaced", raw)
            raw.run(_INSERT, row)
            record(
                conn,
                DISCOVERY_ACTOR,
                [LedgerAction("alert.unplaced", "alert", row["id"], after=_snapshot(a))],
                at=p.clock.now(),
                request_id=request_id,
            )
        summary.unplaced += 1
        return False
    channel = Channel(a.evidence.get("channel", Channel.SENSOR))
    registered = [False]

    def also(conn: Connection, view: dict[str, Any]) -> None:
        raw = Raw(conn)
        row = _row(a, key, grid, "open", raw)
        row["case_id"] = view["id"]
        raw.run(_INSERT, row)
        record(
            conn,
            DISCOVERY_ACTOR,
            [
                LedgerAction(
                    "alert.raised",
                    "alert",
                    row["id"],
                    after=_snapshot(a)
                    | {"case_id": view["id"], "duplicate_of": view.get("duplicate_of")},
                )
            ],
            at=p.clock.now(),
            request_id=request_id,
        )
        registered[0] = emergency.register_alert_case(
            p, conn, grid, element.scene_code, str(view["id"])
        )

    with_point = a.lon is not None and a.lat is not None
    view = report_case(
        p,
        DISCOVERY_ACTOR,
        CaseDraft(
            element_code=element.code,
            description=a.summary or element.name,
            title=f"【智能发现】{element.name}",
            channel=channel,
            lon=a.lon if with_point else None,
            lat=a.lat if with_point else None,
            grid_code=None if with_point else grid,
        ),
        request_id=request_id,
        also=also,
    )
    if view.get("duplicate_of"):
        summary.attached += 1
    else:
        summary.filed += 1
    summary.case_ids.append(str(view["id"]))
    return registered[0]


def _suppress(p: Platform, current: dict[str, Any], a: Alert, request_id: str) -> None:
    with p.db.write() as conn:
        raw = Raw(conn)
        raw.run(
            "UPDATE discovery_alerts SET repeat_count = repeat_count + 1, last_seen_at = :at"
            " WHERE id = :id",
            {"at": raw.ts(a.observed_at), "id": current["id"]},
        )
        record(
            conn,
            DISCOVERY_ACTOR,
            [
                LedgerAction(
                    "alert.suppressed",
                    "alert",
                    str(current["id"]),
                    after={"case_id": current["case_id"], "repeat": current["repeat_count"] + 1},
                )
            ],
            at=p.clock.now(),
            request_id=request_id,
        )


def _clear_one(p: Platform, a: Alert, summary: AlertSummary, request_id: str) -> None:
    from civicloop.cases.side_flows import add_note

    current = _open_alert(p, dedupe_key(a))
    if current is None:
        return
    now = p.clock.now()
    element = p.catalogue.element(a.element_code)
    verify = element is None or element.needs_verification
    text = (
        "【智能发现】读数已恢复正常，建议结案"
        + ("；按本要素标准，须网格员现场核查后结案。" if verify else "；本要素无需现场核查。")
        + f"（规则 {a.rule_id}，{a.observed_at.isoformat()}）"
    )
    suggested = False
    if current["case_id"] and _case_is_open(p, current["case_id"]):
        for attachment in (None, {"kind": "close_suggestion", "rule_id": a.rule_id}):
            try:
                add_note(
                    p,
                    DISCOVERY_ACTOR,
                    str(current["case_id"]),
                    text=text,
                    attachment=attachment,
                    request_id=request_id,
                )
                suggested = True
                break
            except CivicError:
                continue  # NOTE is refused in some statuses, ATTACH in others
    with p.db.write() as conn:
        raw = Raw(conn)
        raw.run(
            "UPDATE discovery_alerts SET status = 'cleared', cleared_at = :at,"
            " close_suggested_at = :s WHERE id = :id",
            {
                "at": raw.ts(a.observed_at),
                "s": raw.ts(now) if suggested else None,
                "id": current["id"],
            },
        )
        record(
            conn,
            DISCOVERY_ACTOR,
            [
                LedgerAction(
                    "alert.cleared",
                    "alert",
                    str(current["id"]),
                    after={
                        "case_id": current["case_id"],
                        "close_suggested": suggested,
                        "needs_verification": verify,
                    },
                )
            ],
            at=now,
            request_id=request_id,
        )
    summary.cleared += 1
    summary.close_suggested += int(suggested)


def _snapshot(a: Alert) -> dict[str, Any]:
    return {
        "rule_id": a.rule_id,
        "element_code": a.element_code,
        "device_id": a.device_id,
        "observed_at": a.observed_at.isoformat(),
        "severity": a.severity,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def list_alerts(
    p: Platform, actor: Actor, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Alerts on grids inside the actor's territory (unplaced ones for the whole district),
    newest first."""
    where = "WHERE status = :status" if status else ""
    with p.db.read() as conn:
        raw = Raw(conn)
        rows = raw.all(
            f"SELECT * FROM discovery_alerts {where} ORDER BY raised_at DESC, id LIMIT :n",
            {"status": status, "n": int(limit) * 4} if status else {"n": int(limit) * 4},
        )
    out: list[dict[str, Any]] = []
    for r in rows:
        grid = r["grid_code"]
        path = p.grid_path(grid) if grid else "/"
        if not path or not actor.covers(path):
            continue
        for k in ("raised_at", "last_seen_at", "cleared_at", "close_suggested_at"):
            r[k] = raw.parse_ts(r[k])
        r["evidence"] = raw.parse_js(r["evidence"])
        out.append(r)
        if len(out) >= limit:
            break
    return out
