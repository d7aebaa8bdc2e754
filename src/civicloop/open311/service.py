"""Open311 use cases: file a request through the real loop, read requests and their updates.

A ``POST requests`` becomes a case by :func:`civicloop.cases.service.report_case` with
``channel=open311`` and the API key's machine client as the reporting actor — the same
validation, numbering, routing, duplicate check, SLA clock and ledger as every other channel.
The Open311-only fields (token, e-mail, device/account ids, media URL, attributes) are then
stored in ``open311_requests`` inside the same transaction (``report_case(..., also=...)``),
so a request is listed through Open311 exactly when its case exists.

Public reads (``GET requests``, ``GET requests/{id}``, updates) show only cases filed through
Open311, and never a reporter's name, phone or e-mail; phone and ID numbers typed into a
description are masked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, select

from civicloop.cases import service as cases
from civicloop.cases import store as case_store
from civicloop.cases.model import OPEN_STATUSES, Channel, Status
from civicloop.catalogue.model import Element
from civicloop.core.errors import InputError, NotFoundError
from civicloop.core.security import mask_text
from civicloop.ledger import store as ledger_store
from civicloop.ledger.service import Action, record
from civicloop.open311 import model as m
from civicloop.open311.store import open311_requests, open311_updates
from civicloop.org import service as org
from civicloop.org.model import Actor
from civicloop.runtime import Platform

# The switch for ``address_string``-only requests: placed by the intake context's geocoder when it
# is importable (imported lazily: it loads jieba), refused with a clear 400 otherwise.
GEOCODE_ADDRESSES = True
# Geocoder precisions good enough to file on; a street-level match is only a street's centre.
PRECISE_ENOUGH = frozenset({"point", "compound", "intersection", "road"})


def _geocoder() -> Callable[[Platform, str], Any] | None:
    if not GEOCODE_ADDRESSES:
        return None
    try:
        from civicloop.intake.geocoder import geocode
    except ImportError:  # the intake work has not landed in this build
        return None
    return geocode


def jurisdiction(p: Platform) -> str:
    return p.settings.extra.get("open311_jurisdiction", m.DEFAULT_JURISDICTION)


def check_jurisdiction(p: Platform, given: str | None) -> None:
    """An empty ``jurisdiction_id`` counts as absent; any other value must be ours (else 404)."""
    if given and given.strip() and given.strip() != jurisdiction(p):
        raise NotFoundError(
            f"unknown jurisdiction_id {given.strip()!r}; this endpoint serves {jurisdiction(p)}",
            code="open311.unknown_jurisdiction",
        )


def service_element(p: Platform, code: str | None) -> Element:
    """The citizen-facing element behind a service code; NotFoundError (404) otherwise."""
    e = p.catalogue.element(code or "")
    if e is None or not e.is_citizen_facing:
        raise NotFoundError(f"unknown service_code {code!r}", code="open311.unknown_service")
    return e


def list_services(p: Platform) -> list[dict[str, Any]]:
    return [m.service_entry(p.catalogue, e) for e in p.catalogue.citizen_services()]


def read_definition(p: Platform, code: str) -> dict[str, Any]:
    return m.service_definition(p.catalogue, service_element(p, code))


def submit_request(
    p: Platform, actor: Actor, sub: m.Submission, *, request_id: str = "-"
) -> dict[str, Any]:
    """File the request as a case and remember its Open311 fields.

    Raises InputError for no usable location (none given, an address the geocoder cannot place
    precisely, a place outside the district, an unknown grid) and for text rules.
    """
    e = sub.element
    lon, lat, grid = sub.lon, sub.lat, sub.address_id
    if (lon is None) != (lat is None):
        raise InputError(
            "give both lat and long",
            field="lat" if lat is None else "long",
            rule="required_together",
        )
    if lon is None and not grid:
        if not sub.address_string:
            raise InputError(
                "a location is required: lat and long, address_string or address_id",
                field="lat",
                rule="location_required",
            )
        geocode = _geocoder()
        if geocode is None:
            raise InputError(
                "address_string alone cannot be placed yet; send lat/long or address_id "
                "(a grid code)",
                field="address_string",
                rule="geocoder_unavailable",
            )
        match = geocode(p, sub.address_string)
        if match is None or match.precision not in PRECISE_ENOUGH:
            raise InputError(
                f"address {sub.address_string!r} was not found precisely enough in the district's "
                "gazetteer; send lat/long or address_id",
                field="address_string",
                rule="geocodable",
            )
        if match.confidence < p.settings.triage_confidence:
            raise InputError(
                f"address {sub.address_string!r} matched {match.matched!r} only with confidence "
                f"{match.confidence:.2f}; send lat/long or address_id",
                field="address_string",
                rule="geocodable",
            )
        lon, lat = match.lon, match.lat
    if lon is not None and grid:
        grid = None  # lat/long wins; a differing address_id is not an error in Open311
    description = sub.description or f"{e.name}（Open311 上报）"
    chosen = sub.attributes.get(m.FILING_CONDITION)
    if chosen:
        condition = e.filing_condition(chosen)
        if condition is not None:
            description = f"{description}\n【情形】{condition.text}"
    draft = cases.CaseDraft(
        element_code=e.code,
        description=description,
        channel=Channel.OPEN311,
        lon=lon,
        lat=lat,
        grid_code=grid,
        address=(sub.address_string or "")[:300] or None,
        reporter_name=sub.reporter_name,
        reporter_phone=sub.phone,
    )
    token = secrets.token_hex(8)
    now = p.clock.now()

    def store_request(conn: Connection, view: dict[str, Any]) -> None:
        conn.execute(
            insert(open311_requests).values(
                token=token,
                case_id=view["id"],
                service_request_id=view["number"],
                service_code=e.code,
                client_id=actor.id,
                email=sub.email,
                device_id=sub.device_id,
                account_id=sub.account_id,
                media_url=sub.media_url,
                address_string=sub.address_string,
                attributes=sub.attributes,
                requested_at=now,
            )
        )

    view = cases.report_case(p, actor, draft, request_id=request_id, also=store_request)
    notice = m.deadline_text(p.catalogue, e, chosen)
    if view.get("duplicate_of"):
        notice = f"同一问题已有人上报，您的上报已并入该请求。{notice}"
    return {
        "service_request_id": view["number"],
        "token": token,
        "service_notice": notice,
        "account_id": sub.account_id,
    }


def read_token(p: Platform, token: str) -> dict[str, Any]:
    with p.db.read() as conn:
        row = conn.execute(
            select(open311_requests.c.service_request_id).where(open311_requests.c.token == token)
        ).first()
    if row is None:
        raise NotFoundError("unknown token", code="open311.unknown_token")
    return {"service_request_id": row.service_request_id, "token": token}


@dataclass(frozen=True)
class RequestQuery:
    """The spec's filters: ids override everything; otherwise codes, window, status, page."""

    ids: list[str]
    service_codes: list[str]
    start: datetime | None
    end: datetime | None
    statuses: list[str]
    page: int = 1
    page_size: int = m.MAX_PAGE_SIZE


def _window(p: Platform, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None and end is None:
        end = p.clock.now()
    if start is None:
        assert end is not None
        start = end - m.MAX_WINDOW
    if end is None:
        end = start + m.MAX_WINDOW
    if end < start:
        raise InputError("end_date is before start_date", field="end_date", rule="after_start")
    if end - start > m.MAX_WINDOW:
        raise InputError(
            "start_date and end_date may be at most 90 days apart",
            field="end_date",
            rule="max_90_days",
        )
    return start, end


def list_requests(p: Platform, q: RequestQuery) -> list[dict[str, Any]]:
    """Open311 requests (newest first) as public records; see :class:`RequestQuery`."""
    c = case_store.cases.c
    filed = select(open311_requests.c.case_id)
    where: list[ColumnElement[bool]] = [c.id.in_(filed)]
    if q.ids:
        where.append(c.number.in_(q.ids))
    else:
        if q.service_codes:
            where.append(c.element_code.in_(q.service_codes))
        start, end = _window(p, q.start, q.end)
        where += [c.reported_at >= start, c.reported_at <= end]
        wanted: set[str] = set()
        for s in q.statuses:
            if s == "open":
                wanted |= {str(x) for x in OPEN_STATUSES}
            elif s == "closed":
                wanted |= set(m.closed_statuses())
            else:
                raise InputError(
                    "status must be open, closed or both (comma-separated)",
                    field="status",
                    rule="open_or_closed",
                )
        if wanted:
            where.append(c.status.in_(sorted(wanted)))
    with p.db.read() as conn:
        rows = conn.execute(
            select(case_store.cases)
            .where(and_(*where))
            .order_by(c.reported_at.desc(), c.id)
            .limit(q.page_size)
            .offset((q.page - 1) * q.page_size)
        ).all()
        return _records(p, conn, [dict(r._mapping) for r in rows])


def read_request(p: Platform, service_request_id: str) -> dict[str, Any]:
    found = list_requests(p, RequestQuery([service_request_id], [], None, None, []))
    if not found:
        raise NotFoundError(
            f"unknown service_request_id {service_request_id!r}", code="open311.unknown_request"
        )
    return found[0]


def _records(p: Platform, conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    names = {d["code"]: d["name"] for d in org.list_departments(conn)}
    media: dict[str, str] = {}
    r = open311_requests.c
    for case_id, url in conn.execute(
        select(r.case_id, r.media_url)
        .where(r.case_id.in_([row["id"] for row in rows]), r.media_url.is_not(None))
        .order_by(r.requested_at)
    ):
        media.setdefault(case_id, url)
    out = []
    for row in rows:
        e = p.catalogue.element(row["element_code"])
        status = Status(row["status"])
        closed = m.public_status(row["status"]) == "closed"
        out.append(
            {
                "service_request_id": row["number"],
                "status": m.public_status(row["status"]),
                "status_notes": m.STATUS_NOTES[status],
                "service_name": e.name if e else row["element_code"],
                "service_code": row["element_code"],
                "description": mask_text(row["description"]),
                "agency_responsible": names.get(row["lead_department"] or ""),
                "service_notice": _notice(p, e, row),
                "requested_datetime": m.w3c(row["reported_at"]),
                "updated_datetime": m.w3c(
                    row["closed_at"] if closed and row["closed_at"] else row["updated_at"]
                ),
                "expected_datetime": m.w3c(row["handle_due_at"]),
                "address": mask_text(row["address"]),
                "address_id": row["grid_code"],
                "zipcode": None,
                "lat": row["lat"],
                "long": row["lon"],
                "media_url": media.get(row["id"]),
            }
        )
    return out


def _notice(p: Platform, e: Element | None, row: dict[str, Any]) -> str | None:
    return m.deadline_text(p.catalogue, e, row["filing_condition"]) if e else None


def list_updates(p: Platform, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
    """mySociety ``servicerequestupdates``: every status change and posted update of Open311
    requests in the window, oldest first. ``update_id`` is the ledger sequence number."""
    start, end = _window(p, start, end)
    le = ledger_store.ledger_entries.c
    c = case_store.cases.c
    with p.db.read() as conn:
        rows = conn.execute(
            select(le.seq, le.at, le.action, le.after, c.number, c.status)
            .join(case_store.cases, c.id == le.target_id)
            .where(
                le.target_type == "case",
                le.target_id.in_(select(open311_requests.c.case_id)),
                le.at >= start,
                le.at <= end,
            )
            .order_by(le.seq)
            .limit(m.MAX_PAGE_SIZE)
        ).all()
    out = []
    for row in rows:
        after = row.after if isinstance(row.after, dict) else {}
        if row.action == "open311.update_received":
            status, text = str(after.get("status", "OPEN")), str(after.get("description", ""))
        elif after.get("status") in {str(s) for s in Status}:
            case_status = Status(after["status"])
            status, text = m.EXTENDED_STATUS[case_status], m.STATUS_NOTES[case_status]
        else:
            continue
        out.append(
            {
                "update_id": row.seq,
                "service_request_id": row.number,
                "status": status,
                "description": text,
                "updated_datetime": m.w3c(row.at),
                "media_url": after.get("media_url"),
                "external_status_code": after.get("status"),
            }
        )
    return out


@dataclass(frozen=True)
class UpdateSubmission:
    service_request_id: str
    status: str
    description: str
    client_update_id: str | None = None
    updated_at: datetime | None = None
    reporter_name: str | None = None
    email: str | None = None
    phone: str | None = None
    media_url: str | None = None


def post_update(
    p: Platform, actor: Actor, u: UpdateSubmission, *, request_id: str = "-"
) -> dict[str, Any]:
    """Record a client's update (a comment with a status word) on an Open311 request.

    The update is traced in the ledger on the case; it does not move the case through the loop
    — only the operations centre and the departments do that. Raises NotFoundError for an
    unknown request, InputError for a status outside the mySociety vocabulary.
    """
    status = u.status.strip().upper()
    if status not in m.EXTENDED_VOCABULARY:
        raise InputError(
            f"status must be one of {sorted(m.EXTENDED_VOCABULARY)}",
            field="status",
            rule="extended_status",
        )
    now = p.clock.now()
    with p.db.write() as conn:
        case_id = conn.execute(
            select(open311_requests.c.case_id).where(
                open311_requests.c.service_request_id == u.service_request_id
            )
        ).scalar()
        if case_id is None:
            raise NotFoundError(
                f"unknown service_request_id {u.service_request_id!r}",
                code="open311.unknown_request",
            )
        public = {
            "status": status,
            "description": (mask_text(u.description) or "")[:500],
            "media_url": u.media_url,
        }
        entries = record(
            conn,
            actor,
            [Action("open311.update_received", "case", case_id, after=public)],
            at=now,
            request_id=request_id,
        )
        conn.execute(
            insert(open311_updates).values(
                case_id=case_id,
                ledger_seq=entries[0].seq,
                client_id=actor.id,
                client_update_id=u.client_update_id,
                status=status,
                description=u.description,
                reporter_name=u.reporter_name,
                email=u.email,
                phone=u.phone,
                media_url=u.media_url,
                updated_at=u.updated_at or now,
                received_at=now,
            )
        )
    return {"update_id": entries[0].seq}
