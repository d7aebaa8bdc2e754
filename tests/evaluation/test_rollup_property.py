"""Property: whatever happens to cases, in whatever order, and however often the consumer
runs in between, the incrementally kept rollups equal a recompute from scratch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicloop.cases import queries, side_flows
from civicloop.cases import service as cases
from civicloop.core.clock import FrozenClock
from civicloop.core.errors import CivicError
from civicloop.evaluation import service as kpi
from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.evaluation.conftest import report
from tests.helpers import element, handler_for, login

Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("report"), st.integers(0, 0)),
        st.tuples(st.just("act"), st.integers(0, 50)),
        st.tuples(st.just("act"), st.integers(0, 50)),
        st.tuples(st.just("act"), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(1, 60 * 72)),
        st.tuples(st.just("consume"), st.integers(0, 0)),
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_rollups_equal_a_recompute_after_any_sequence(
    platform: Platform, client: TestClient, clock: FrozenClock, ops: list[Op]
) -> None:
    p = platform
    e = element(p, check=False, verify=False)
    who = {u: org.actor_for_user(p, u) for u in ("operator", "chief", "dispatcher")}
    h = org.actor_for_user(p, handler_for(e))
    supervisor = org.actor_for_user(p, "supervisor")
    ids: list[str] = []

    # for each status, the moves a case may make (choice by the op's number)
    moves: dict[str, list[Callable[[str], Any]]] = {
        "reported": [
            lambda c: cases.accept_case(p, who["operator"], c),
            lambda c: cases.void_case(p, who["operator"], c, reason="无效报告"),
        ],
        "accepted": [lambda c: cases.file_case(p, who["chief"], c)],
        "filed": [lambda c: cases.dispatch_case(p, who["dispatcher"], c)],
        "returned": [lambda c: cases.dispatch_case(p, who["dispatcher"], c)],
        "dispatched": [
            lambda c: cases.sign_case(p, h, c),
            lambda c: cases.return_case(p, h, c, reason="不属于本单位职责"),
        ],
        "handling": [
            lambda c: cases.feedback_case(p, h, c, text="已处置"),
            lambda c: side_flows.request_extension(p, h, c, reason="需要更多时间", hours=24),
        ],
        "verifying": [lambda c: cases.feedback_case(p, h, c, text="已处置")],
        "verified": [
            lambda c: cases.close_case(p, who["chief"], c),
            lambda c: cases.rework_case(p, who["chief"], c, reason="不合格"),
        ],
        "closed": [
            lambda c: cases.follow_up_case(p, who["operator"], c, satisfaction="satisfied"),
            lambda c: cases.follow_up_case(p, who["operator"], c, satisfaction="unsatisfied"),
        ],
    }
    for kind, n in ops:
        if kind == "report":
            ids.append(report(client, p, login(client, "citizen")))  # a fresh token per wait
        elif kind == "wait":
            clock.advance(timedelta(minutes=n))
        elif kind == "consume":
            kpi.consume(p, batch=3)  # small batches: cursor moves between a case's events
        elif ids:
            cid = ids[n % len(ids)]
            status = str(queries.read_case(p, supervisor, cid)["status"])
            options = moves.get(status, [])
            if options:
                # a move the policy refuses is part of the sequence, too
                with contextlib.suppress(CivicError):
                    options[n % len(options)](cid)
        clock.advance(timedelta(seconds=30))
    kpi.consume(p)
    incremental = kpi.rollup_snapshot(p)
    kpi.recompute(p)
    assert kpi.rollup_snapshot(p) == incremental
