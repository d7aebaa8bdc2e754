"""Open311 GeoReport v2 at ``/open311/v2/``: what existing 311 apps speak, on the real loop.

The format is the file extension (``.xml`` or ``.json``). Errors are the spec's bodies —
``<errors><error><code/><description/></error></errors>`` or the bare JSON array — with the
spec's statuses: 404 for an unknown service, request, token or jurisdiction, 403 for a missing
or invalid ``api_key``, 400 for everything else. These routes are therefore left out of the
OpenAPI document (whose contract is problem+json); Open311 clients read ``discovery`` instead.

Compatibility (docs/open311.md, reference §2.5): ``api_key`` and ``jurisdiction_id`` are read
from the query string as well as the form body (the PyPI ``open311`` client puts them in the
URL); an empty ``jurisdiction_id`` is the same as none; ``service/{code}`` is an alias of
``services/{code}``. ``GET requests`` pages with ``page``/``page_size``. Only ``POST`` needs a
key; the key's machine client is the reporting actor of the case.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from civicloop.core import i18n
from civicloop.core.errors import AuthError, CivicError, ForbiddenError, InputError, NotFoundError
from civicloop.open311 import model as m
from civicloop.open311 import service
from civicloop.open311.formats import FORMATS, render
from civicloop.org import service as org
from civicloop.org.model import Actor
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.open311")
router = APIRouter(prefix="/open311/v2", tags=["open311"], include_in_schema=False)
T = TypeVar("T")
CHANGESET = "2026-11-27T00:00:00+08:00"  # when this API's shape last changed


class Params:
    """Query string and form body together; the body wins for a name given in both."""

    def __init__(self, request: Request, form: FormData | None) -> None:
        self.query = request.query_params
        self.form = form

    def get(self, name: str) -> str | None:
        if self.form is not None and name in self.form:
            value = self.form.get(name)
            return value if isinstance(value, str) else None
        return self.query.get(name)

    def names(self) -> list[str]:
        seen = list(self.query.keys())
        if self.form is not None:
            seen += [k for k in self.form if k not in seen]
        return seen

    def all(self, name: str) -> list[str]:
        values = [v for v in (self.form.getlist(name) if self.form else []) if isinstance(v, str)]
        return values or list(self.query.getlist(name))

    def listing(self, name: str) -> list[str]:
        """A comma-separated list parameter (``service_code=a,b``)."""
        raw = self.get(name) or ""
        return [x.strip() for x in raw.split(",") if x.strip()]

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise InputError(
                f"{name} must be a whole number from {low} to {high}", field=name, rule="range"
            )
        return value


def _platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


async def _call(
    p: Platform, fn: Callable[..., T], *args: Any, write: bool = False, **kwargs: Any
) -> T:
    # Reads go to the thread pool; on SQLite writes run on the loop (one writer, as cases/api.py
    # measured), on PostgreSQL on the pool.
    if write and p.db.is_sqlite:
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


def _error_body(exc: CivicError, lang: str) -> tuple[int, str]:
    if isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, (AuthError, ForbiddenError)):
        status = 403
    elif exc.status >= 500:
        status = exc.status
    else:
        status = 400
    if isinstance(exc, InputError):
        text = i18n.input_detail(exc.field, exc.rule, lang, exc.message)
    else:
        title = i18n.title(exc.code, lang, exc.message)
        text = exc.message if title == exc.message else f"{title}: {exc.message}"
    return status, text


def _respond(fmt: str, status: int, root: str, value: Any) -> Response:
    body, media = render(fmt, root, value)
    return Response(body, status_code=status, media_type=media)


async def _answer(
    request: Request, fmt: str, root: str, work: Callable[[Platform], Awaitable[Any]]
) -> Response:
    """Run ``work`` and render its value under ``root``, or render the spec's error body."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        return _respond(
            "xml",
            400,
            "errors",
            [{"code": 400, "description": f"unsupported format {fmt!r}: use .xml or .json"}],
        )
    lang = i18n.language(request.headers.get("accept-language"))
    try:
        return _respond(fmt, 200, root, await work(_platform(request)))
    except CivicError as exc:
        status, text = _error_body(exc, lang)
        if status in (403,):
            log.warning(
                "open311 request %s refused: %s",
                getattr(request.state, "request_id", "-"),
                exc.code,
            )
        return _respond(fmt, status, "errors", [{"code": status, "description": text}])
    except Exception:  # the spec's body even when we fail; the request id is in the log
        log.exception("open311 request %s crashed", getattr(request.state, "request_id", "-"))
        return _respond(
            fmt,
            500,
            "errors",
            [{"code": 500, "description": i18n.title("server.error", lang, "internal error")}],
        )


async def _form(request: Request) -> FormData | None:
    """The POST form. A urlencoded body is decoded as UTF-8 here (the spec's charset) before
    the query string is split: Starlette reads unescaped bytes as Latin-1, so a client that
    sends raw UTF-8 instead of percent escapes (curl -d …) would store mojibake."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        try:
            text = (await request.body()).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                "the form body is not UTF-8", field="body", rule="utf-8 (Open311 GeoReport v2)"
            ) from exc
        pairs: list[tuple[str, str | UploadFile]] = list(
            urllib.parse.parse_qsl(text, keep_blank_values=True)
        )
        return FormData(pairs)
    if kind.startswith("multipart/form-data"):
        return await request.form()
    return None


def _actor(p: Platform, params: Params, what: str) -> Actor:
    key = (params.get("api_key") or "").strip() or None
    if key is None:
        raise ForbiddenError(
            f"api_key is required -- can't proceed with {what}", code="open311.api_key_required"
        )
    try:
        return org.actor_for_api_key(p, key)
    except AuthError as exc:
        raise ForbiddenError(
            f"Invalid api_key received -- can't proceed with {what}", code="auth.invalid_api_key"
        ) from exc


def _rid(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


# ------------------------------------------------------------------------------ discovery


@router.get("/discovery.{fmt}")
async def discovery(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> dict[str, Any]:
        url = str(request.base_url).rstrip("/") + "/open311/v2"
        return {
            "changeset": CHANGESET,
            "contact": "城市运行管理中心 (operations centre) — see docs/open311.md",
            "key_service": (
                "API keys per machine client: ask the operations centre (civicloop apikey "
                f"create). jurisdiction_id={service.jurisdiction(p)}. GET requests pages with "
                f"page and page_size (at most {m.MAX_PAGE_SIZE})."
            ),
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": url,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }

    return await _answer(request, fmt, "discovery", work)


# ------------------------------------------------------------------------------- services


@router.get("/services.{fmt}")
async def services(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        service.check_jurisdiction(p, request.query_params.get("jurisdiction_id"))
        return service.list_services(p)

    return await _answer(request, fmt, "services", work)


async def _definition(request: Request, code: str, fmt: str) -> Response:
    async def work(p: Platform) -> dict[str, Any]:
        service.check_jurisdiction(p, request.query_params.get("jurisdiction_id"))
        return service.read_definition(p, code)

    return await _answer(request, fmt, "service_definition", work)


@router.get("/services/{code}.{fmt}")
async def service_definition(request: Request, code: str, fmt: str) -> Response:
    return await _definition(request, code, fmt)


@router.get("/service/{code}.{fmt}")
async def service_definition_alias(request: Request, code: str, fmt: str) -> Response:
    """Singular alias: the PyPI ``open311`` 1.1 client asks for ``service/{code}``."""
    return await _definition(request, code, fmt)


# ------------------------------------------------------------------------------- requests


def _submission(p: Platform, params: Params) -> m.Submission:
    e = service.service_element(p, params.get("service_code"))
    attributes: dict[str, list[str]] = {}
    for name in params.names():
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute[") : name.index("]")]
            attributes.setdefault(code, []).extend(params.all(name))
    description = m.clean_text(params.get("description"), "description", m.MAX_DESCRIPTION)
    return m.Submission(
        element=e,
        lon=m.parse_coordinate(params.get("long"), "long"),
        lat=m.parse_coordinate(params.get("lat"), "lat"),
        address_string=m.clean_text(params.get("address_string"), "address_string", 300),
        address_id=m.clean_text(params.get("address_id"), "address_id", 32),
        description=description or "",
        attributes=m.validate_attributes(e, attributes),
        reporter_name=m.person_name(
            m.clean_text(params.get("first_name"), "first_name", 32),
            m.clean_text(params.get("last_name"), "last_name", 32),
        ),
        phone=m.clean_text(params.get("phone"), "phone", 32),
        email=m.clean_text(params.get("email"), "email", 254),
        device_id=m.clean_text(params.get("device_id"), "device_id", 128),
        account_id=m.clean_text(params.get("account_id"), "account_id", 128),
        media_url=m.clean_url(params.get("media_url")),
    )


@router.post("/requests.{fmt}")
async def create_request(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        params = Params(request, await _form(request))
        actor = await _call(p, _actor, p, params, "create_request")
        service.check_jurisdiction(p, params.get("jurisdiction_id"))
        if not (params.get("service_code") or "").strip():
            raise InputError("service_code is required", field="service_code", rule="required")
        sub = _submission(p, params)
        made = await _call(
            p, service.submit_request, p, actor, sub, write=True, request_id=_rid(request)
        )
        return [made]

    return await _answer(request, fmt, "service_requests", work)


def _time(params: Params, name: str) -> Any:
    raw = params.get(name)
    return m.parse_time(raw, name) if raw and raw.strip() else None


@router.get("/requests.{fmt}")
async def list_requests(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        params = Params(request, None)
        service.check_jurisdiction(p, params.get("jurisdiction_id"))
        q = service.RequestQuery(
            ids=params.listing("service_request_id"),
            service_codes=params.listing("service_code"),
            start=_time(params, "start_date"),
            end=_time(params, "end_date"),
            statuses=[s.lower() for s in params.listing("status")],
            page=params.integer("page", 1, 1, 1_000_000),
            page_size=params.integer("page_size", m.MAX_PAGE_SIZE, 1, m.MAX_PAGE_SIZE),
        )
        return await _call(p, service.list_requests, p, q)

    return await _answer(request, fmt, "service_requests", work)


@router.get("/requests/{service_request_id}.{fmt}")
async def read_request(request: Request, service_request_id: str, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        service.check_jurisdiction(p, request.query_params.get("jurisdiction_id"))
        return [await _call(p, service.read_request, p, service_request_id)]

    return await _answer(request, fmt, "service_requests", work)


@router.get("/tokens/{token}.{fmt}")
async def read_token(request: Request, token: str, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        service.check_jurisdiction(p, request.query_params.get("jurisdiction_id"))
        return [await _call(p, service.read_token, p, token)]

    return await _answer(request, fmt, "service_requests", work)


# -------------------------------------------------------- mySociety servicerequestupdates


@router.get("/servicerequestupdates.{fmt}")
async def list_updates(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        params = Params(request, None)
        service.check_jurisdiction(p, params.get("jurisdiction_id"))
        start, end = _time(params, "start_date"), _time(params, "end_date")
        return await _call(p, service.list_updates, p, start, end)

    return await _answer(request, fmt, "service_requests_updates", work)


@router.post("/servicerequestupdates.{fmt}")
async def create_update(request: Request, fmt: str) -> Response:
    async def work(p: Platform) -> list[dict[str, Any]]:
        params = Params(request, await _form(request))
        actor = await _call(p, _actor, p, params, "create_update")
        service.check_jurisdiction(p, params.get("jurisdiction_id"))
        rid = (params.get("service_request_id") or "").strip()
        if not rid:
            raise InputError(
                "service_request_id is required", field="service_request_id", rule="required"
            )
        description = m.clean_text(params.get("description"), "description", m.MAX_DESCRIPTION)
        if not description:
            raise InputError("description is required", field="description", rule="required")
        update = service.UpdateSubmission(
            service_request_id=rid,
            status=params.get("status") or "",
            description=description,
            client_update_id=m.clean_text(params.get("update_id"), "update_id", 64),
            updated_at=_time(params, "updated_datetime"),
            reporter_name=m.person_name(
                m.clean_text(params.get("first_name"), "first_name", 32),
                m.clean_text(params.get("last_name"), "last_name", 32),
            ),
            email=m.clean_text(params.get("email"), "email", 254),
            phone=m.clean_text(params.get("phone"), "phone", 32),
            media_url=m.clean_url(params.get("media_url")),
        )
        made = await _call(
            p, service.post_update, p, actor, update, write=True, request_id=_rid(request)
        )
        return [made]

    return await _answer(request, fmt, "service_request_updates", work)


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(request: Request, rest: str) -> Response:
    """Anything else under /open311/v2/ is an unknown resource: the spec's 404 body, in the
    format its extension asks for (XML when it names none)."""
    fmt = rest.rsplit(".", 1)[-1].lower() if "." in rest.rsplit("/", 1)[-1] else "xml"
    fmt = fmt if fmt in FORMATS else "xml"
    return _respond(
        fmt, 404, "errors", [{"code": 404, "description": f"unknown resource {rest!r}"}]
    )
