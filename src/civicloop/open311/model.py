"""Open311 GeoReport v2 seen from the loop: services, attributes, statuses, times (pure).

What an Open311 client calls a *service* is a citizen-facing catalogue element; a *service
request* is a case reported through the Open311 channel, and its ``service_request_id`` is the
case number (readable, stable, unique — the same number the operations centre quotes).

Attributes of a service definition are derived from the element's disposal standard:

* ``FILING_CONDITION`` — a ``singlevaluelist`` of the element's filing conditions (立案条件), so
  the reporter can say which situation they see; optional, because the operator files the case
  anyway; a value that is not one of the keys is refused (400).
* ``HANDLING_DEADLINE`` — ``variable=false``: information only, the element's handling time
  limit (处置时限).

Statuses: the spec knows ``open`` and ``closed``. Every status in
:data:`civicloop.cases.model.OPEN_STATUSES` is ``open``; closed, followed-up, voided and merged
cases are ``closed``. The mySociety update extension's richer vocabulary is mapped per status.

Times go out in the W3C subset of ISO-8601 with the China Standard Time offset (+08:00, no
daylight saving); times coming in without an offset are read as +08:00 too.

This module is pure: no I/O, no SQLAlchemy, FastAPI or pydantic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from civicloop.cases.model import OPEN_STATUSES, Status
from civicloop.catalogue.model import Catalogue, Element, Step
from civicloop.core.errors import InputError

CST = timezone(timedelta(hours=8))
# Spec: "start_date … end_date … may not be greater than 90 days"; default window and limit.
MAX_WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_DESCRIPTION = 4000  # spec: description ≤ 4000 characters
DEFAULT_JURISDICTION = "pudong.sh.gov.cn"
FILING_CONDITION = "FILING_CONDITION"
HANDLING_DEADLINE = "HANDLING_DEADLINE"

# mySociety extension vocabulary (FixMyStreet perllib/Open311.pm) per case status.
EXTENDED_STATUS: dict[Status, str] = {
    Status.REPORTED: "OPEN",
    Status.CHECKING: "INVESTIGATING",
    Status.ACCEPTED: "OPEN",
    Status.FILED: "ACTION_SCHEDULED",
    Status.DISPATCHED: "ACTION_SCHEDULED",
    Status.RETURNED: "INTERNAL_REFERRAL",
    Status.HANDLING: "IN_PROGRESS",
    Status.VERIFYING: "IN_PROGRESS",
    Status.VERIFIED: "FIXED",
    Status.CLOSED: "CLOSED",
    Status.FOLLOWED_UP: "CLOSED",
    Status.VOIDED: "NO_FURTHER_ACTION",
    Status.MERGED: "DUPLICATE",
}
EXTENDED_VOCABULARY = frozenset(
    {
        "OPEN",
        "CLOSED",
        "FIXED",
        "IN_PROGRESS",
        "ACTION_SCHEDULED",
        "INVESTIGATING",
        "DUPLICATE",
        "NOT_COUNCILS_RESPONSIBILITY",
        "NO_FURTHER_ACTION",
        "INTERNAL_REFERRAL",
        "FOR_TRIAGE",
        "CANCELLED",
        "REOPEN",
    }
)

# Public status notes: what a citizen reads (Chinese first, the platform's language).
STATUS_NOTES: dict[Status, str] = {
    Status.REPORTED: "已上报，等待受理",
    Status.CHECKING: "网格员现场核实中",
    Status.ACCEPTED: "已受理，等待立案",
    Status.FILED: "已立案，等待派遣",
    Status.DISPATCHED: "已派遣至责任部门",
    Status.RETURNED: "责任部门退单，重新派遣中",
    Status.HANDLING: "责任部门处置中",
    Status.VERIFYING: "处置完毕，核查中",
    Status.VERIFIED: "核查通过，等待结案",
    Status.CLOSED: "已结案",
    Status.FOLLOWED_UP: "已结案并回访",
    Status.VOIDED: "已作废（不符合立案条件）",
    Status.MERGED: "已合并到同一问题的案件",
}

_HTML = re.compile(r"<\s*/?\s*[A-Za-z!][^>]*>")
# Characters XML 1.0 cannot carry (C0 controls other than tab, newline, carriage return).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_URL = re.compile(r"^https?://[^\s<>\"]+$")


def public_status(status: str) -> str:
    """``open`` or ``closed``, the two statuses of GeoReport v2."""
    return "open" if Status(status) in OPEN_STATUSES else "closed"


def closed_statuses() -> list[str]:
    return [str(s) for s in Status if s not in OPEN_STATUSES]


def w3c(value: datetime | None) -> str | None:
    """A timezone-aware time as W3C ISO-8601 with the +08:00 offset (seconds precision)."""
    if value is None:
        return None
    return value.astimezone(CST).replace(microsecond=0).isoformat()


def parse_time(text: str, name: str) -> datetime:
    """Parse a W3C/ISO-8601 time; no offset means China Standard Time. 400 on anything else."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError as exc:
        raise InputError(
            f"{name} is not a W3C date-time such as 2026-11-27T08:00:00+08:00",
            field=name,
            rule="w3c_datetime",
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=CST)


def service_entry(catalogue: Catalogue, e: Element) -> dict[str, Any]:
    """One ``<service>`` of the service list, fields in the spec's order."""
    scene = catalogue.scenes.get(e.scene_code)
    group = scene.name if scene else e.scene_code
    return {
        "service_code": e.code,
        "service_name": e.name,
        "description": f"{group} · {e.name}（{e.name_en}）",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(e.keywords),
        "group": group,
    }


def deadline_text(catalogue: Catalogue, e: Element, filing_condition: str | None = None) -> str:
    """The handling time limit (处置时限): the filing condition's when known, else the element's."""
    try:
        cls = catalogue.deadline(e, Step.HANDLE, filing_condition)
    except KeyError:
        cls = catalogue.deadline(e, Step.HANDLE)
    return f"处置时限：{cls.name}"


def service_definition(catalogue: Catalogue, e: Element) -> dict[str, Any]:
    """The ``<service_definition>`` of an element (see the module docstring for the mapping)."""
    conditions = {
        "variable": True,
        "code": FILING_CONDITION,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "立案情形：从列表中选择一项 (choose one key)",
        "order": 1,
        "description": "您看到的是哪种情形？(which situation do you see?)",
        "values": [{"key": c.code, "name": c.text} for c in e.filing_conditions],
    }
    deadline = {
        "variable": False,
        "code": HANDLING_DEADLINE,
        "datatype": "string",
        "required": False,
        "datatype_description": None,
        "order": 2,
        "description": deadline_text(catalogue, e),
        "values": [],
    }
    return {"service_code": e.code, "attributes": [conditions, deadline]}


@dataclass(frozen=True)
class Submission:
    """A ``POST requests`` form after validation: what becomes a case and its Open311 row."""

    element: Element
    lon: float | None
    lat: float | None
    address_string: str | None
    address_id: str | None
    description: str
    attributes: dict[str, str] = field(default_factory=dict)
    reporter_name: str | None = None
    phone: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    media_url: str | None = None


def validate_attributes(e: Element, given: dict[str, list[str]]) -> dict[str, str]:
    """Check ``attribute[CODE]`` values against the definition; InputError names the code."""
    out: dict[str, str] = {}
    keys = {c.code for c in e.filing_conditions}
    for code, values in given.items():
        if code == HANDLING_DEADLINE:
            continue  # information only (variable=false): ignore what a client echoes back
        if code != FILING_CONDITION:
            raise InputError(
                f"service {e.code} has no attribute {code!r}",
                field=f"attribute[{code}]",
                rule="known_attribute",
            )
        if len(values) != 1 or values[0] not in keys:
            raise InputError(
                f"attribute[{code}] must be one of {sorted(keys)}",
                field=f"attribute[{code}]",
                rule="singlevaluelist",
            )
        out[code] = values[0]
    return out


def clean_text(value: str | None, name: str, limit: int) -> str | None:
    """Trimmed optional text; InputError when longer than ``limit`` or containing HTML."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        raise InputError(
            f"{name} is longer than {limit} characters", field=name, rule="max_length", limit=limit
        )
    if _HTML.search(value):
        raise InputError(f"{name} must be plain text, not HTML", field=name, rule="no_html")
    if _CONTROL.search(value):
        raise InputError(
            f"{name} contains control characters", field=name, rule="no_control_characters"
        )
    return value


def clean_url(value: str | None, name: str = "media_url") -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > 500 or not _URL.match(value):
        raise InputError(f"{name} must be an http(s) URL", field=name, rule="url")
    return value


def parse_coordinate(value: str | None, name: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise InputError(f"{name} is not a number", field=name, rule="number") from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError(f"{name} is not a number", field=name, rule="number")
    return number


def person_name(first: str | None, last: str | None) -> str | None:
    """One reporter name: family name first without a space for Chinese, "first last" else."""
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last:
        return None
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"[:64]
    return " ".join(x for x in (first, last) if x)[:64]
