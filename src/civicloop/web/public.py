"""Public pages: following a report by its tracking code, for people who are not API clients.

Server-rendered with Jinja2 (autoescaped), Simplified Chinese by default, English with
``?lang=en`` or an English ``Accept-Language``. Times are shown in Beijing time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civicloop.cases.tracking import read_by_tracking_code
from civicloop.core import i18n
from civicloop.runtime import Platform

router = APIRouter(tags=["public"])
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
BEIJING = timezone(timedelta(hours=8))
STATUS_LABELS = {
    "reported": ("已上报", "reported"),
    "checking": ("核实中", "being checked"),
    "accepted": ("已受理", "accepted"),
    "filed": ("已立案", "filed"),
    "dispatched": ("已派遣", "dispatched"),
    "returned": ("重新派遣中", "being re-dispatched"),
    "handling": ("处置中", "being handled"),
    "verifying": ("核查中", "result being checked"),
    "verified": ("待结案", "about to close"),
    "closed": ("已结案", "closed"),
    "followed_up": ("已回访", "followed up"),
    "voided": ("不予立案", "not a case"),
    "merged": ("已合并", "merged"),
}


# A page for people, not an API operation: kept out of the OpenAPI document (the JSON form is
# GET /api/v1/track/{code}).
@router.get("/track", response_class=HTMLResponse, include_in_schema=False)
def track_page(
    request: Request,
    code: Annotated[str | None, Query(max_length=32)] = None,
    lang: Annotated[str | None, Query(pattern="^(zh|en)$")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    p: Platform = request.app.state.platform
    language = lang or i18n.language(accept_language)
    found = None
    clean = (code or "").strip().upper()
    if clean and len(clean) <= 16:
        found = read_by_tracking_code(p, clean)

    def t(zh: str, en: str) -> str:
        return zh if language == i18n.ZH else en

    def when(at: datetime) -> str:
        return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    label = STATUS_LABELS.get(found["status"], (found["status"],) * 2) if found else ("", "")
    html = _env.get_template("track.html").render(
        lang=language,
        code=clean,
        case=found,
        status_label=label[0] if language == i18n.ZH else label[1],
        t=t,
        when=when,
    )
    return HTMLResponse(html, status_code=200 if found or not clean else 404)
