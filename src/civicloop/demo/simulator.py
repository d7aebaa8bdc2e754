"""The demo simulator: a month of cases in every stage of the loop, through the real services.

A freshly generated district has no cases, which makes the platform hard to explore. The
simulator files ``count`` reports spread over the last 30 days — from citizens, enterprises and
grid workers' patrols — and walks each a random way along the loop with the demo personas, just
as people would through the API: some are still waiting to be accepted, some are being handled,
some were returned, reworked or closed late, most are closed and rated. Every step goes through
the case services, so every case has its ledger trail and its SLA clock. The same seed gives
the same cases.

A step that needs a persona the demo does not have (a handler for a street office other than
陆家嘴's, a grid worker outside the two demo communities) is where that case stops: a realistic
backlog for the sweeper and the overdue lists.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from civicloop.cases import service
from civicloop.cases.model import Channel, Status
from civicloop.catalogue.model import Element
from civicloop.core.clock import Clock, FrozenClock
from civicloop.core.errors import CivicError
from civicloop.org import service as org
from civicloop.org.model import Actor
from civicloop.runtime import Platform

# What fraction of cases stop at each stage (the rest run to the end and are rated).
STOP_AT = {
    Status.REPORTED: 0.06,
    Status.ACCEPTED: 0.04,
    Status.FILED: 0.05,
    Status.DISPATCHED: 0.06,
    Status.HANDLING: 0.12,
    Status.VERIFIED: 0.05,
    Status.CLOSED: 0.12,
}
DESCRIPTIONS = (
    "市民反映：{name}，已持续多日，影响出行和生活，请尽快处理。",
    "{name}问题，位置就在小区门口，希望相关部门来看看。",
    "巡查发现{name}，现场已拍照，请派单处置。",
)


@dataclass(frozen=True)
class SimulationResult:
    cases: int
    steps: int
    by_status: dict[str, int]


def simulate(
    p: Platform,
    *,
    count: int,
    seed: int,
    days: int = 30,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """File and walk ``count`` cases; returns how many steps ran and where cases ended."""
    rng = random.Random(seed)
    who = {
        u: org.actor_for_user(p, u)
        for u in (
            "citizen",
            "citizen2",
            "enterprise",
            "operator",
            "dispatcher",
            "chief",
            "gridworker",
            "gridworker2",
        )
    }
    handlers = _handlers(p)
    grids = sorted(p.grids.codes)
    local = {
        name: sorted(
            c
            for c in grids
            if p.grid_path(c) and str(p.grid_path(c)).startswith(who[name].region_path)
        )
        for name in ("gridworker", "gridworker2")
    }
    elements = sorted(p.catalogue.elements.values(), key=lambda e: e.code)
    real_clock: Clock = p.clock
    start = real_clock.now() - timedelta(days=days)
    steps = 0
    by_status: dict[str, int] = {}
    try:
        for i in range(count):
            at = start + timedelta(seconds=rng.uniform(0, days * 86400))
            clock = FrozenClock(at)
            p.clock = clock
            element = rng.choice(elements)
            worker = rng.choice(("gridworker", "gridworker2"))
            # most cases fall where a demo grid worker can check and verify them
            grid = (
                rng.choice(local[worker])
                if rng.random() < 0.6 and local[worker]
                else rng.choice(grids)
            )
            reporter = rng.choice(("citizen", "citizen2", "enterprise", worker))
            channel = (
                Channel.PATROL
                if reporter.startswith("grid")
                else Channel.ENTERPRISE
                if reporter == "enterprise"
                else rng.choice((Channel.HOTLINE, Channel.APP, Channel.WEB))
            )
            view = service.report_case(
                p,
                who[reporter],
                service.CaseDraft(
                    element_code=element.code,
                    channel=channel,
                    grid_code=grid,
                    description=rng.choice(DESCRIPTIONS).format(name=element.name),
                    reporter_name=rng.choice(("王先生", "李女士", "张阿姨", "陈师傅")),
                    reporter_phone=f"13{rng.randint(100000000, 999999999)}",
                ),
                request_id=f"sim-{i}",
            )
            steps += 1
            final, n = _walk(p, clock, rng, view["id"], element, grid, who, handlers, local)
            steps += n
            by_status[final] = by_status.get(final, 0) + 1
            if progress is not None:
                progress(i + 1, count)
    finally:
        p.clock = real_clock
    return SimulationResult(cases=count, steps=steps, by_status=by_status)


def _handlers(p: Platform) -> dict[str, Actor]:
    out: dict[str, Actor] = {}
    with p.db.read() as conn:
        codes = [d["code"] for d in org.list_departments(conn)]
    for code in codes:
        try:
            actor = org.actor_for_user(p, f"handler-{code}")
        except CivicError:
            continue
        out[code] = actor
    street = org.actor_for_user(p, "handler-street")
    for dept in street.department_ids:
        out[dept] = street
    return out


def _walk(
    p: Platform,
    clock: FrozenClock,
    rng: random.Random,
    cid: str,
    element: Element,
    grid: str,
    who: dict[str, Actor],
    handlers: dict[str, Actor],
    local: dict[str, list[str]],
) -> tuple[str, int]:
    """Move one case along the loop until a random stop; returns (final status, steps)."""
    steps = 0
    checker = next((w for w, codes in local.items() if grid in codes), None)

    def later(low: float, high: float) -> None:
        clock.advance(timedelta(minutes=rng.uniform(low, high)))

    def stop(status: Status) -> bool:
        return rng.random() < STOP_AT.get(status, 0.0)

    try:
        if stop(Status.REPORTED):
            return str(Status.REPORTED), steps
        later(2, 40)
        status = service.accept_case(p, who["operator"], cid)["status"]
        steps += 1
        if status == Status.CHECKING:
            if checker is None:
                return status, steps
            later(10, 50)
            checked = service.check_case(p, who[checker], cid, is_valid=rng.random() > 0.05)
            steps += 1
            if checked["status"] == Status.VOIDED:
                return str(Status.VOIDED), steps
        if stop(Status.ACCEPTED):
            return str(Status.ACCEPTED), steps
        later(5, 60)
        service.file_case(p, who["chief"], cid)
        steps += 1
        if stop(Status.FILED):
            return str(Status.FILED), steps
        later(5, 90)
        view = service.dispatch_case(p, who["dispatcher"], cid)
        steps += 1
        handler = handlers.get(view["lead_department"] or "")
        if handler is None or stop(Status.DISPATCHED):
            return str(Status.DISPATCHED), steps
        later(10, 240)
        if rng.random() < 0.06:
            service.return_case(p, handler, cid, reason="不属于本单位职责范围，请重新派遣")
            return str(Status.RETURNED), steps + 1
        service.sign_case(p, handler, cid)
        steps += 1
        if stop(Status.HANDLING):
            return str(Status.HANDLING), steps
        later(60, 60 * 48)
        service.add_note(p, handler, cid, text="已安排人员到场处置")
        later(30, 60 * 24)
        status = service.feedback_case(p, handler, cid, text="已处置完毕，请核查")["status"]
        steps += 2
        if status == Status.VERIFYING:
            if checker is None:
                return status, steps
            later(10, 120)
            passed = rng.random() > 0.1
            service.verify_case(p, who[checker], cid, passed=passed)
            steps += 1
            if not passed:
                later(10, 60)
                service.rework_case(p, who["chief"], cid, reason="核查未通过，请返工")
                return str(Status.HANDLING), steps + 1
        if stop(Status.VERIFIED):
            return str(Status.VERIFIED), steps
        later(5, 120)
        service.close_case(p, who["chief"], cid)
        steps += 1
        if stop(Status.CLOSED):
            return str(Status.CLOSED), steps
        later(60, 60 * 24)
        service.follow_up_case(
            p,
            who["operator"],
            cid,
            satisfaction=rng.choices(
                ("satisfied", "basically_satisfied", "unsatisfied"), weights=(70, 22, 8)
            )[0],
        )
        return str(Status.FOLLOWED_UP), steps + 1
    except CivicError:
        # a refusal the walk did not foresee (e.g. a voided check): the case stays where it is
        return "stopped", steps
