"""The platform's own sources for entity resolution: permits, enterprises and their demands,
device owners and cases.

Why: the issue asks to link records about one enterprise or building "across sources
(registries, cases, enterprise demands, permits, device owners)". Records handed in with
``links run --file`` cover outside systems; the platform's own contexts already hold such
records, so every run gathers them itself (``run_linkage(platform_sources=True)``, the
default), reading each context through its service functions only:

* ``platform.permit`` (enterprise; record id = permit number) — ``discovery.permits.
  list_permits``: the permit's company credit code and name.
* ``platform.enterprise`` (enterprise; id = credit code) — ``enterprise.service.
  list_enterprises_with_demands``: code, name, legal representative, address (no contacts).
* ``platform.demand`` (enterprise; id = case number) — each demand case of such an enterprise,
  with the enterprise's code and name, pinned to the enterprise's record.
* ``platform.device`` (enterprise; id = device id) — ``discovery.service.list_devices``: devices
  whose attributes carry ``owner_credit_code``, ``owner_name`` or ``owner_address``.
* ``platform.case`` (enterprise; id = case number, ``number/code`` when it names several) —
  ``cases.queries.list_cases`` (system actor): each valid GB 32100 code in a case's title or
  description.
* ``platform.case_site`` (building; id = case number) — a case whose address the registry's
  address matcher (``registry.service.match_address``, the one intake and risk use) places at
  a registered building, pinned to that building.

It also reads the registries (:func:`registry_records`) and the records kept from earlier
runs (:func:`stored_records`), and checks records handed in (:func:`parse_external`).

Invariants:

* The ``platform.`` prefix is reserved (like ``registry.``): records handed in from outside
  cannot use it, so a run knows which stored rows it owns and drops the ones whose source
  record is gone (a removed device, a voided case, a case older than the window).
* An invalid credit code (GB 32100 check character) is left out rather than kept: a typo'd
  code would bar the record from ever linking to its enterprise (two different codes are two
  objects). An 18-character run that is also a valid resident ID number is not a credit code.
* Raw personal data stays out: no phone numbers (the model keys people, not enterprises, on
  phone), case titles are masked before they become a record's label.
* Cases are bounded: those reported in the last ``case_days`` (365) days, ``max_cases``
  (20,000) newest at most, voided and merged ones left out; demands use the same bounds.
* Some records are **pinned** (``link_to``) instead of going through splink: a case site to the
  building the address matcher resolved it to (an exact key), a demand to its enterprise's
  record (the filing user is bound to that enterprise). A pin joins the target's cluster
  unless a person unmerged the two; splink would only add pairs that say the same, and one
  enterprise's thousand demands would be half a million of them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from civicloop.core.errors import InputError
from civicloop.core.idcodes import is_valid_credit_code, is_valid_resident_id
from civicloop.core.security import mask_text
from civicloop.registry import links as t
from civicloop.registry.resolution_model import Record, width_fold
from civicloop.runtime import Platform

PREFIX = "platform."
PERMIT = "platform.permit"
ENTERPRISE = "platform.enterprise"
DEMAND = "platform.demand"
DEVICE = "platform.device"
CASE = "platform.case"
CASE_SITE = "platform.case_site"
# What a record may carry (stored in ``entity_links.attrs`` for re-runs and review).
ATTRS = ("name", "credit_code", "id_number", "address", "phone", "representative")
SOURCES = (PERMIT, ENTERPRISE, DEMAND, DEVICE, CASE, CASE_SITE)
# The device attributes read as the owner (documented in docs/entity-resolution.md).
OWNER_ATTRS = ("owner_credit_code", "owner_name", "owner_address")

_CREDIT = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")
_PAGE = 2500


@dataclass(frozen=True)
class SourceLimits:
    """How far back and how many cases (and demands) a run reads."""

    case_days: int = 365
    max_cases: int = 20_000

    def check(self) -> None:
        if not 1 <= self.case_days <= 3660:
            raise InputError("case_days must be 1 to 3660", field="case_days", rule="range")
        if not 0 <= self.max_cases <= 1_000_000:
            raise InputError("max_cases must be 0 to 1,000,000", field="max_cases", rule="range")


@dataclass
class Gathered:
    records: list[Record] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    invalid_codes: int = 0


def is_platform_source(source: str) -> bool:
    return source.startswith(PREFIX)


def _text(value: Any, limit: int = 300) -> str | None:
    s = str(value).strip() if value is not None else ""
    return s[:limit] or None


def _code(value: Any, out: Gathered) -> str | None:
    raw = (_text(value, 40) or "").upper().replace(" ", "")
    if not raw:
        return None
    if not is_valid_credit_code(raw):
        out.invalid_codes += 1
        return None
    return raw


def _add(out: Gathered, record: Record) -> None:
    out.records.append(record)
    out.counts[record.source] += 1


def gather(p: Platform, limits: SourceLimits | None = None) -> Gathered:
    """Every platform-source record (see the module docstring), freshly read."""
    lim = limits or SourceLimits()
    lim.check()
    out = Gathered()
    since = p.clock.now() - timedelta(days=lim.case_days)
    _permits(p, out)
    _enterprises(p, out, since, lim.max_cases)
    _devices(p, out)
    _cases(p, out, since, lim.max_cases)
    return out


def _permits(p: Platform, out: Gathered) -> None:
    from civicloop.discovery.permits import list_permits

    for permit in sorted(list_permits(p), key=lambda x: str(x["permit_no"])):
        code = _code(permit.get("company_credit_code"), out)
        name = _text(permit.get("company_name"), 200)
        if code or name:
            _add(out, Record(PERMIT, str(permit["permit_no"])[:120], "enterprise",
                             name=name, credit_code=code))  # fmt: skip


def _enterprises(p: Platform, out: Gathered, since: Any, max_demands: int) -> None:
    from civicloop.enterprise.service import list_enterprises_with_demands

    for ent in list_enterprises_with_demands(p, demands_since=since, max_demands=max_demands):
        code = _code(ent["credit_code"], out)
        name = _text(ent.get("name"), 200)
        _add(
            out,
            Record(
                ENTERPRISE,
                str(ent["credit_code"]),
                "enterprise",
                name=name,
                credit_code=code,
                address=_text(ent.get("address")),
                representative=_text(ent.get("legal_representative"), 64),
            ),
        )
        # a demand is its enterprise's by the user's binding, a fact: pinned to the enterprise
        # record (with its code), it skips splink, which would compare every pair of one
        # enterprise's demands (quadratic in its demands)
        pin = {"link_to": f"{ENTERPRISE}:{ent['credit_code']}", "link_method": "exact_credit_code"}
        for number in ent["demands"]:
            _add(out, Record(DEMAND, number[:120], "enterprise", name=name, credit_code=code,
                             extra=pin))  # fmt: skip


def _devices(p: Platform, out: Gathered) -> None:
    from civicloop.discovery.service import list_devices

    offset = 0
    while True:
        page, total = list_devices(p, limit=_PAGE, offset=offset)
        for d in page:
            attrs = d.attrs or {}
            if not any(attrs.get(a) for a in OWNER_ATTRS):
                continue
            code = _code(attrs.get("owner_credit_code"), out)
            name = _text(attrs.get("owner_name"), 200)
            address = _text(attrs.get("owner_address"))
            if code or name:
                _add(out, Record(DEVICE, d.device_id[:120], "enterprise",
                                 name=name, credit_code=code, address=address))  # fmt: skip
        offset += len(page)
        if not page or offset >= total:
            return


def credit_codes_in(text: str) -> list[str]:
    """Valid GB 32100 codes named in free text (full-width folded), in order, once each.
    A run that is also a valid resident ID number is someone's ID, not a credit code."""
    seen: dict[str, None] = {}
    for m in _CREDIT.findall(width_fold(text)):
        if is_valid_credit_code(m) and not is_valid_resident_id(m):
            seen.setdefault(m, None)
    return list(seen)


def _cases(p: Platform, out: Gathered, since: Any, max_cases: int) -> None:
    from civicloop.cases.model import Status
    from civicloop.cases.queries import CaseFilter, list_cases
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.registry.service import match_address

    gone = {str(Status.VOIDED), str(Status.MERGED)}  # skipped here: a status filter in SQL
    # makes SQLite sort the whole window for every page instead of walking the time index
    # Keyset pages, newest first: each page ends the next one's window at its oldest report
    # time and skips the cases already read at that very time (ties are ordered by id), so no
    # page walks an ever larger OFFSET. The first end is fixed, so cases filed during the run
    # do not shift the pages.
    end, skip, read = p.clock.now() + timedelta(seconds=1), 0, 0
    while read < max_cases:
        flt = CaseFilter(reported_from=since, reported_to=end)
        page, _ = list_cases(p, SYSTEM_ACTOR, flt, limit=min(_PAGE, max_cases - read), offset=skip)
        if not page:
            return
        read += len(page)
        oldest = page[-1]["reported_at"]
        ties = sum(1 for c in page if c["reported_at"] == oldest)
        new_end = oldest + timedelta(microseconds=1)
        skip = skip + ties if new_end == end else ties
        end = new_end
        for case in page:
            if case["status"] in gone:
                continue
            number = str(case["number"])
            label = mask_text(_text(case.get("title"), 200))
            codes = credit_codes_in(f"{case.get('title') or ''} {case.get('description') or ''}")
            for code in codes:
                rid = number if len(codes) == 1 else f"{number}/{code}"
                _add(out, Record(CASE, rid, "enterprise", credit_code=code,
                                 extra={"label": label}))  # fmt: skip
            address = _text(case.get("address"))
            hit = match_address(p, address) if address else None
            if hit is not None:
                _add(
                    out,
                    Record(
                        CASE_SITE,
                        number,
                        "building",
                        address=address,
                        extra={
                            "label": label,
                            "link_to": f"registry.building:{hit['building_id']}",
                            "link_method": "exact_address_match",
                        },
                    ),
                )


# ---------------------------------------------------------------- registries and stored records


def registry_records(p: Platform) -> list[Record]:
    """The registries' legal entities, buildings and people as linkage records."""
    from civicloop.registry import service as registry

    out: list[Record] = []
    for batch in registry.iter_records(p, "entity"):
        for r in batch:
            out.append(
                Record(
                    "registry.entity",
                    str(r["credit_code"]),
                    "enterprise",
                    name=r.get("name"),
                    credit_code=r.get("credit_code"),
                    address=r.get("operating_address") or r.get("registered_address"),
                    representative=r.get("legal_representative"),
                )
            )
    for batch in registry.iter_records(p, "building"):
        for r in batch:
            out.append(
                Record("registry.building", str(r["id"]), "building", address=r.get("address"))
            )
    for batch in registry.iter_records(p, "person"):
        for r in batch:
            out.append(
                Record(
                    "registry.person",
                    str(r["id"]),
                    "person",
                    name=r.get("name"),
                    id_number=r.get("id_number"),
                    address=r.get("address"),
                    phone=r.get("phone"),
                )
            )
    return out


def to_record(
    source: str, record_id: str, kind: str, attrs: dict[str, Any], label: str | None = None
) -> Record:
    """A record rebuilt from stored ``attrs`` (and, for platform records, its label and pin)."""

    def get(k: str) -> str | None:
        v = attrs.get(k)
        return str(v) if v else None

    extra: dict[str, Any] = {}
    if attrs.get("link_to"):
        extra["link_to"] = str(attrs["link_to"])
        extra["link_method"] = str(attrs.get("link_method") or "exact_key")
    if label and is_platform_source(source):
        extra["label"] = label
    return Record(
        source,
        record_id,
        kind,
        name=get("name"),
        credit_code=get("credit_code"),
        id_number=get("id_number"),
        address=get("address"),
        phone=get("phone"),
        representative=get("representative"),
        extra=extra,
    )


def stored_records(conn: Connection, *, platform: bool) -> list[Record]:
    """Records kept from earlier runs: those handed in from outside, and (``platform``) the
    platform-source records of the last run that gathered them."""
    e = t.entity_links
    cond = [e.c.source.not_like("registry.%")]
    if not platform:
        cond.append(e.c.source.not_like(PREFIX + "%"))
    rows = conn.execute(select(e).where(*cond))
    return [to_record(r.source, r.record_id, r.kind, r.attrs or {}, r.label) for r in rows]


def parse_external(rows: Iterable[dict[str, Any]]) -> list[Record]:
    """Records handed in by other sources (CSV rows or JSON); every problem names the row."""
    out: list[Record] = []
    for i, row in enumerate(rows, start=1):
        source = str(row.get("source") or "").strip()
        rid = str(row.get("record_id") or "").strip()
        kind = str(row.get("kind") or "enterprise").strip()
        if not source or not rid:
            raise InputError(
                f"row {i}: source and record_id are required", field=f"rows[{i}]", rule="required"
            )
        if (
            source.startswith("registry.")
            or is_platform_source(source)
            or ":" in source
            or len(source) > 32
        ):
            raise InputError(
                f"row {i}: source must be a short name not starting with registry. or platform.",
                field=f"rows[{i}].source",
                rule="source",
            )
        if kind not in ("enterprise", "person", "building"):
            raise InputError(
                f"row {i}: kind must be enterprise, person or building",
                field=f"rows[{i}].kind",
                rule="enum",
            )
        attrs = {k: str(row[k]).strip()[:300] for k in ATTRS if row.get(k)}
        out.append(to_record(source, rid[:120], kind, attrs))
    return out
