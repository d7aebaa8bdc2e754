"""The transition policy: which role may take which action on a case in which status.

This is the one place that decides; services ask :func:`decide` and raise its refusal, the
API reports the allowed next steps from :func:`allowed_actions`. Decisions are values, not
exceptions, so the table is tested exhaustively without a database.

Object-level rules (is this handler's department the lead? is the case inside this grid
worker's territory?) are decided here too, from facts the service passes in.
"""

from __future__ import annotations

from dataclasses import dataclass

from civicloop.cases.model import Action, Status
from civicloop.org.model import Role

R = Role
S = Status

# action → (from statuses, roles allowed)
RULES: dict[Action, tuple[frozenset[Status], frozenset[Role]]] = {
    Action.ACCEPT: (frozenset({S.REPORTED}), frozenset({R.OPERATOR, R.SHIFT_CHIEF})),
    Action.VOID: (
        frozenset({S.REPORTED, S.CHECKING, S.ACCEPTED}),
        frozenset({R.OPERATOR, R.SHIFT_CHIEF}),
    ),
    Action.CHECK: (frozenset({S.CHECKING}), frozenset({R.GRID_WORKER})),
    Action.FILE: (frozenset({S.ACCEPTED}), frozenset({R.OPERATOR, R.SHIFT_CHIEF})),
    Action.DISPATCH: (frozenset({S.FILED, S.RETURNED}), frozenset({R.DISPATCHER, R.SHIFT_CHIEF})),
    Action.SIGN: (frozenset({S.DISPATCHED}), frozenset({R.DEPARTMENT_HANDLER})),
    Action.RETURN: (frozenset({S.DISPATCHED}), frozenset({R.DEPARTMENT_HANDLER})),
    Action.NOTE: (
        frozenset({S.DISPATCHED, S.HANDLING, S.VERIFYING, S.VERIFIED}),
        frozenset({R.DEPARTMENT_HANDLER, R.DISPATCHER, R.SHIFT_CHIEF, R.OPERATOR, R.GRID_WORKER}),
    ),
    Action.ATTACH: (
        frozenset({S.REPORTED, S.CHECKING, S.HANDLING, S.VERIFYING}),
        frozenset({R.DEPARTMENT_HANDLER, R.GRID_WORKER, R.OPERATOR}),
    ),
    Action.REQUEST_EXTENSION: (frozenset({S.HANDLING}), frozenset({R.DEPARTMENT_HANDLER})),
    Action.DECIDE_EXTENSION: (frozenset({S.HANDLING}), frozenset({R.DISPATCHER, R.SHIFT_CHIEF})),
    Action.FEEDBACK: (frozenset({S.HANDLING}), frozenset({R.DEPARTMENT_HANDLER})),
    Action.VERIFY: (frozenset({S.VERIFYING}), frozenset({R.GRID_WORKER})),
    Action.CLOSE: (frozenset({S.VERIFIED}), frozenset({R.OPERATOR, R.SHIFT_CHIEF})),
    Action.REWORK: (frozenset({S.VERIFIED}), frozenset({R.OPERATOR, R.SHIFT_CHIEF})),
    Action.FOLLOW_UP: (frozenset({S.CLOSED}), frozenset({R.OPERATOR, R.CITIZEN, R.ENTERPRISE})),
    Action.REOPEN: (
        frozenset({S.CLOSED, S.FOLLOWED_UP}),
        frozenset({R.SHIFT_CHIEF, R.DISTRICT_SUPERVISOR}),
    ),
    Action.NOT_FIXED: (
        frozenset({S.CLOSED, S.FOLLOWED_UP}),
        frozenset({R.OPERATOR, R.CITIZEN, R.ENTERPRISE}),
    ),
    Action.MERGE: (
        frozenset({S.REPORTED, S.CHECKING, S.ACCEPTED, S.FILED}),
        frozenset({R.OPERATOR, R.SHIFT_CHIEF, R.DISPATCHER}),
    ),
    Action.SUPERVISE: (
        frozenset(
            {
                S.REPORTED,
                S.CHECKING,
                S.ACCEPTED,
                S.FILED,
                S.DISPATCHED,
                S.RETURNED,
                S.HANDLING,
                S.VERIFYING,
                S.VERIFIED,
            }
        ),
        frozenset({R.DISTRICT_SUPERVISOR, R.SHIFT_CHIEF, R.STREET_ADMIN}),
    ),
}

# Roles that act for a department on a case must be on the case: the lead department for these
# actions, lead or assisting for the rest.
LEAD_ONLY = frozenset({Action.SIGN, Action.RETURN, Action.REQUEST_EXTENSION, Action.FEEDBACK})


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about the actor's relation to the case."""

    is_lead_department: bool = False
    is_assist_department: bool = False
    is_reporter: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def decide(action: Action, status: Status, role: Role, facts: Facts = Facts()) -> Decision:
    """May ``role`` take ``action`` on a case in ``status``? A value, never an exception."""
    statuses, roles = RULES[action]
    if role not in roles:
        return Decision(False, f"role {role} may not {action}")
    if status not in statuses:
        return Decision(False, f"cannot {action} a case that is {status}")
    if role is Role.DEPARTMENT_HANDLER:
        if action in LEAD_ONLY and not facts.is_lead_department:
            return Decision(False, f"only the lead department may {action}")
        if not (facts.is_lead_department or facts.is_assist_department):
            return Decision(False, "your department is not on this case")
    if role in (Role.CITIZEN, Role.ENTERPRISE) and not facts.is_reporter:
        return Decision(False, "only the reporter may do this")
    return Decision(True)


def allowed_actions(status: Status, role: Role, facts: Facts = Facts()) -> list[str]:
    """Every action this role may take now, for 409 bodies and the console's buttons."""
    return [str(a) for a in Action if decide(a, status, role, facts).allowed]
