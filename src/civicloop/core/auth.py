"""Who is calling: FastAPI dependencies that turn credentials into an :class:`Actor`.

Users send ``Authorization: Bearer <token>`` (from ``POST /api/v1/auth/login``); machine clients
send ``X-API-Key: <key>``. Every non-public route depends on :func:`current_actor`; routes that
need a particular role add :func:`require_roles`. What an actor may see of which object is
decided further in, by each context's ``access_*`` functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from civicloop.core.errors import AuthError, ForbiddenError
from civicloop.org import service as org
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

# The dependencies are ``async``: FastAPI runs a plain ``def`` dependency on the thread pool, and
# three such hops per request cost more than filing the case itself (benchmarks/cases.py).
# Resolving a token is a dictionary hit almost always; a miss reads the database on the pool.


async def platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


async def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


async def current_actor(request: Request, p: Platform = Depends(platform)) -> Actor:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        actor = org.cached_actor_for_token(p, token)
        if actor is None:
            actor = await run_in_threadpool(org.actor_for_token, p, token)
    elif request.headers.get("x-api-key"):
        actor = await run_in_threadpool(
            org.actor_for_api_key, p, request.headers["x-api-key"].strip()
        )
    else:
        raise AuthError("log in first: send 'Authorization: Bearer <token>' or 'X-API-Key'")
    request.state.actor_id = actor.id
    return actor


def require_roles(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    allowed = frozenset(roles)

    async def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in allowed:
            raise ForbiddenError(
                f"this needs one of the roles: {', '.join(sorted(allowed))}", role=str(actor.role)
            )
        return actor

    return dependency
