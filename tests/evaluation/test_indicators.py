"""Each indicator computed by hand on a small fixture, compared with the engine's answer;
drill-downs return exactly the cases behind a number; rollups equal a full recompute."""

from __future__ import annotations

import pytest

from civicloop.evaluation import reading
from civicloop.evaluation import service as kpi
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform
from tests.evaluation.conftest import Scenario

MONTH = "2026-11"

# (indicator, numerator, denominator) worked out by hand from the scenario's story:
# filed A B D; dispatched A B; B returned once; A handled on time, B 30 days late; A and B
# closed (B late); C voided; A rated satisfied; all four reported by a citizen over the app.
BY_HAND = [
    ("on_time_filing", 3, 3),
    ("on_time_dispatch", 2, 2),
    ("dispatch_accuracy", 1, 2),
    ("disposal_rate", 2, 2),
    ("on_time_disposal", 1, 2),
    ("closure_rate", 2, 3),
    ("on_time_closure", 1, 3),
    ("rework_rate", 0, 3),
    ("missed_report_rate", 3, 3),
    ("extension_rate", 0, 2),
    ("satisfaction_rate", 1, 1),
    ("proactive_discovery_rate", 0, 4),
    ("repeat_complaint_rate", 0, 3),
    ("on_time_acceptance", 3, 3),
]


@pytest.mark.parametrize(("code", "num", "den"), BY_HAND)
def test_indicator_by_hand(
    platform: Platform, scenario: Scenario, code: str, num: int, den: int
) -> None:
    got = reading.values(platform, SYSTEM_ACTOR, code, MONTH)["items"][0]
    assert (got["numerator"], got["denominator"]) == (num, den)
    assert got["value"] == pytest.approx(num / den)
    # the same numbers for the street and the department all four cases share
    street = reading.values(platform, SYSTEM_ACTOR, code, MONTH, "street", scenario.street)
    assert street["items"][0]["numerator"] == num


def test_average_handling_time_by_hand(platform: Platform, scenario: Scenario) -> None:
    got = reading.values(platform, SYSTEM_ACTOR, "avg_handle_hours", MONTH)["items"][0]
    # A: handled within minutes; B: 30 days and a few minutes (two handle steps: the first
    # closed by the return). Both finished, so the mean is over the completed steps.
    assert got["denominator"] >= 2 * 3600
    assert got["value"] > 30 * 24 / 3  # B's month dominates the mean


def test_drilldown_lists_exactly_the_cases_behind_the_number(
    platform: Platform, scenario: Scenario
) -> None:
    ids = scenario.ids
    num = reading.drilldown(platform, SYSTEM_ACTOR, "closure_rate", MONTH, part="numerator")
    den = reading.drilldown(platform, SYSTEM_ACTOR, "closure_rate", MONTH, part="denominator")
    assert {c["case_id"] for c in num["cases"]} == {ids["A"], ids["B"]}
    assert num["total"] == 2
    assert {c["case_id"] for c in den["cases"]} == {ids["A"], ids["B"], ids["D"]}
    acc = reading.drilldown(platform, SYSTEM_ACTOR, "dispatch_accuracy", MONTH)
    assert {c["case_id"] for c in acc["cases"]} == {ids["A"]}
    page = reading.drilldown(
        platform, SYSTEM_ACTOR, "closure_rate", MONTH, part="denominator", limit=1, offset=1
    )
    assert page["total"] == 3 and len(page["cases"]) == 1


def test_periods_outside_the_cohort_are_empty(platform: Platform, scenario: Scenario) -> None:
    got = reading.values(platform, SYSTEM_ACTOR, "closure_rate", "2026-10")["items"]
    assert got == [] or got[0]["denominator"] == 0
    cmp = reading.compare(platform, SYSTEM_ACTOR, "closure_rate", MONTH, "district")
    assert cmp["previous"]["value"] is None and cmp["change"] is None
    assert cmp["current"]["value"] == pytest.approx(2 / 3)
    trend = reading.trend(platform, SYSTEM_ACTOR, "closure_rate", MONTH, "week")
    assert sum(pt["denominator"] for pt in trend["points"]) == 3


def test_incremental_rollups_equal_a_recompute(platform: Platform, scenario: Scenario) -> None:
    before = kpi.rollup_snapshot(platform)
    assert before["cell"], "the consumer filled the rollups"
    result = kpi.recompute(platform)
    assert result.cases == 4
    assert kpi.rollup_snapshot(platform) == before
    assert kpi.consume(platform) == 0  # the cursor sits at the head after a recompute


def test_rankings_and_person_ratings(platform: Platform, scenario: Scenario) -> None:
    streets = reading.rankings(platform, SYSTEM_ACTOR, MONTH, "street")["items"]
    assert [s["code"] for s in streets] == [scenario.street]
    s = streets[0]
    assert s["rank"] == 1 and s["grade"] in set("ABCDE")
    by_code = {part["code"]: part["score"] for part in s["parts"]}
    assert by_code["closure_rate"] == pytest.approx(200 / 3)
    assert by_code["rework_rate"] == pytest.approx(100.0)  # lower is better: 0 % → 100
    people = reading.rankings(platform, SYSTEM_ACTOR, MONTH, "dispatcher")["items"]
    assert len(people) == 1  # one dispatcher dispatched every case
    assert people[0]["values"]["dispatch_accuracy"] == pytest.approx(0.5)


def test_qualitative_providers_feed_department_scores(
    platform: Platform, scenario: Scenario
) -> None:
    calls: list[tuple[str, str, tuple[str, ...]]] = []

    def reply_quality(p: Platform, level: str, period: object, codes: object) -> dict[str, float]:
        calls.append((level, str(getattr(period, "label", "")), tuple(codes)))  # type: ignore[arg-type]
        return {scenario.department: 50.0}

    got = reading.rankings(
        platform, SYSTEM_ACTOR, MONTH, "department", providers={"reply_quality": reply_quality}
    )
    assert calls == [("department", MONTH, (scenario.department,))]
    parts = {p["code"]: p["score"] for p in got["items"][0]["parts"]}
    assert parts["reply_quality"] == 50.0 and parts["review"] is None
    assert got["items"][0]["grade"] == kpi.config().grade(got["items"][0]["score"])


@pytest.mark.parametrize("level", ["district", "street", "department"])
def test_a_whole_month_reads_the_monthly_rollups_with_the_same_numbers(
    platform: Platform, scenario: Scenario, level: str
) -> None:
    from civicloop.evaluation.model import parse_period

    month, days = parse_period(MONTH), parse_period("2026-10-31..2026-11-30")
    assert reading._grain({"day", "street_code"}, month) == "region_month"
    assert reading._grain({"day", "street_code"}, days) == "region"
    assert reading._grain({"day", "street_code"}) == "region"  # per-day breakdowns
    for code, _, _ in BY_HAND:
        by_month = reading.values(platform, SYSTEM_ACTOR, code, MONTH, level)["items"]
        by_days = reading.values(platform, SYSTEM_ACTOR, code, days.label, level)["items"]
        assert by_month == by_days, code
