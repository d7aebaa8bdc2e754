"""Fixtures of the evaluation tests: a hand-made set of cases with known outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from civicloop.cases import service as cases
from civicloop.core.clock import FrozenClock
from civicloop.evaluation import service as kpi
from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.helpers import element, handler_for, login, report_body


@dataclass
class Scenario:
    """Four cases reported on 2026-11-25 (see ``scenario``): ids by name, the street and the
    lead department they share."""

    ids: dict[str, str]
    street: str
    department: str


def report(client: TestClient, p: Platform, headers: dict[str, str], **extra: object) -> str:
    e = element(p, check=False, verify=False)
    r = client.post("/api/v1/cases", json=report_body(p, e, **extra), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def scenario(platform: Platform, client: TestClient, clock: FrozenClock) -> Scenario:
    """A: closed on time and rated satisfied. B: returned once, re-dispatched, handled 30 days
    late, closed. C: voided at acceptance. D: accepted and filed, waiting for dispatch."""
    p = platform
    e = element(p, check=False, verify=False)
    who = {u: org.actor_for_user(p, u) for u in ("operator", "chief", "dispatcher")}
    handler = org.actor_for_user(p, handler_for(e))
    citizen = login(client, "citizen")
    ids = {name: report(client, p, citizen) for name in "ABCD"}

    def tick() -> None:
        clock.advance(timedelta(minutes=1))

    for name in ("A", "B", "D"):
        tick()
        cases.accept_case(p, who["operator"], ids[name])
        tick()
        cases.file_case(p, who["chief"], ids[name])
    cases.void_case(p, who["operator"], ids["C"], reason="重复的无效报告")
    for name in ("A", "B"):
        tick()
        cases.dispatch_case(p, who["dispatcher"], ids[name])
    tick()
    cases.return_case(p, handler, ids["B"], reason="不属于本单位职责范围，请重新派遣")
    tick()
    cases.dispatch_case(p, who["dispatcher"], ids["B"])
    for name in ("A", "B"):
        tick()
        cases.sign_case(p, handler, ids[name])
    tick()
    cases.feedback_case(p, handler, ids["A"], text="已处置完毕")
    tick()
    cases.close_case(p, who["chief"], ids["A"])
    tick()
    cases.follow_up_case(p, who["operator"], ids["A"], satisfaction="satisfied")
    clock.advance(timedelta(days=30))
    cases.feedback_case(p, handler, ids["B"], text="已处置完毕")
    tick()
    cases.close_case(p, who["chief"], ids["B"])
    kpi.consume(p)
    with p.db.read() as conn:
        from sqlalchemy import select

        from civicloop.cases.store import cases as t

        row = conn.execute(
            select(t.c.street_code, t.c.lead_department).where(t.c.id == ids["A"])
        ).one()
    return Scenario(ids, str(row.street_code), str(row.lead_department))
