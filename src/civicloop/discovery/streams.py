"""Scale-out ingestion through Redis Streams (DESIGN §5): receivers queue, workers store.

When ``CIVICLOOP_REDIS_URL`` is set, the HTTP receivers check a batch's envelope and ``XADD``
its bytes to the stream ``civicloop:readings`` instead of storing it (the answer is then 202:
queued — Redis holds it, with its own persistence settings). Any number of ``civicloop
discovery worker`` processes read the stream as one consumer group: each message is delivered
to one worker, which parses, validates, stores (one transaction for everything it read) and
runs the rules, and only then ``XACK``s and deletes it. A worker that dies leaves its messages
pending; it takes them again when it restarts, and a live worker claims them after
``CLAIM_IDLE_MS``. Storage is idempotent by ``(device, observedAt)``, so a message processed
twice stores nothing twice. A message whose envelope cannot be parsed goes to
``civicloop:readings:dead`` and is acknowledged (a poison message must not loop forever).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from civicloop.discovery.ingest import IngestResult, ingest
from civicloop.discovery.ngsi import NgsiError, Parsed, parse_notification, parse_plain
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.discovery")
STREAM = "civicloop:readings"
DEAD = "civicloop:readings:dead"
GROUP = "discovery"
CLAIM_IDLE_MS = 60_000


def redis_url(p: Platform) -> str | None:
    """The Redis URL ingestion queues to (``CIVICLOOP_REDIS_URL``), None when unset."""
    return p.settings.extra.get("redis_url") or os.environ.get("CIVICLOOP_REDIS_URL") or None


def client(p: Platform, url: str | None = None) -> Any:
    """One Redis client per platform and URL (a connection pool inside)."""
    import redis  # only when scale-out is configured

    target = url or redis_url(p)
    if not target:
        raise RuntimeError("CIVICLOOP_REDIS_URL is not set")
    clients: dict[str, Any] = vars(p).setdefault("_discovery_redis", {})
    if target not in clients:
        clients[target] = redis.Redis.from_url(target)
    return clients[target]


def enqueue(
    p: Platform, kind: str, body: bytes, *, content_type: str, link: str | None, request_id: str
) -> str:
    """Queue one checked batch (``kind`` ngsi | plain); the stream entry id."""
    fields = {
        "kind": kind,
        "body": body,
        "content_type": content_type,
        "link": link or "",
        "request_id": request_id,
    }
    entry = client(p).xadd(STREAM, fields)
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def ensure_group(r: Any) -> None:
    """Create the consumer group (from the stream's start, so nothing queued before is lost)."""
    import redis

    try:
        r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def parse_message(p: Platform, fields: dict[bytes, bytes]) -> Parsed:
    kind = fields.get(b"kind", b"ngsi").decode()
    body = fields.get(b"body", b"")
    now = p.clock.now()
    if kind == "plain":
        return parse_plain(body, now=now)
    return parse_notification(
        body,
        content_type=fields.get(b"content_type", b"application/json").decode(),
        link=fields.get(b"link", b"").decode() or None,
        now=now,
    )


@dataclass
class WorkerStats:
    messages: int = 0
    dead: int = 0
    result: IngestResult | None = None


class Worker:
    """One consumer of the group; ``run`` until ``stop`` is set (or ``max_messages`` done)."""

    def __init__(
        self,
        p: Platform,
        consumer: str,
        *,
        url: str | None = None,
        count: int = 50,
        block_ms: int = 1000,
    ) -> None:
        self.p = p
        self.consumer = consumer
        self.r = client(p, url)
        self.count = count
        self.block_ms = block_ms
        self.stop = threading.Event()
        self.stats = WorkerStats(result=IngestResult())
        ensure_group(self.r)

    def run(self, max_messages: int | None = None) -> WorkerStats:
        backlog = True  # first our own pending messages (a restart after a crash), then new ones
        while not self.stop.is_set():
            if max_messages is not None and self.stats.messages >= max_messages:
                break
            if backlog:
                batch = self.r.xreadgroup(GROUP, self.consumer, {STREAM: "0"}, count=self.count)
                messages = batch[0][1] if batch else []
                if not messages:
                    backlog = False
                    messages = self._claim()
            else:
                batch = self.r.xreadgroup(
                    GROUP, self.consumer, {STREAM: ">"}, count=self.count, block=self.block_ms
                )
                messages = batch[0][1] if batch else []
                if not messages:
                    messages = self._claim()
            if messages:
                self.handle(messages)
        return self.stats

    def _claim(self) -> list[Any]:
        """Messages another consumer left pending for longer than ``CLAIM_IDLE_MS``."""
        found = self.r.xautoclaim(
            STREAM,
            GROUP,
            self.consumer,
            min_idle_time=CLAIM_IDLE_MS,
            start_id="0-0",
            count=self.count,
        )
        return [m for m in found[1] if m[1]] if found else []

    def handle(self, messages: list[Any]) -> IngestResult:
        """Parse every message, store them in one pipeline call, then acknowledge them all."""
        merged = Parsed()
        ids = []
        for entry_id, fields in messages:
            ids.append(entry_id)
            try:
                parsed = parse_message(self.p, fields)
            except NgsiError as exc:
                log.warning("stream entry %s is not a usable batch: %s", entry_id, exc.detail)
                self.r.xadd(DEAD, {**fields, b"error": exc.detail.encode()})
                self.stats.dead += 1
                continue
            offset = len(merged.observations)
            for o in parsed.observations:
                o.index += offset
            merged.observations += parsed.observations
            merged.errors += parsed.errors
        result = ingest(self.p, merged, request_id=f"stream:{self.consumer}")
        # Only after the commit: acknowledged messages are never delivered again.
        self.r.xack(STREAM, GROUP, *ids)
        self.r.xdel(STREAM, *ids)
        self.stats.messages += len(ids)
        assert self.stats.result is not None
        self.stats.result.add(result)
        return result
