"""The optional MQTT subscriber: device gateways that publish instead of POSTing.

``civicloop discovery mqtt --host --port --topic`` subscribes (QoS 1) and feeds each message
through the same pipeline as the HTTP receivers. A message is an NGSI-LD notification, an
entity, an array of entities, or a plain ``{"readings": […]}`` batch. Messages are gathered
for up to ``flush_ms`` (or ``max_batch`` entities) and stored in one transaction; only then
are they acknowledged to the broker (paho's manual acknowledgement), so a subscriber that
dies before the commit gets them again from a persistent session. A message that cannot be
parsed is logged and acknowledged (it would fail the same way forever).

paho-mqtt (Eclipse, the reference Python client) runs synchronously in the calling thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from civicloop.discovery.ingest import IngestResult, ingest
from civicloop.discovery.ngsi import NgsiError, Parsed, parse_notification, parse_plain
from civicloop.runtime import Platform

log = logging.getLogger("civicloop.discovery")


@dataclass
class MqttStats:
    messages: int = 0
    unusable: int = 0
    batches: int = 0
    result: IngestResult = field(default_factory=IngestResult)


class Subscriber:
    """Subscribe, gather, store, acknowledge — until ``stop`` is set."""

    def __init__(
        self,
        p: Platform,
        *,
        host: str,
        port: int,
        topic: str,
        client_id: str = "civicloop-discovery",
        username: str | None = None,
        password: str | None = None,
        flush_ms: int = 200,
        max_batch: int = 1000,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.p = p
        self.topic = topic
        self.flush_s = flush_ms / 1000
        self.max_batch = max_batch
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.stats = MqttStats()
        self._pending: list[tuple[Parsed, int, int]] = []  # parsed, mid, qos
        self._first_at = 0.0
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,  # a persistent session: unacknowledged messages come back
            manual_ack=True,
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(self.topic, qos=1)
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.stats.messages += 1
        try:
            parsed = parse_payload(self.p, message.payload)
        except NgsiError as exc:
            log.warning("MQTT message on %s is not usable: %s", message.topic, exc.detail)
            self.stats.unusable += 1
            client.ack(message.mid, message.qos)
            return
        if not self._pending:
            self._first_at = time.monotonic()
        self._pending.append((parsed, message.mid, message.qos))
        if sum(len(x[0].observations) for x in self._pending) >= self.max_batch:
            self.flush()

    def flush(self) -> None:
        """Store what was gathered, then acknowledge it."""
        if not self._pending:
            return
        merged = Parsed()
        for parsed, _, _ in self._pending:
            offset = len(merged.observations)
            for o in parsed.observations:
                o.index += offset
            merged.observations += parsed.observations
            merged.errors += parsed.errors
        result = ingest(self.p, merged, request_id="mqtt")
        for _, mid, qos in self._pending:
            self.client.ack(mid, qos)
        self._pending = []
        self.stats.batches += 1
        self.stats.result.add(result)

    def run(self) -> MqttStats:
        while not self.stop.is_set():
            self.client.loop(timeout=0.05)
            if self._pending and time.monotonic() - self._first_at >= self.flush_s:
                self.flush()
        self.flush()
        self.client.disconnect()
        return self.stats


def parse_payload(p: Platform, payload: bytes) -> Parsed:
    """One MQTT payload: a plain ``{"readings": …}`` batch or anything NGSI-LD."""
    now = p.clock.now()
    if payload.lstrip()[:1] == b"{" and b'"readings"' in payload[:200]:
        return parse_plain(payload, now=now)
    return parse_notification(payload, now=now)
