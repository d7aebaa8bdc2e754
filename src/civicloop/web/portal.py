"""The citizens' and enterprises' portals: report a problem and follow it; file demands.

Why here and not in ``public.py``: these pages need a login (a citizen rates only the matters
they reported; an enterprise sees only its own demands), while ``/track`` stays public and
anonymous — the portal links every matter to it by tracking code. Like the workbenches, the
pages are shells (``templates/portal``) whose ES modules (``static/wb``) call the real APIs:
intake reports with photos, the case list in the reporter's scope, follow-up and "not fixed",
and the enterprise demand endpoints.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicloop.web.console import NavItem, register_nav, render

router = APIRouter(include_in_schema=False)

register_nav(NavItem("wb.nav.report", "/report", ("citizen",)))
register_nav(NavItem("wb.nav.enterprise", "/enterprise", ("enterprise",)))


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request) -> HTMLResponse:
    """Report with text, photos and a map pin; my matters with rating and "not fixed"."""
    return render(request, "portal/report.html", page="wb.nav.report", title_key="wb.nav.report")


@router.get("/enterprise", response_class=HTMLResponse)
def enterprise_page(request: Request) -> HTMLResponse:
    """Register by credit code, file demands, follow and rate them."""
    return render(
        request,
        "portal/enterprise.html",
        page="wb.nav.enterprise",
        title_key="wb.nav.enterprise",
    )
