"""Scorecards, scores and outcomes: the pure rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from civicloop.core.errors import InputError
from civicloop.risk import scorecards
from civicloop.risk.model import (
    Outcome,
    ScorecardError,
    outcome_of,
    parse_scorecard,
    score,
)
from civicloop.runtime import Platform

CARD: dict[str, Any] = {
    "code": "t",
    "version": 1,
    "subject_kind": "enterprise",
    "indicators": [
        {"code": "a", "weight": 10, "cap": 25},
        {"code": "b", "weight": -3, "cap": 5},
    ],
    "bands": [{"band": "low", "min": 0}, {"band": "high", "min": 20}],
    "grades": [{"grade": "A", "max_risk": 5}, {"grade": "B", "max_risk": 19},
               {"grade": "D", "max_risk": 100}],
}  # fmt: skip


def test_points_are_capped_both_ways_and_explained() -> None:
    card = parse_scorecard(CARD)
    s = score(card, {"a": 4, "b": 3})
    assert s.score == 20.0 and s.band == "high" and s.grade == "D"  # 25 (capped) − 5 (capped)
    a, b = s.contributions
    assert (a.raw, a.points, a.is_capped) == (4.0, 25.0, True)
    assert (b.raw, b.points, b.is_capped) == (3.0, -5.0, True)
    assert score(card, {"b": 9}).score == 0.0  # never below zero
    assert score(card, {}).grade == "A"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"subject_kind": "planet"}, "$.subject_kind"),
        ({"version": 0}, "$.version"),
        ({"indicators": []}, "$.indicators"),
        ({"bands": [{"band": "x", "min": 5}]}, "$.bands"),
        ({"raise_priority_from": "extreme"}, "$.raise_priority_from"),
    ],
)
def test_a_bad_scorecard_names_the_path(change: dict[str, Any], path: str) -> None:
    with pytest.raises(ScorecardError) as err:
        parse_scorecard({**CARD, **change})
    assert err.value.path == path


def test_outcomes_of_case_endings() -> None:
    assert outcome_of("case.closed", {"closure_type": "normal"}) is Outcome.RECTIFIED
    assert outcome_of("case.closed", {"closure_type": "overdue"}) is Outcome.RECTIFIED_LATE
    assert outcome_of("case.closed", {"closure_type": "special"}) is Outcome.UNRESOLVED
    assert outcome_of("case.voided", {}) is Outcome.UNFOUNDED
    assert outcome_of("case.not_fixed", None) is Outcome.RECURRED
    assert outcome_of("case.dispatched", {}) is None


def test_a_changed_scorecard_must_raise_its_version(platform: Platform) -> None:
    """A local override with new weights but the old version number is refused."""
    from civicloop.risk import service

    service.rescore(platform, _admin(platform))  # records version 1 of every card
    local = Path(platform.settings.data_dir) / "scorecards"
    local.mkdir()
    body = yaml.safe_load((scorecards.PACKAGED / "grid.yaml").read_text(encoding="utf-8"))
    body["indicators"][0]["weight"] = 3
    (local / "grid.yaml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as err:
        service.rescore(platform, _admin(platform))
    assert err.value.rule == "scorecard.version_bump"
    body["version"] = 2
    (local / "grid.yaml").write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    service.rescore(platform, _admin(platform))
    versions = {(v["code"], v["version"]) for v in scorecards.list_versions(platform)}
    assert {("grid", 1), ("grid", 2)} <= versions


def _admin(p: Platform) -> Any:
    from civicloop.org import service as org

    return org.actor_for_user(p, "admin")
