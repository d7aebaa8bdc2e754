"""``create_app``: the HTTP application with every router mounted.

Cross-cutting concerns live here and only here: the request id (echoed as ``X-Request-ID``
and written to every ledger entry the request causes), errors as ``application/problem+json``
with stable codes, and the SLA sweeper's lifetime when the app runs as a server.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicloop import __version__
from civicloop.cases import api as cases_api
from civicloop.cases import api_attachments, api_nearby, api_patrol
from civicloop.catalogue import api as catalogue_api
from civicloop.core import i18n
from civicloop.core.errors import CivicError
from civicloop.core.security import MaskingFilter
from civicloop.discovery import api as discovery_api
from civicloop.discovery import api_alerts as discovery_alerts_api
from civicloop.enterprise import api as enterprise_api
from civicloop.evaluation import api as evaluation_api
from civicloop.intake import api as intake_api
from civicloop.nlp import api as nlp_api
from civicloop.open311 import api as open311_api
from civicloop.org import api as org_api
from civicloop.registry import api as registry_api
from civicloop.registry import api_links as registry_links_api
from civicloop.risk import api as risk_api
from civicloop.runtime import Platform
from civicloop.supervision import api as supervision_api
from civicloop.web import console as console_pages
from civicloop.web import portal as portal_pages
from civicloop.web import public as public_pages
from civicloop.web import workbench as workbench_pages

log = logging.getLogger("civicloop.http")
# Error logs may quote what the public typed (a database error echoing a phone number, a
# request line); every logger that can carry it masks phone, ID numbers and names first.
for _name in ("civicloop", "civicloop.http", "uvicorn.error", "uvicorn.access"):
    if not any(isinstance(f, MaskingFilter) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(MaskingFilter())
PROBLEM = "application/problem+json"
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def problem(status: int, code: str, message: str, request: Request, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem body: a title people read (Chinese first), the specific detail,
    a stable code, and for bad input the field and the rule."""
    lang = i18n.language(request.headers.get("accept-language"))
    detail = message
    if "field" in extra and "rule" in extra:
        detail = i18n.input_detail(str(extra["field"]), str(extra["rule"]), lang, message)
    body = {
        "type": f"https://civicloop.dev/problems/{code}",
        "title": i18n.title(code, lang, message),
        "detail": detail,
        "status": status,
        "code": code,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _warm_up(p: Platform) -> None:
    """Build or load the text classifier and the geocoder's tokenizer (2–6 s of model loading
    and jieba's dictionary), so the first free-text report is not the one that waits."""
    from civicloop.intake.geocoder import geocode
    from civicloop.nlp.service import classify

    try:
        classify(p, "路灯不亮")
        geocode(p, "世纪大道1号")
    except Exception:  # a failed warm-up is retried by the first real request; never fatal
        log.exception("warm-up failed")


def create_app(p: Platform, *, run_sweeper: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs = None
        if run_sweeper:
            # a served platform: the periodic jobs (SLA sweep, KPI and risk consumers,
            # discovery tick, checkpoints), and the classifier loaded off the first request
            from civicloop.jobs import Jobs

            jobs = Jobs(p)
            jobs.start()
            threading.Thread(target=_warm_up, args=(p,), name="warm-up", daemon=True).start()
        yield
        if jobs:
            jobs.stop()

    app = FastAPI(
        title="civicloop",
        version=__version__,
        lifespan=lifespan,
        description="City operations platform (一网统管): the closed case loop, its "
        "ledger and its organisation. Errors are application/problem+json.",
    )
    app.state.platform = p

    app.add_middleware(BodyLimitMiddleware, limit=5 * p.settings.max_upload_bytes + 1024 * 1024)
    app.add_middleware(RequestIdMiddleware)

    @app.exception_handler(CivicError)
    async def civic_error(request: Request, exc: CivicError) -> JSONResponse:
        if exc.status >= 500:
            log.error("request %s failed: %s", getattr(request.state, "request_id", "-"), exc.code)
        elif exc.status in (401, 403, 423):
            # ASVS 7.1.3: authentication and access-control failures are logged (no secrets)
            log.warning(
                "request %s refused: %s", getattr(request.state, "request_id", "-"), exc.code
            )
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        resp = problem(exc.status, exc.code, exc.message, request, **_jsonable(exc.data))
        if headers:
            resp.headers.update(headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("body",)]
            errors.append(
                {
                    "field": ".".join(loc) or "body",
                    "rule": e.get("type", "invalid"),
                    "message": e.get("msg", ""),
                }
            )
        first = errors[0] if errors else {"field": "body", "message": "invalid", "rule": "invalid"}
        return problem(
            422,
            "input.invalid",
            str(first["message"]),
            request,
            field=first["field"],
            rule=first.get("rule"),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route.not_found", 405: "method.not_allowed"}.get(
            exc.status_code, "http.error"
        )
        return problem(exc.status_code, code, str(exc.detail), request)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s crashed", getattr(request.state, "request_id", "-"))
        return problem(
            500, "server.error", "internal error; quote the request id when reporting it", request
        )

    @app.get("/healthz", tags=["public"], summary="200 when the database answers")
    def healthz() -> dict[str, Any]:
        with p.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "version": __version__, "catalogue": p.catalogue.version}

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>civicloop 一网统管</title>"
            "<body style='font-family:sans-serif;max-width:40em;margin:3em auto'>"
            "<h1>civicloop 城市运行一网统管</h1><p>平台已运行。接口文档：<a href='/docs'>/docs</a>"
            "（OpenAPI: <a href='/openapi.json'>/openapi.json</a>）。</p>"
            "<p lang='en'>The platform is running. API docs: <a href='/docs'>/docs</a>.</p></body></html>"
        )

    app.include_router(org_api.router)
    app.include_router(cases_api.router)
    app.include_router(api_attachments.router)
    app.include_router(api_nearby.router)
    app.include_router(api_patrol.router)
    app.include_router(cases_api.public_router)
    app.include_router(catalogue_api.router)
    app.include_router(nlp_api.router)
    app.include_router(intake_api.router)
    app.include_router(enterprise_api.router)
    app.include_router(open311_api.router)
    app.include_router(public_pages.router)
    app.include_router(discovery_api.router)
    app.include_router(discovery_alerts_api.router)
    app.include_router(registry_api.router)
    app.include_router(registry_links_api.router)
    app.include_router(risk_api.router)
    app.include_router(evaluation_api.router)
    app.include_router(supervision_api.router)
    app.include_router(console_pages.router)
    app.include_router(workbench_pages.router)
    app.include_router(portal_pages.router)
    return app


class RequestIdMiddleware:
    """Give every request an id (the client's ``X-Request-ID`` if sane) and echo it back.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream
    per request, measurable on the case-filing benchmark.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if _RID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse a request body larger than the largest legitimate upload before it is read.

    Starlette spools a whole multipart body to disk before an endpoint sees it, so the per-file
    check of ``core.photos`` alone would still receive gigabytes. A declared ``Content-Length``
    over the limit is answered 413 at once; a chunked body is counted as it arrives and cut off
    at the limit. The limit is five photos of ``max_upload_bytes`` plus 1 MiB of form fields.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, send)
                return
        seen = 0
        started = exceeded = False

        async def counting_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app's answer to a body we cut off (a parse error): replaced
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with suppress(_TooLarge):
            await self.app(scope, counting_receive, watching_send)
        if exceeded and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """The same problem body an oversized file gets from ``core.photos`` (413)."""
        response = problem(
            413,
            "input.invalid",
            f"the request body is larger than {self.limit} bytes",
            Request(scope),
            field="body",
            rule="max_size",
            limit_bytes=self.limit,
        )
        response.headers["connection"] = "close"
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, (str, int, float, bool, type(None), list, dict)):
            out[k] = v
        else:
            out[k] = str(v)
    return out
