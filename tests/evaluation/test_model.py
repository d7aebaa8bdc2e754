"""Pure rules of the evaluation: facts of one case, periods, expressions, composites, bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civicloop.evaluation.model import (
    COUNTERS,
    Component,
    Composite,
    PeriodError,
    StepRow,
    check_expression,
    composite_score,
    derive_facts,
    diff_cells,
    parse_config,
    parse_period,
)
from civicloop.evaluation.service import config

T = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 2026-11-01 01:00 in Shanghai


def step(name: str, start_h: float, due_h: float, done_h: float | None, by: str = "u1") -> StepRow:
    return StepRow(
        name,
        T + timedelta(hours=start_h),
        T + timedelta(hours=due_h),
        None if done_h is None else T + timedelta(hours=done_h),
        by if done_h is not None else None,
    )


def case(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "c1",
        "number": "E0120261101000001",
        "status": "closed",
        "channel": "hotline",
        "street_code": "S1",
        "region_path": "/D/S1/C1/G1/",
        "grid_code": "G1",
        "lead_department": "cg",
        "element_code": "0101",
        "reporter_id": "citizen",
        "return_count": 0,
        "rework_count": 0,
        "reopen_count": 0,
        "extension_count": 0,
        "satisfaction": None,
        "reported_at": T,
        "filed_at": T + timedelta(hours=2),
        "dispatched_at": T + timedelta(hours=3),
        "closed_at": T + timedelta(hours=30),
    }
    base.update(kw)
    return base


def test_facts_of_a_case_closed_late_after_a_return() -> None:
    steps = [
        step("accept", 0, 1, 0.5, "op"),
        step("file", 0.5, 2, 2, "chief"),
        step("dispatch", 2, 3, 3, "disp"),
        step("sign", 3, 4, 3.5),
        step("handle", 3, 24, 26, "h"),  # handled two hours late
        step("verify", 26, 28, 27, "gw"),
        step("close", 27, 31, 30, "chief"),
        step("follow_up", 30, 40, None),
    ]
    f = derive_facts(case(return_count=1, satisfaction="basically_satisfied"), steps, 2)
    c = f.counters
    assert f.day == "2026-11-01"  # the local (Shanghai) day, not the UTC one
    assert (f.street_code, f.community_code, f.department_code) == ("S1", "C1", "cg")
    assert f.people["dispatch_by"] == "disp" and f.people["verify_by"] == "gw"
    assert f.people["patrol_by"] is None
    assert c["accepted"] == c["accepted_on_time"] == 1
    assert c["filed"] == c["filed_on_time"] == 1
    assert c["dispatched"] == c["dispatched_on_time"] == c["returned"] == 1
    assert c["disposed"] == 1 and c["disposed_on_time"] == 0
    assert c["closed"] == 1 and c["closed_on_time"] == 0
    assert c["verify_due"] == c["verified_on_time"] == 1
    assert c["rated"] == c["satisfied"] == 1
    assert c["citizen"] == c["missed"] == 1 and c["proactive"] == 0
    assert c["repeated"] == 1  # two more people reported it
    assert c["handle_s"] == 23 * 3600 and c["handle_n"] == 1
    assert c["accept_s"] == 1800 and c["close_n"] == 1


def test_facts_of_a_fresh_patrol_report() -> None:
    f = derive_facts(
        case(
            status="reported",
            channel="patrol",
            reporter_id="gw",
            filed_at=None,
            dispatched_at=None,
            closed_at=None,
            lead_department=None,
        ),
        [step("accept", 0, 1, None)],
        0,
    )
    c = f.counters
    assert c["cases"] == c["valid"] == c["proactive"] == 1
    assert sum(c.values()) == 3
    assert f.department_code == "" and f.people["patrol_by"] == "gw"


def test_diff_moves_a_case_between_cells() -> None:
    a = derive_facts(case(lead_department="cg"), [], 0)
    b = derive_facts(case(lead_department="zj"), [], 0)
    d = diff_cells(a, b)
    assert d[a.cell]["cases"] == -1 and d[b.cell]["cases"] == 1
    assert diff_cells(a, a) == {}


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026-12", "2026-12-01", "2026-12-31"),
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-W01", "2025-12-29", "2026-01-04"),
        ("2026-10-05", "2026-10-05", "2026-10-05"),
        ("2026-10-01..2026-10-15", "2026-10-01", "2026-10-15"),
    ],
)
def test_periods(text: str, first: str, last: str) -> None:
    p = parse_period(text)
    assert (p.first, p.last) == (first, last)


def test_previous_period_and_bad_periods() -> None:
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026-10-11..2026-10-20").previous().first == "2026-10-01"
    for bad in ("2026-13", "26-10", "2026-10-20..2026-10-01", "", "drop table"):
        with pytest.raises(PeriodError):
            parse_period(bad)


def test_expressions_take_only_counters_and_arithmetic() -> None:
    assert check_expression("dispatched - returned") == ("dispatched", "returned")
    for bad in ("closed / filed", "__import__('os')", "nosuch", "closed; drop", "'a'"):
        with pytest.raises(ValueError):
            check_expression(bad)


def test_composite_renormalises_missing_parts_and_refuses_thin_data() -> None:
    comp = Composite(
        "street",
        None,
        (
            Component("indicator", "a", 0.6),
            Component("indicator", "b", 0.2),
            Component("qualitative", "review", 0.2),
        ),
    )
    score, _ = composite_score(comp, {"a": 90.0, "b": 60.0}, {"review": 100.0})
    assert score == pytest.approx(0.6 * 90 + 0.2 * 60 + 0.2 * 100)
    score, _ = composite_score(comp, {"a": 90.0, "b": None}, {})
    assert score == pytest.approx(90.0)  # b and the review are missing: a alone, renormalised
    score, _ = composite_score(comp, {"a": None, "b": 50.0}, {"review": 80.0})
    assert score is None  # only 40 % of the weight has data


def test_packaged_config_and_bands() -> None:
    cfg = config()
    assert len(cfg.indicators) >= 15
    assert [cfg.grade(s) for s in (95, 90, 89.9, 75, 60, 59, 40, 10)] == list("AABBCDDE")
    for ind in cfg.indicators.values():
        assert set(ind.counters) <= set(COUNTERS)


def test_config_errors_name_the_entry() -> None:
    with pytest.raises(ValueError, match="indicator x"):
        parse_config({"indicators": {"x": {"numerator": "closed / 2", "denominator": "filed"}}})
    with pytest.raises(ValueError, match="weights add up"):
        parse_config(
            {
                "indicators": {"x": {"numerator": "closed", "denominator": "filed"}},
                "composites": {"s": {"components": [{"indicator": "x", "weight": 0.5}]}},
            }
        )
