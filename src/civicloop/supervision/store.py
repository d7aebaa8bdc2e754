"""Tables of the supervision context, and its read-only window onto the case tables.

Supervision orders themselves are raised by the case loop (``supervision_orders``, written by
``cases.service.raise_supervision`` from the SLA sweeper and ``POST /cases/{id}/supervise``).
What happens to an order afterwards — the department's response, escalation when the order's
own deadline passes, closing — is this context's and lives in ``supervision_order_events``
(append-only), so the case tables are never written from here. An order's current level, due
time and status are derived from its row plus its events (see :mod:`supervision.model`).

Reading the board needs aggregates over cases, assignments, steps and orders; doing them through
per-case service calls would be O(cases) round trips, so this module reads those tables
*read-only* through the few documented query functions below (``read_*``/``count_*``). Nothing
in this context writes a table it does not own.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from civicloop.core.db import UTCDateTime, metadata

supervision_order_events = Table(
    "supervision_order_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, nullable=False),
    Column("case_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # responded | escalated | closed
    Column("level", String(8), nullable=True),  # the order's loop level after an escalation
    Column("due_at", UTCDateTime(), nullable=True),  # the order's new deadline (escalation)
    Column("note", Text, nullable=False, default=""),
    Column("actor_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_supervision_order_events_order_id", supervision_order_events.c.order_id)
