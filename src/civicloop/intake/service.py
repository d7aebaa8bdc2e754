"""Free-text intake: a report in words becomes a proposal, and one confirmation files a case.

::

    POST report ──► stored with its proposal ──► proposed ──(confirm)──► confirmed ─► case filed
                    (geocoder + classifier)      triage   ──(reject)───► rejected

A report (an operator typing a 12345 call, a citizen using the app or the web) is stored with
the platform's proposal before anyone is answered: element suggestions from the text
classifier (``civicloop.nlp.service.classify``) and a place from the geocoder, each with a
confidence. When either confidence is below ``settings.triage_confidence`` — or a part failed
— the report goes to the ``triage`` queue for a person to look at; otherwise it is ``proposed``
for one-step confirmation. A failing classifier or geocoder never loses a report: the failure
is written into the proposal and the report goes to triage.

Confirming files the case through ``cases.service.report_case`` (the citizen who reported is
the case's reporter; a hotline caller's name and phone are recorded as contact), then marks the
report confirmed with its case id and, when the operator chose another element than the one
suggested first, stores that correction for the classifier's next training. ``report_case``
owns its transaction, so the report's decision is a second transaction right after it; a lock
keeps two confirmations of one report in this process from both filing.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from civicloop.cases import service as cases
from civicloop.cases.model import Channel
from civicloop.core.errors import ConflictError, InputError, NotFoundError
from civicloop.core.ids import new_uuid
from civicloop.intake import store
from civicloop.intake.geocoder import geocode
from civicloop.intake.model import OPEN_STATUSES, ReportStatus
from civicloop.ledger.service import Action, record
from civicloop.nlp import service as nlp  # the text classifier: suggestions, corrections
from civicloop.org.model import REPORTER_ROLES, Actor, Role
from civicloop.runtime import Platform

# Who records reports and works the queue; who may read the queue without acting on it.
QUEUE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SHIFT_CHIEF})
READ_ROLES = QUEUE_ROLES | {Role.AUDITOR, Role.ADMIN}
REPORT_ROLES = QUEUE_ROLES | {Role.CITIZEN, Role.ENTERPRISE, Role.MACHINE_CLIENT}
CHANNELS = ("hotline", "web", "app")
GIVEN_CONFIDENCE = 0.95  # a position the reporter's device sent
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
# PostgreSQL cannot store NUL, and no person types the other C0 controls
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_controls(value: str | None, field: str) -> None:
    if value and _CONTROL.search(value):
        raise InputError(
            f"{field} contains control characters", field=field, rule="no_control_characters"
        )


def submit_report(
    p: Platform,
    actor: Actor,
    *,
    text: str,
    channel: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
    photos: list[dict[str, Any]] | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """Store a free-text report with its proposal; it is ``proposed`` or in ``triage``.

    ``photos`` are already checked and stored (``core.photos``); their metadata is kept with
    the report and becomes evidence of the case when it is confirmed.

    Raises InputError for empty or oversized text, a bad channel, a malformed phone, or a
    given position outside the district (each naming the field).
    """
    text = (text or "").strip()
    if not text:
        raise InputError("text must not be empty", field="text", rule="required")
    if len(text) > p.settings.max_text_length:
        raise InputError(
            f"text is longer than {p.settings.max_text_length} characters",
            field="text",
            rule="max_length",
        )
    channel = channel or ("hotline" if actor.role in QUEUE_ROLES else "app")
    if channel not in CHANNELS:
        raise InputError(
            f"channel must be one of {', '.join(CHANNELS)}", field="channel", rule="enum"
        )
    if channel == "hotline" and actor.role not in QUEUE_ROLES:
        raise InputError(
            "only operators record hotline calls", field="channel", rule="hotline_by_operator"
        )
    contact_name = (contact_name or "").strip() or None
    contact_phone = (contact_phone or "").strip() or None
    _no_controls(text, "text")
    _no_controls(contact_name, "contact_name")
    if contact_name and len(contact_name) > 64:
        raise InputError(
            "contact_name is longer than 64 characters", field="contact_name", rule="max_length"
        )
    if contact_phone and not _PHONE.match(contact_phone):
        raise InputError("contact_phone is not a phone number", field="contact_phone", rule="phone")
    given = _given_place(p, lon, lat)
    proposal = propose(p, text, given)
    status = ReportStatus.TRIAGE if proposal["triage_reasons"] else ReportStatus.PROPOSED
    location = proposal["location"]
    path = (p.grid_path(location["grid_code"]) or "") if location else ""
    now = p.clock.now()
    report_id = new_uuid()
    row: dict[str, Any] = {
        "id": report_id,
        "channel": channel,
        "text": text,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "reporter_id": actor.id,
        "reporter_role": str(actor.role),
        "given_lon": lon,
        "given_lat": lat,
        "proposal": proposal,
        "status": str(status),
        "region_path": path,
        "case_id": None,
        "created_at": now,
        "decided_at": None,
        "decided_by": None,
        "reason": None,
        "photos": photos or None,
    }
    with p.db.write() as conn:
        conn.execute(store.intake_reports.insert().values(**row))
        snapshot = {
            "status": row["status"],
            "channel": channel,
            "grid_code": location and location["grid_code"],
        }
        top = proposal["suggestions"][0]["element_code"] if proposal["suggestions"] else None
        record(
            conn,
            actor,
            [
                Action(
                    "intake.reported",
                    "intake_report",
                    report_id,
                    after={**snapshot, "element_code": top},
                )
            ],
            at=now,
            request_id=request_id,
        )
    return row


def _given_place(p: Platform, lon: float | None, lat: float | None) -> str | None:
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise InputError(
            "give both lon and lat", field="lon" if lon is None else "lat", rule="required_together"
        )
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError("lon/lat are not WGS84 degrees", field="lon", rule="range")
    grid = p.grids.locate(lon, lat)
    if grid is None:
        raise InputError(
            "the location is outside the district's grids", field="lon", rule="inside_district"
        )
    return grid


def propose(p: Platform, text: str, given_grid: str | None = None) -> dict[str, Any]:
    """The platform's proposal for a text: element suggestions, a place, and why to triage."""
    problems: list[str] = []
    suggestions, model_version = classify(p, text, problems)
    location: dict[str, Any] | None = None
    address: dict[str, Any] | None = None
    try:
        match = geocode(p, text)
    except Exception as exc:  # a geocoder fault must not lose the report
        problems.append(f"geocoder: {type(exc).__name__}: {exc}")
        match = None
    if match is not None:
        address = {**asdict(match), "source": "text"}
    if given_grid is not None:
        location = {
            "grid_code": given_grid,
            "precision": "given",
            "confidence": GIVEN_CONFIDENCE,
            "source": "given",
        }
    elif address is not None:
        location = address
    threshold = p.settings.triage_confidence
    element_confidence = suggestions[0]["confidence"] if suggestions else 0.0
    location_confidence = location["confidence"] if location else 0.0
    reasons = []
    if element_confidence < threshold:
        reasons.append("element_confidence")
    if location_confidence < threshold:
        reasons.append("location_confidence")
    return {
        "suggestions": suggestions,
        "model_version": model_version,
        "location": location,
        "address": address,
        "element_confidence": element_confidence,
        "location_confidence": location_confidence,
        "triage_reasons": reasons,
        "problems": problems,
    }


def classify(
    p: Platform, text: str, problems: list[str]
) -> tuple[list[dict[str, Any]], str | None]:
    """Element suggestions, best first, and the model version that made them.

    ([], None) and a problem noted when the classifier fails.
    """
    try:
        got = nlp.classify(p, text, top=3)
        version = str(nlp.active_version(p))
    except Exception as exc:  # a classifier fault must not lose the report
        problems.append(f"classifier: {type(exc).__name__}: {exc}")
        return [], None
    suggestions = [
        {
            "element_code": str(s.label),
            "name": str(s.name),
            "confidence": round(float(s.confidence), 4),
        }
        for s in got
    ]
    return suggestions, version


# ---------------------------------------------------------------- reading


def _scope(actor: Actor) -> ColumnElement[bool]:
    c = store.intake_reports.c
    if actor.role in READ_ROLES:
        if not actor.region_path:
            return c.id.is_(None)
        # unplaced reports belong to whoever works the queue
        return or_(
            c.region_path == "", c.region_path.startswith(actor.region_path, autoescape=True)
        )
    if actor.role in REPORTER_ROLES:
        return c.reporter_id == actor.id
    return c.id.is_(None)


def read_report(p: Platform, actor: Actor, report_id: str) -> dict[str, Any]:
    """One report the actor may see (NotFoundError for a missing one and for one not theirs)."""
    c = store.intake_reports.c
    with p.db.read() as conn:
        row = conn.execute(
            select(store.intake_reports).where(and_(c.id == report_id, _scope(actor)))
        ).first()
    if row is None:
        raise NotFoundError("no such report", code="intake.not_found")
    return dict(row._mapping)


def list_queue(
    p: Platform, actor: Actor, *, status: str, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of the reports in ``status`` the actor may see, newest first, and the total."""
    c = store.intake_reports.c
    where = and_(c.status == status, _scope(actor))
    with p.db.read() as conn:
        total = (
            conn.execute(
                select(func.count()).select_from(store.intake_reports).where(where)
            ).scalar()
            or 0
        )
        rows = conn.execute(
            select(store.intake_reports)
            .where(where)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [dict(r._mapping) for r in rows], int(total)


# ---------------------------------------------------------------- deciding


def confirm_report(
    p: Platform,
    actor: Actor,
    report_id: str,
    *,
    element_code: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    grid_code: str | None = None,
    title: str | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """File the case a report proposes, with the operator's corrections; returns the report.

    Raises NotFoundError (missing or out of scope), ConflictError (already decided), InputError
    (no element or place to file with, an unknown element, a place outside the district).
    """
    row = _open_report(p, actor, report_id)
    proposal = row["proposal"] or {}
    suggestions = proposal.get("suggestions") or []
    top = suggestions[0]["element_code"] if suggestions else None
    chosen = element_code or top
    _no_controls(title, "title")
    if not chosen:
        raise InputError(
            "choose an element: the classifier made no suggestion",
            field="element_code",
            rule="required",
        )
    if p.catalogue.element(chosen) is None:
        raise InputError(
            f"unknown element code {chosen!r}",
            field="element_code",
            rule="must be an element of the active catalogue",
        )
    place = _place(p, row, proposal, lon, lat, grid_code)
    is_citizen = Role(row["reporter_role"]) in REPORTER_ROLES
    reporter = (
        Actor(id=row["reporter_id"], role=Role(row["reporter_role"]), name="")
        if is_citizen
        else actor
    )
    address = (proposal.get("address") or {}).get("matched")
    draft = cases.CaseDraft(
        element_code=chosen,
        description=row["text"],
        channel=Channel(row["channel"]),
        title=title or "",
        address=address,
        reporter_name=row["contact_name"],
        reporter_phone=row["contact_phone"],
        photos=tuple(row.get("photos") or ()),
        **place,
    )
    now = p.clock.now()
    corrected = top is not None and chosen != top

    def decide(conn: Connection, case: dict[str, Any]) -> None:
        """The decision, its trace and the correction commit with the case, or none do."""
        c = store.intake_reports.c
        done = conn.execute(
            update(store.intake_reports)
            .where(and_(c.id == report_id, c.status.in_([str(s) for s in OPEN_STATUSES])))
            .values(
                status=str(ReportStatus.CONFIRMED),
                case_id=case["id"],
                decided_at=now,
                decided_by=actor.id,
            )
        )
        if done.rowcount != 1:
            raise ConflictError(
                "the report was decided meanwhile",
                code="intake.already_decided",
                case_id=case["id"],
            )
        record(
            conn,
            actor,
            [
                Action(
                    "intake.confirmed",
                    "intake_report",
                    report_id,
                    before={"status": row["status"], "element_code": top},
                    after={
                        "status": "confirmed",
                        "case_id": case["id"],
                        "element_code": chosen,
                        "grid_code": case["grid_code"],
                        "is_corrected": corrected,
                    },
                )
            ],
            at=now,
            request_id=request_id,
        )
        if corrected:
            # the classifier learns from it at its next training (same transaction)
            nlp.record_correction(
                conn,
                text=row["text"],
                predicted=top,
                chosen=chosen,
                actor_id=actor.id,
                at=now,
                model_version=str(proposal.get("model_version") or "unknown"),
            )

    case = cases.report_case(p, reporter, draft, request_id=request_id, also=decide)
    return {
        **row,
        "status": str(ReportStatus.CONFIRMED),
        "case_id": case["id"],
        "decided_at": now,
        "decided_by": actor.id,
        "case": case,
    }


def _place(
    p: Platform,
    row: dict[str, Any],
    proposal: dict[str, Any],
    lon: float | None,
    lat: float | None,
    grid_code: str | None,
) -> dict[str, Any]:
    if lon is not None or lat is not None:
        _given_place(p, lon, lat)
        return {"lon": lon, "lat": lat, "grid_code": grid_code}
    if grid_code:
        if p.grid_path(grid_code) is None:
            raise InputError(f"unknown grid {grid_code!r}", field="grid_code", rule="exists")
        return {"grid_code": grid_code}
    if row["given_lon"] is not None:
        return {"lon": row["given_lon"], "lat": row["given_lat"]}
    location = proposal.get("location")
    if location and location.get("lon") is not None:
        return {"lon": location["lon"], "lat": location["lat"]}
    if location and location.get("grid_code"):
        return {"grid_code": location["grid_code"]}
    raise InputError("give a place: lon and lat, or grid_code", field="lon", rule="required")


def reject_report(
    p: Platform, actor: Actor, report_id: str, *, reason: str, request_id: str = "-"
) -> dict[str, Any]:
    """Close a report without a case, with a reason (InputError when the reason is empty)."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("give a reason", field="reason", rule="required")
    _no_controls(reason, "reason")
    if len(reason) > 1000:
        raise InputError("reason is longer than 1000 characters", field="reason", rule="max_length")
    row = _open_report(p, actor, report_id)
    now = p.clock.now()
    with p.db.write() as conn:
        c = store.intake_reports.c
        done = conn.execute(
            update(store.intake_reports)
            .where(and_(c.id == report_id, c.status.in_([str(s) for s in OPEN_STATUSES])))
            .values(
                status=str(ReportStatus.REJECTED),
                reason=reason,
                decided_at=now,
                decided_by=actor.id,
            )
        )
        if done.rowcount != 1:
            raise ConflictError("the report was decided meanwhile", code="intake.already_decided")
        record(
            conn,
            actor,
            [
                Action(
                    "intake.rejected",
                    "intake_report",
                    report_id,
                    before={"status": row["status"]},
                    after={"status": "rejected", "reason": reason},
                )
            ],
            at=now,
            request_id=request_id,
        )
    return {
        **row,
        "status": str(ReportStatus.REJECTED),
        "reason": reason,
        "decided_at": now,
        "decided_by": actor.id,
    }


def _open_report(p: Platform, actor: Actor, report_id: str) -> dict[str, Any]:
    row = read_report(p, actor, report_id)
    if row["status"] not in {str(s) for s in OPEN_STATUSES}:
        raise ConflictError(
            f"the report is already {row['status']}",
            code="intake.already_decided",
            status_now=row["status"],
        )
    return row
