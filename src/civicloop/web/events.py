"""The big screen's live feed: the ledger tailed by sequence number, as server-sent events.

Why the ledger: every state change of every context is already written there, in order, in the
same transaction as the change — so the feed shows only committed facts, never a change that
was rolled back, and needs no second event bus. Each event's ``id`` is the ledger ``seq``, so a
reconnecting ``EventSource`` resumes from ``Last-Event-ID`` without gaps or repeats.

``EventSource`` cannot send headers, so the bearer token may come as ``?token=`` (the page's
own sessionStorage token, over the same origin). Territorial viewers (a street) see only the
cases in their territory; whole-district roles see every case and alert entry. Entry payloads
are reduced to what a feed line needs (action, target, time, status) — no personal data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import and_, or_, select
from starlette.concurrency import run_in_threadpool

from civicloop.cases import store as case_store
from civicloop.cases.access import scope_clause
from civicloop.core.errors import AuthError, ForbiddenError
from civicloop.ledger.store import ledger_entries
from civicloop.org import service as org
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
BACKLOG = 15  # entries sent on a fresh connection, so the feed is not empty at first
FEED_ROLES = frozenset(
    {
        Role.OPERATOR,
        Role.DISPATCHER,
        Role.SHIFT_CHIEF,
        Role.DISTRICT_SUPERVISOR,
        Role.AUDITOR,
        Role.ADMIN,
        Role.STREET_ADMIN,
    }
)
WHOLE_DISTRICT = FEED_ROLES - {Role.STREET_ADMIN}


def _actor(p: Platform, token: str | None, authorization: str | None) -> Actor:
    raw = token or ""
    if not raw and authorization and authorization.lower().startswith("bearer "):
        raw = authorization[7:].strip()
    if not raw:
        raise AuthError("log in first: the feed needs ?token= or a bearer token")
    actor = org.actor_for_token(p, raw)
    if actor.role not in FEED_ROLES:
        raise ForbiddenError("the live feed is for the operations centre and streets")
    return actor


def read_after(p: Platform, actor: Actor, after: int, limit: int = 200) -> list[dict[str, Any]]:
    """Ledger entries after ``after`` that the actor may see, oldest first, as feed items."""
    le = ledger_entries.c
    c = case_store.cases.c
    is_case = le.target_type == "case"
    visible_case = le.target_id.in_(select(c.id).where(scope_clause(actor)))
    if actor.role in WHOLE_DISTRICT:
        cond = or_(is_case, le.target_type.in_(("alert", "emergency", "supervision_order")))
    else:
        cond = and_(is_case, visible_case)
    with p.db.read() as conn:
        if after < 0:  # a fresh connection: the last few entries
            top = conn.execute(
                select(le.seq).where(cond).order_by(le.seq.desc()).limit(BACKLOG)
            ).all()
            after = (min(r.seq for r in top) - 1) if top else 0
        rows = conn.execute(
            select(le.seq, le.at, le.action, le.actor_role, le.target_type, le.target_id, le.after)
            .where(le.seq > after, cond)
            .order_by(le.seq)
            .limit(limit)
        ).all()
        numbers: dict[str, tuple[str, str]] = {}
        case_ids = sorted({r.target_id for r in rows if r.target_type == "case"})
        if case_ids:
            numbers = {
                r.id: (r.number, r.status)
                for r in conn.execute(select(c.id, c.number, c.status).where(c.id.in_(case_ids)))
            }
    out = []
    for r in rows:
        after_state = r.after if isinstance(r.after, dict) else {}
        number, status = numbers.get(r.target_id, ("", ""))
        out.append(
            {
                "seq": int(r.seq),
                "at": r.at.isoformat(),
                "action": r.action,
                "actor_role": r.actor_role,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "number": number,
                "status": str(after_state.get("status") or status or ""),
            }
        )
    return out


def _tail_seq(p: Platform) -> int:
    with p.db.read() as conn:
        return int(
            conn.execute(select(ledger_entries.c.seq).order_by(ledger_entries.c.seq.desc()))
            .scalars()
            .first()
            or 0
        )


async def stream(
    request: Request,
    token: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """``GET /console/events``: ``text/event-stream`` of ``ledger`` events; ``limit`` ends the
    stream after that many events (for scripts and tests)."""
    p: Platform = request.app.state.platform
    actor = await run_in_threadpool(_actor, p, token, authorization)
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else -1

    async def events() -> AsyncIterator[str]:
        after, sent, idle = start, 0, 0.0
        yield "retry: 3000\n\n"
        while True:
            items = await run_in_threadpool(read_after, p, actor, after)
            if after < 0 and not items:
                after = await run_in_threadpool(_tail_seq, p)
            for item in items:
                after = item["seq"]
                yield f"id: {item['seq']}\nevent: ledger\ndata: {json.dumps(item)}\n\n"
                sent += 1
                if limit is not None and sent >= limit:
                    return
            if items:
                idle = 0.0
            else:
                idle += POLL_SECONDS
                if idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
