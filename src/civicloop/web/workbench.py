"""The role workbenches of the console: dispatcher, department and grid worker (on a phone).

Why shells only: each page is a Jinja2 layout (``templates/workbench``) and a small ES module
(``static/wb``) that calls the same authorised JSON APIs as every other client — the intake
queue, the case verbs, duplicates and nearby, patrols. The server renders words and
landmarks, never data, so a workbench cannot show what its user may not see and needs no
authorisation of its own; the buttons offered come from each case's ``allowed_actions``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civicloop.web.console import NavItem, register_nav, render

router = APIRouter(include_in_schema=False)

# Which roles each workbench is for (the header shows a page only to them).
DISPATCH_ROLES = ("operator", "dispatcher", "shift_chief")
DEPARTMENT_ROLES = ("department_handler",)
GRID_ROLES = ("grid_worker",)

register_nav(NavItem("wb.nav.dispatch", "/console/dispatch", DISPATCH_ROLES), before="nav.screen")
register_nav(NavItem("wb.nav.department", "/console/department", DEPARTMENT_ROLES))
register_nav(NavItem("wb.nav.grid", "/console/grid", GRID_ROLES))


@router.get("/console/dispatch", response_class=HTMLResponse)
def dispatch_page(request: Request) -> HTMLResponse:
    """Triage queue, duplicates on a map, dispatch, the overdue list."""
    return render(
        request, "workbench/dispatch.html", page="wb.nav.dispatch", title_key="wb.nav.dispatch"
    )


@router.get("/console/department", response_class=HTMLResponse)
def department_page(request: Request) -> HTMLResponse:
    """Incoming work, sign or return, notes, evidence, extensions, supervision orders."""
    return render(
        request,
        "workbench/department.html",
        page="wb.nav.department",
        title_key="wb.nav.department",
    )


@router.get("/console/grid", response_class=HTMLResponse)
def grid_page(request: Request) -> HTMLResponse:
    """My grid's checks and verifications, and a patrol report with photo and GPS."""
    return render(request, "workbench/grid.html", page="wb.nav.grid", title_key="wb.nav.grid")
