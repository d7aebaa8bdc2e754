"""The transition policy, exhaustively: every action × status × role, allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from civicloop.cases.model import Action, Status
from civicloop.cases.policy import RULES, Facts, allowed_actions, decide
from civicloop.org.model import Role

LEAD = Facts(is_lead_department=True)
ASSIST = Facts(is_assist_department=True)
REPORTER = Facts(is_reporter=True)

# The loop as the issue states it, written out independently of RULES.
EXPECTED = {
    (Action.ACCEPT, Status.REPORTED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.VOID, Status.REPORTED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.VOID, Status.CHECKING): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.VOID, Status.ACCEPTED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.CHECK, Status.CHECKING): {Role.GRID_WORKER},
    (Action.FILE, Status.ACCEPTED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.DISPATCH, Status.FILED): {Role.DISPATCHER, Role.SHIFT_CHIEF},
    (Action.DISPATCH, Status.RETURNED): {Role.DISPATCHER, Role.SHIFT_CHIEF},
    (Action.SIGN, Status.DISPATCHED): {Role.DEPARTMENT_HANDLER},
    (Action.RETURN, Status.DISPATCHED): {Role.DEPARTMENT_HANDLER},
    (Action.FEEDBACK, Status.HANDLING): {Role.DEPARTMENT_HANDLER},
    (Action.REQUEST_EXTENSION, Status.HANDLING): {Role.DEPARTMENT_HANDLER},
    (Action.DECIDE_EXTENSION, Status.HANDLING): {Role.DISPATCHER, Role.SHIFT_CHIEF},
    (Action.VERIFY, Status.VERIFYING): {Role.GRID_WORKER},
    (Action.CLOSE, Status.VERIFIED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.REWORK, Status.VERIFIED): {Role.OPERATOR, Role.SHIFT_CHIEF},
    (Action.FOLLOW_UP, Status.CLOSED): {Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE},
    (Action.REOPEN, Status.CLOSED): {Role.SHIFT_CHIEF, Role.DISTRICT_SUPERVISOR},
    (Action.REOPEN, Status.FOLLOWED_UP): {Role.SHIFT_CHIEF, Role.DISTRICT_SUPERVISOR},
    (Action.NOT_FIXED, Status.CLOSED): {Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE},
    (Action.NOT_FIXED, Status.FOLLOWED_UP): {Role.OPERATOR, Role.CITIZEN, Role.ENTERPRISE},
}
for st in (Status.REPORTED, Status.CHECKING, Status.ACCEPTED, Status.FILED):
    EXPECTED[(Action.MERGE, st)] = {Role.OPERATOR, Role.SHIFT_CHIEF, Role.DISPATCHER}
for st in (
    Status.REPORTED,
    Status.CHECKING,
    Status.ACCEPTED,
    Status.FILED,
    Status.DISPATCHED,
    Status.RETURNED,
    Status.HANDLING,
    Status.VERIFYING,
    Status.VERIFIED,
):
    EXPECTED[(Action.SUPERVISE, st)] = {
        Role.DISTRICT_SUPERVISOR,
        Role.SHIFT_CHIEF,
        Role.STREET_ADMIN,
    }
for st in (Status.DISPATCHED, Status.HANDLING, Status.VERIFYING, Status.VERIFIED):
    EXPECTED[(Action.NOTE, st)] = {
        Role.DEPARTMENT_HANDLER,
        Role.DISPATCHER,
        Role.SHIFT_CHIEF,
        Role.OPERATOR,
        Role.GRID_WORKER,
    }
for st in (Status.REPORTED, Status.CHECKING, Status.HANDLING, Status.VERIFYING):
    EXPECTED[(Action.ATTACH, st)] = {Role.DEPARTMENT_HANDLER, Role.GRID_WORKER, Role.OPERATOR}


def _facts(role: Role) -> Facts:
    if role is Role.DEPARTMENT_HANDLER:
        return LEAD
    if role in (Role.CITIZEN, Role.ENTERPRISE):
        return REPORTER
    return Facts()


@pytest.mark.parametrize(
    ("action", "status", "role"), list(itertools.product(Action, Status, Role))
)
def test_every_transition_is_allowed_or_refused_as_specified(
    action: Action, status: Status, role: Role
) -> None:
    expected = role in EXPECTED.get((action, status), set())
    assert decide(action, status, role, _facts(role)).allowed is expected


def test_the_table_covers_every_action() -> None:
    assert set(RULES) == set(Action)


def test_terminal_statuses_allow_nothing_but_reopen() -> None:
    for role in Role:
        assert allowed_actions(Status.VOIDED, role, _facts(role)) == []
        assert allowed_actions(Status.MERGED, role, _facts(role)) == []


@pytest.mark.parametrize(
    "action", [Action.SIGN, Action.RETURN, Action.FEEDBACK, Action.REQUEST_EXTENSION]
)
def test_assisting_department_may_not_take_lead_actions(action: Action) -> None:
    status = next(iter(RULES[action][0]))
    d = decide(action, status, Role.DEPARTMENT_HANDLER, ASSIST)
    assert not d.allowed and "lead" in d.reason


def test_assisting_department_may_add_notes() -> None:
    assert decide(Action.NOTE, Status.HANDLING, Role.DEPARTMENT_HANDLER, ASSIST).allowed


def test_department_not_on_the_case_is_refused() -> None:
    assert not decide(Action.NOTE, Status.HANDLING, Role.DEPARTMENT_HANDLER, Facts()).allowed


def test_only_the_reporter_may_rate() -> None:
    assert not decide(Action.FOLLOW_UP, Status.CLOSED, Role.CITIZEN, Facts()).allowed
    assert decide(Action.FOLLOW_UP, Status.CLOSED, Role.CITIZEN, REPORTER).allowed


def test_allowed_actions_lists_next_steps() -> None:
    assert allowed_actions(Status.VERIFIED, Role.SHIFT_CHIEF) == [
        "note",
        "close",
        "rework",
        "supervise",
    ]
    assert allowed_actions(Status.DISPATCHED, Role.DEPARTMENT_HANDLER, LEAD) == [
        "sign",
        "return",
        "note",
    ]
