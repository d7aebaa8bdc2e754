"""Who is calling: FastAPI dependencies that turn credentials into an :class:`Actor`.

Users send ``Authorization: Bearer <token>`` (from ``POST /api/v1/auth/login``); machine clients
send ``X-API-Key: <key>``. Every non-public route depends on :func:`current_actor`; routes that
need a particular role add :func:`require_roles`. What an actor may see of which object is
decided further in, by each context's ``access_*`` functions.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from civicloop.core.errors import AuthError, ForbiddenError
from civicloop.org import service as org
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform


def platform(request: Request) -> Platform:
    p: Platform = request.app.state.platform
    return p


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "-"))


def current_actor(request: Request, p: Platform = Depends(platform)) -> Actor:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = org.actor_for_token(p, header[7:].strip())
    elif request.headers.get("x-api-key"):
        actor = org.actor_for_api_key(p, request.headers["x-api-key"].strip())
    else:
        raise AuthError("log in first: send 'Authorization: Bearer <token>' or 'X-API-Key'")
    request.state.actor_id = actor.id
    return actor


def require_roles(*roles: Role) -> Callable[[Actor], Actor]:
    allowed = frozenset(roles)

    def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in allowed:
            raise ForbiddenError(
                f"this needs one of the roles: {', '.join(sorted(allowed))}", role=str(actor.role)
            )
        return actor

    return dependency
