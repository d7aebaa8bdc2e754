"""Domain model of supervision (监督再造): what a supervision order's state is, and who may see
which part of the cross-department board. Pure: no SQLAlchemy, FastAPI or pydantic.

A supervision order (督办) is raised by the case loop (the SLA sweeper on an overdue step, or a
supervisor by hand) with its own deadline. Afterwards it lives through events of its own::

    open ──respond (lead department)──► responded ──close (supervisor)──► closed
      │                                    │
      └── own deadline passes ──► overdue ─┴─ escalate: one loop level up, a new deadline
                                              (automatic, or a supervisor by hand)

and it is *resolved* when its case leaves the open statuses (closed, voided, merged) — the
order needs nothing more. The state is derived from the order row and its events, never stored,
so it cannot drift from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from civicloop.org.model import Actor, LoopLevel, Role

ESCALATION_HOURS = 24  # an escalated order's new deadline
# Case statuses after which an order needs nothing more.
CASE_DONE = frozenset({"closed", "followed_up", "voided", "merged"})
# Roles that see the whole board (within their territory): supervisors and the operations centre.
BOARD_ROLES = frozenset(
    {
        Role.DISTRICT_SUPERVISOR,
        Role.AUDITOR,
        Role.ADMIN,
        Role.SHIFT_CHIEF,
        Role.DISPATCHER,
        Role.OPERATOR,
        Role.STREET_ADMIN,
    }
)
SUPERVISOR_ROLES = frozenset({Role.DISTRICT_SUPERVISOR, Role.ADMIN})


class OrderStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"
    OVERDUE = "overdue"
    CLOSED = "closed"
    RESOLVED = "resolved"  # its case is done


class EventKind(StrEnum):
    RESPONDED = "responded"
    ESCALATED = "escalated"
    CLOSED = "closed"


@dataclass(frozen=True)
class OrderState:
    status: OrderStatus
    level: str
    due_at: datetime
    escalations: int
    response: str | None
    responded_at: datetime | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.OPEN, OrderStatus.RESPONDED, OrderStatus.OVERDUE)


def order_state(
    order: dict[str, Any], events: list[dict[str, Any]], case_status: str, now: datetime
) -> OrderState:
    """Fold an order's events (oldest first) onto its row."""
    level, due = str(order["loop_level"]), order["due_at"]
    escalations, response, responded_at, closed_at = 0, None, None, order.get("closed_at")
    closed = order["status"] == "closed"
    for ev in events:
        kind = ev["kind"]
        if kind == EventKind.ESCALATED:
            level, due, escalations = ev["level"] or level, ev["due_at"] or due, escalations + 1
        elif kind == EventKind.RESPONDED:
            response, responded_at = ev["note"], ev["at"]
        elif kind == EventKind.CLOSED:
            closed, closed_at = True, ev["at"]
    if closed:
        status = OrderStatus.CLOSED
    elif case_status in CASE_DONE:
        status = OrderStatus.RESOLVED
    elif now > due:
        status = OrderStatus.OVERDUE
    elif response is not None:
        status = OrderStatus.RESPONDED
    else:
        status = OrderStatus.OPEN
    return OrderState(status, level, due, escalations, response, responded_at, closed_at)


def escalation(state: OrderState, now: datetime) -> tuple[str, datetime]:
    """The next (level, deadline) of an order that is escalated now."""
    return str(LoopLevel(state.level).up()), now + timedelta(hours=ESCALATION_HOURS)


def sees_whole_board(actor: Actor) -> bool:
    return actor.role in BOARD_ROLES


def visible_departments(actor: Actor, departments: set[str]) -> set[str]:
    """The board rows an actor may read: all for supervisors and the operations centre, its own
    departments for a department."""
    if sees_whole_board(actor):
        return departments
    return departments & set(actor.department_ids)


def wait_visible(actor: Actor, waiter: str, waits_on: str) -> bool:
    """A department sees the waits it is part of (who it waits on, who waits on it)."""
    if sees_whole_board(actor):
        return True
    return waiter in actor.department_ids or waits_on in actor.department_ids
