"""The operations console: server-rendered page shells (Jinja2) over the platform's own APIs.

Why shells: every figure a page shows comes from the same authorised JSON APIs that machine
clients use, fetched by small ES modules with the user's bearer token — so a page can never
show more than its viewer may see, and there is one authorisation path, not two. The server
renders the layout, the words (Chinese by default, English switchable) and the empty
landmarks; ``static/js/api.js`` logs in, calls the API and turns errors into readable messages.

How another page (the workbenches and portals in ``web/workbench.py`` / ``web/portal.py``)
uses this module::

    from civicloop.web.console import NavItem, register_nav, render

    register_nav(NavItem("wb.dispatch", "/wb/dispatch", roles=("operator", "dispatcher")))

    @router.get("/wb/dispatch", response_class=HTMLResponse)
    def dispatch_page(request: Request) -> HTMLResponse:
        return render(request, "wb/dispatch.html", page="wb.dispatch", title_key="wb.dispatch")

The template ``{% extends "base.html" %}`` and fills the blocks ``content`` (inside ``<main>``),
``head`` (extra CSS) and ``scripts`` (``<script type="module" src="{{ static('wb/x.js') }}">``).
In templates ``t("key")`` looks a word up in the dictionary and ``tt("中文", "English")`` picks
one of an inline pair. The dictionary is ``static/i18n/{zh,en}.json`` merged with
``static/wb/i18n/{zh,en}.json`` (the workbenches' own words, if present) and is embedded in
every page, so ``t(key)`` in JavaScript (``import { t } from "/static/js/api.js"``) needs no
request. A page that needs a login calls ``await requireUser()`` from ``api.js`` (it redirects
to ``/login?next=…``). Static files are served by :func:`static_file` under ``/static/``;
``static(path)`` in templates adds a version query so browsers cache them safely.

The language is ``?lang=zh|en`` (remembered in the ``civicloop_lang`` cookie), else the cookie,
else ``Accept-Language``. Nav items carry the roles that may use them; ``api.js`` hides the
others once it knows who is logged in, and sends the first visible one as the user's home.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civicloop import __version__
from civicloop.core import i18n
from civicloop.core.auth import current_actor, request_id, require_roles
from civicloop.core.errors import NotFoundError
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform
from civicloop.web import catalogue_files, config_files, events, screen

router = APIRouter(include_in_schema=False)

WEB = Path(__file__).parent
STATIC = WEB / "static"
LANG_COOKIE = "civicloop_lang"
_env = Environment(
    loader=FileSystemLoader(WEB / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Who sees what in the console's navigation (the API still decides what each may do).
CENTRE = ("operator", "dispatcher", "shift_chief", "district_supervisor", "auditor", "admin")
TERRITORY = (*CENTRE, "street_admin")


@dataclass(frozen=True)
class NavItem:
    """One entry of the header's navigation: a dictionary key, a path, the roles it is for."""

    key: str
    href: str
    roles: tuple[str, ...]


NAV: list[NavItem] = [
    NavItem("nav.screen", "/console/screen", TERRITORY),
    NavItem("nav.evaluation", "/console/evaluation", (*TERRITORY,)),
    NavItem("nav.config", "/console/config", ("admin", "auditor")),
]


def register_nav(item: NavItem, *, before: str | None = None) -> None:
    """Add a page to the navigation (idempotent by key); ``before`` places it before a key."""
    if any(n.key == item.key for n in NAV):
        return
    at = next((i for i, n in enumerate(NAV) if n.key == before), len(NAV))
    NAV.insert(at, item)


@lru_cache(maxsize=4)
def dictionary(lang: str) -> dict[str, str]:
    """The words of one language: the console's, then the workbenches' (which may add keys)."""
    words: dict[str, str] = {}
    for path in (STATIC / "i18n" / f"{lang}.json", STATIC / "wb" / "i18n" / f"{lang}.json"):
        if path.is_file():
            words.update(json.loads(path.read_text(encoding="utf-8")))
    return words


def language(request: Request) -> str:
    """``?lang=`` first, then the remembered cookie, then the browser's first preference."""
    for raw in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if raw in (i18n.ZH, i18n.EN):
            return raw
    return i18n.language(request.headers.get("accept-language"))


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


def render(
    request: Request,
    template: str,
    *,
    page: str = "",
    title_key: str = "",
    status_code: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    """Render a page in the viewer's language; remembers an explicit ``?lang=`` in a cookie."""
    lang = language(request)
    words = dictionary(lang)

    def t(key: str, **values: Any) -> str:
        text = words.get(key, key)
        return text.format(**values) if values else text

    def tt(zh: str, en: str) -> str:
        return zh if lang == i18n.ZH else en

    other = i18n.EN if lang == i18n.ZH else i18n.ZH
    switch = request.url.include_query_params(lang=other)
    html = _env.get_template(template).render(
        request=request,
        lang=lang,
        html_lang="zh-CN" if lang == i18n.ZH else "en",
        other_lang=other,
        switch_url=f"{switch.path}?{switch.query}",
        t=t,
        tt=tt,
        static=static_url,
        nav=NAV,
        page=page,
        title=t(title_key) if title_key else "",
        i18n_json=json.dumps(words, ensure_ascii=False).replace("</", "<\\/"),
        **ctx,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in (i18n.ZH, i18n.EN):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    # page shells hold no data, but must not be framed (clickjacking) or sniffed
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- static files -------------------------------------------------------------------------


@router.get("/static/{path:path}")
def static_file(request: Request, path: str) -> Response:
    """A file under ``web/static`` (vendored libraries, the console's modules and words).

    A versioned URL (``?v=``, from ``static()`` in templates) is cached for a day; an
    unversioned one — how ES modules import each other (``./api.js``), which must be one URL
    per module or the browser runs two copies — is revalidated by its ETag (a 304 costs
    no body)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC.resolve()) or not target.is_file():
        raise NotFoundError("no such static file", code="route.not_found")
    stat = target.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}-{__version__}"'
    cache = "public, max-age=86400" if "v" in request.query_params else "no-cache"
    headers = {"Cache-Control": cache, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix in (".js", ".mjs"):
        kind = "text/javascript"
    return FileResponse(target, media_type=kind, headers=headers)


# --- pages --------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", page="login", title_key="login.title")


@router.get("/console")
def console_home() -> RedirectResponse:
    return RedirectResponse("/console/screen", status_code=307)


@router.get("/console/screen", response_class=HTMLResponse)
def screen_page(request: Request) -> HTMLResponse:
    screen.warm(_platform(request))
    return render(request, "console/screen.html", page="nav.screen", title_key="nav.screen")


@router.get("/console/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str) -> HTMLResponse:
    return render(
        request, "console/case.html", page="case", title_key="case.title", case_id=case_id
    )


@router.get("/console/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request) -> HTMLResponse:
    return render(
        request, "console/evaluation.html", page="nav.evaluation", title_key="nav.evaluation"
    )


# page kind → the registry's record kind (an enterprise is a legal entity)
PROFILE_KINDS = {
    "enterprise": "entity",
    "entity": "entity",
    "person": "person",
    "building": "building",
    "room": "room",
}


@router.get("/console/profiles/{kind}/{key}", response_class=HTMLResponse)
def profile_page(request: Request, kind: str, key: str) -> HTMLResponse:
    if kind not in PROFILE_KINDS:
        raise NotFoundError("no such profile kind", code="route.not_found")
    return render(
        request,
        "console/profile.html",
        page="profile",
        title_key=f"profile.{PROFILE_KINDS[kind]}",
        kind=kind,
        api_kind=PROFILE_KINDS[kind],
        key=key,
    )


@router.get("/console/config", response_class=HTMLResponse)
def config_page(request: Request) -> HTMLResponse:
    return render(request, "console/config.html", page="nav.config", title_key="nav.config")


# --- the console's own JSON: aggregates the big screen needs in one request ----------------

ActorDep = Annotated[Actor, Depends(current_actor)]


def _platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


@router.get("/console/api/geo")
def geo(
    request: Request,
    actor: ActorDep,
    level: Annotated[str, Query(pattern="^(street|community|grid)$")] = "street",
    bbox: Annotated[str | None, Query(max_length=120)] = None,
) -> Response:
    """The district's regions as simplified GeoJSON (grids only inside a bounding box)."""
    body = screen.geojson(_platform(request), level, bbox)
    return Response(
        body, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=300"}
    )


ScreenActor = Annotated[Actor, Depends(require_roles(*(Role(r) for r in TERRITORY)))]


@router.get("/console/api/screen")
def screen_data(request: Request, actor: ScreenActor) -> dict[str, Any]:
    """KPIs, breakdowns, trends and live markers for the big screen, in the actor's scope,
    and which optional APIs of sibling contexts are mounted (so the page asks only for those:
    a 404 would be a console error)."""
    paths = {getattr(r, "path", "") for r in request.app.routes}
    return {
        **screen.overview(_platform(request), actor),
        "features": {"risk_heat": "/api/v1/risk/heat" in paths},
    }


# --- configuration: catalogue and rule files, validated by their own contexts --------------

ConfigReader = Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]
ConfigWriter = Annotated[Actor, Depends(require_roles(Role.ADMIN))]


@router.get("/console/api/config/files")
def config_files_list(request: Request, actor: ConfigReader) -> list[dict[str, Any]]:
    return config_files.list_files(_platform(request))


@router.get("/console/api/config/files/{kind}/{name}")
def config_file(request: Request, actor: ConfigReader, kind: str, name: str) -> dict[str, Any]:
    return config_files.read_file(_platform(request), kind, name)


@router.post("/console/api/config/validate")
def config_validate(
    request: Request,
    actor: ConfigReader,
    kind: Annotated[str, Body(pattern="^(catalogue|rules)$")],
    name: Annotated[str, Body(max_length=90)],
    text: Annotated[str, Body(max_length=2_100_000)],
) -> dict[str, Any]:
    """The problems of an edited file (nothing is saved): 200 with ``is_valid`` and
    ``problems`` (message and line)."""
    return config_files.validate(_platform(request), kind, name, text)


@router.put("/console/api/config/rules/{name}")
def config_save_rules(
    request: Request,
    actor: ConfigWriter,
    name: str,
    text: Annotated[str, Body(embed=True, max_length=2_100_000)],
    rid: Annotated[str, Depends(request_id)],
) -> dict[str, Any]:
    """Save a valid discovery rule file as a local rule file and reload the rules (admin)."""
    return config_files.save_rules(_platform(request), actor, name, text, request_id=rid)


@router.put("/console/api/config/catalogue/{name}")
def config_save_catalogue(
    request: Request,
    actor: ConfigWriter,
    name: str,
    text: Annotated[str, Body(embed=True, max_length=2_100_000)],
    rid: Annotated[str, Depends(request_id)],
) -> dict[str, Any]:
    """Save a catalogue file into the local catalogue and make it the active one (admin)."""
    return catalogue_files.save(_platform(request), actor, name, text, request_id=rid)


@router.post("/console/api/config/catalogue/restore")
def config_restore_catalogue(
    request: Request, actor: ConfigWriter, rid: Annotated[str, Depends(request_id)]
) -> dict[str, Any]:
    """Drop the local catalogue and use the packaged one again (admin)."""
    return catalogue_files.restore_packaged(_platform(request), actor, request_id=rid)


router.add_api_route("/console/events", events.stream, methods=["GET"])
