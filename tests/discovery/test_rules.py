"""The rules engine: every rule kind, hysteresis, safe expressions, the index, persistence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from civicloop.core.clock import FrozenClock
from civicloop.core.settings import Settings
from civicloop.discovery import rules as engine
from civicloop.discovery import rules_offline as offline
from civicloop.discovery.model import Reading
from civicloop.discovery.rules_index import RuleIndex
from civicloop.discovery.rules_model import compile_expr, parse_rules
from civicloop.runtime import Platform

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


def rules_of(*items: dict[str, Any]) -> list[Any]:
    found, problems = parse_rules({"rules": list(items)}, "test")
    assert problems == []
    return found


def reading(
    minutes: float, device: str = "d1", etype: str = "WasteContainer", **attrs: Any
) -> Reading:
    lon = attrs.pop("lon", None)
    lat = attrs.pop("lat", None)
    return Reading(
        device_id=device,
        entity_type=etype,
        observed_at=T0 + timedelta(minutes=minutes),
        attrs=attrs,
        lon=lon,
        lat=lat,
    )


BIN = {
    "id": "bin",
    "element": "E0104",
    "entity_type": "WasteContainer",
    "attributes": ["fillingLevel"],
    "kind": "threshold",
    "when": "fillingLevel >= 0.9",
}


def transitions(alerts: list[Any]) -> list[tuple[str, str]]:
    return [(a.rule_id, a.evidence["transition"]) for a in alerts]


def test_threshold_raises_once_and_clears_when_the_condition_stops() -> None:
    out = offline.run_offline(
        rules_of(BIN), [reading(i, fillingLevel=v) for i, v in enumerate([0.5, 0.95, 0.97, 0.4])]
    )
    assert transitions(out) == [("bin", "raised"), ("bin", "cleared")]
    assert out[0].observed_at == T0 + timedelta(minutes=1)


def test_a_flapping_sensor_raises_one_alert_with_hysteresis() -> None:
    rule = {**BIN, "clear": "fillingLevel < 0.6"}
    values = [0.95, 0.85] * 20  # flaps around the threshold for 40 minutes
    out = offline.run_offline(
        rules_of(rule), [reading(i, fillingLevel=v) for i, v in enumerate(values)]
    )
    assert transitions(out) == [("bin", "raised")]
    # without hysteresis the same sensor would raise twenty times
    plain = offline.run_offline(
        rules_of(BIN), [reading(i, fillingLevel=v) for i, v in enumerate(values)]
    )
    assert sum(1 for a in plain if a.evidence["transition"] == "raised") == 20


def test_min_hold_keeps_a_flapping_alert_raised() -> None:
    rule = {**BIN, "min_hold": "30m"}
    values = [0.95, 0.1] * 10  # one reading a minute for 20 minutes
    out = offline.run_offline(
        rules_of(rule), [reading(i, fillingLevel=v) for i, v in enumerate(values)]
    )
    assert transitions(out) == [("bin", "raised")]
    later = offline.run_offline(
        rules_of(rule),
        [reading(i, fillingLevel=v) for i, v in enumerate(values)]
        + [reading(45, fillingLevel=0.1)],
    )
    assert transitions(later) == [("bin", "raised"), ("bin", "cleared")]


def test_sustained_needs_the_whole_duration_and_restarts_on_a_dip() -> None:
    rule = {**BIN, "kind": "sustained", "for": "30m", "clear": "fillingLevel < 0.6"}
    dipped = [reading(m, fillingLevel=0.95) for m in (0, 10, 20)] + [
        reading(25, fillingLevel=0.7),  # below the raise level: the timer restarts
        reading(40, fillingLevel=0.95),
        reading(60, fillingLevel=0.95),
    ]
    assert offline.run_offline(rules_of(rule), dipped) == []
    held = [*dipped, reading(70, fillingLevel=0.96)]
    out = offline.run_offline(rules_of(rule), held)
    assert transitions(out) == [("bin", "raised")]
    assert out[0].observed_at == T0 + timedelta(minutes=70)


def test_rate_of_change_per_hour() -> None:
    rule = {
        "id": "rise",
        "element": "E0404",
        "entity_type": "FloodMonitoring",
        "attributes": ["waterLevel"],
        "kind": "rate",
        "per": "1h",
        "when": "rate >= 0.2",
        "clear": "rate <= 0",
        "summary": "{rate:.2f} m/h",
    }
    levels = [(0, 0.0), (30, 0.05), (60, 0.1), (75, 0.2), (90, 0.3), (120, 0.3)]
    out = offline.run_offline(
        rules_of(rule),
        [reading(m, etype="FloodMonitoring", waterLevel=v) for m, v in levels],
    )
    assert transitions(out) == [("rise", "raised"), ("rise", "cleared")]
    assert out[0].observed_at == T0 + timedelta(minutes=75)
    assert out[0].summary == "0.40 m/h"
    assert out[0].evidence["rate"] == pytest.approx(0.4)


def test_count_within_a_window() -> None:
    rule = {
        "id": "mixed",
        "element": "E0106",
        "entity_type": "WasteContainer",
        "attributes": ["mixedWaste"],
        "kind": "count",
        "when": "mixedWaste",
        "count": 3,
        "within": "30d",
    }
    days = 24 * 60
    spaced = [reading(d * days, mixedWaste=True) for d in (0, 20, 40, 60)]  # never 3 in 30 days
    assert offline.run_offline(rules_of(rule), spaced) == []
    close = [reading(d * days, mixedWaste=True) for d in (0, 5, 9)]
    assert transitions(offline.run_offline(rules_of(rule), close)) == [("mixed", "raised")]


def test_geofence_polygon_inside_and_corridor_outside() -> None:
    square = [[[121.50, 31.20], [121.51, 31.20], [121.51, 31.21], [121.50, 31.21], [121.50, 31.20]]]
    keep_out = {
        "id": "zone",
        "element": "E0803",
        "entity_type": "Wristband",
        "kind": "geofence",
        "fence": {"polygon": square},
        "trigger": "outside",
    }
    track = [
        reading(0, etype="Wristband", lon=121.505, lat=31.205),
        reading(1, etype="Wristband", lon=121.52, lat=31.205),  # left the zone
        reading(2, etype="Wristband", lon=121.505, lat=31.205),
    ]
    assert transitions(offline.run_offline(rules_of(keep_out), track)) == [
        ("zone", "raised"),
        ("zone", "cleared"),
    ]
    corridor = {
        "id": "road",
        "element": "E0601",
        "entity_type": "VehiclePosition",
        "kind": "geofence",
        "fence": {"corridor": {"line": [[121.50, 31.20], [121.52, 31.20]], "width_m": 50}},
    }
    m_per_deg_lat = 111_320.0
    track = [
        reading(0, etype="VehiclePosition", lon=121.51, lat=31.20 + 30 / m_per_deg_lat),  # 30 m
        reading(1, etype="VehiclePosition", lon=121.51, lat=31.20 + 80 / m_per_deg_lat),  # 80 m
    ]
    out = offline.run_offline(rules_of(corridor), track)
    assert transitions(out) == [("road", "raised")]
    assert out[0].evidence["distance_m"] == pytest.approx(30, abs=1)


def test_time_window_wraps_midnight_and_weekdays() -> None:
    rule = {
        "id": "night",
        "element": "E0301",
        "entity_type": "NoiseLevelObserved",
        "attributes": ["LAeq"],
        "kind": "threshold",
        "when": "LAeq > 55",
        "active": {"between": "22:00-06:00", "days": "weekdays"},
    }
    day = reading(0, etype="NoiseLevelObserved", LAeq=70)  # Wed 10:00 local
    night = reading(13 * 60, etype="NoiseLevelObserved", LAeq=70)  # Wed 23:00 local
    saturday_night = reading(3 * 24 * 60 + 13 * 60, etype="NoiseLevelObserved", LAeq=70)
    assert offline.run_offline(rules_of(rule), [day]) == []
    assert transitions(offline.run_offline(rules_of(rule), [night])) == [("night", "raised")]
    assert offline.run_offline(rules_of(rule), [saturday_night]) == []


def test_emergency_variants_apply_only_in_emergency_mode() -> None:
    base = {**BIN, "mode": "normal"}
    variant = {
        **BIN,
        "id": "bin.em",
        "when": "fillingLevel >= 0.7",
        "mode": "emergency",
        "variant_of": "bin",
    }
    found = rules_of(base, variant)
    batch = [reading(0, fillingLevel=0.75)]
    assert offline.run_offline(found, batch) == []
    assert transitions(offline.run_offline(found, batch, is_emergency=True)) == [
        ("bin.em", "raised")
    ]


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("fillingLevel.__class__", "attribute"),
        ("__import__('os').system('x')", "only the functions"),
        ("open('/etc/passwd')", "only the functions"),
        ("device['x']", "subscript"),
        ("(lambda: 1)()", "only the functions"),
        ("f'{x}'", "joinedstr"),
        ("x = 1", "syntax"),
        ("", "non-empty"),
    ],
)
def test_unsafe_expressions_are_refused(expr: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        compile_expr(expr)


def test_validation_names_the_field_and_the_rule() -> None:
    _, problems = parse_rules(
        {
            "rules": [
                {**BIN, "kind": "sustained"},
                {**BIN, "id": "b2", "when": "x.y > 1"},
                {**BIN, "id": "b3", "colour": "red"},
                {**BIN, "id": "b4", "mode": "emergency", "variant_of": "nope"},
                {**BIN, "id": "dup"},
                {**BIN, "id": "dup"},
            ]
        },
        "f.yaml",
    )
    text = "\n".join(problems)
    assert "f.yaml: rules[0].for: missing (rule: a sustained rule needs 'for')" in text
    assert "rules[1].when: attribute is not allowed" in text
    assert "rules[2].colour: unknown key" in text
    assert "b4.variant_of: unknown rule 'nope'" in text
    assert "rules[5].id: 'dup' appears twice" in text


def test_index_matches_a_brute_force_scan_over_240_rules() -> None:
    rnd = random.Random(4)
    types = [f"T{i}" for i in range(12)]
    attrs = [f"a{i}" for i in range(8)]
    items = []
    for i in range(240):
        watched = rnd.sample(attrs, rnd.choice([0, 1, 1, 2]))
        items.append(
            {
                "id": f"r{i}",
                "element": "E0104",
                "entity_type": rnd.choice(types),
                "attributes": watched,
                "kind": "threshold",
                "when": " and ".join(f"{a} > 0" for a in watched) or "True",
            }
        )
    found = rules_of(*items)
    index = RuleIndex(found)
    for _ in range(2000):
        etype = rnd.choice(types)
        carried = set(rnd.sample(attrs, rnd.randint(0, 5)))
        expect = [r for r in found if r.entity_type == etype and set(r.attributes) <= carried]
        assert list(index.candidates(etype, carried)) == expect
        assert list(index.candidates(etype, carried)) == expect  # memoised answer too


def test_default_rule_files_load_without_problems() -> None:
    found, problems = offline.read_rule_files([engine.DEFAULT_RULES_DIR])
    assert problems == []
    assert {"waste.fill.high", "flood.level.alert", "flood.monitor.silent"} <= {r.id for r in found}


def test_cli_test_and_validate() -> None:
    from civicloop.cli import app

    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "rules",
            "test",
            str(FIXTURES / "bins.yaml"),
            "--readings",
            str(FIXTURES / "bins-readings.json"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "raised   test.bin.full" in ok.output
    assert "1 raised, 1 cleared" in ok.output  # a flapping bin: one alert
    bad = runner.invoke(app, ["rules", "validate", str(FIXTURES / "bad.yaml")])
    assert bad.exit_code == 1
    assert "rules[0].when: attribute is not allowed in rule expressions" in bad.output
    assert "rules[1].element: bad element 'X1' (rule: like E0104)" in bad.output
    good = runner.invoke(app, ["rules", "validate", str(engine.DEFAULT_RULES_DIR)])
    assert good.exit_code == 0, good.output


# -- with the platform: persisted state, silence --------------------------------------------------


def test_rule_state_survives_a_restart(
    platform: Platform, settings: Settings, clock: FrozenClock
) -> None:
    rule = rules_of({**BIN, "kind": "sustained", "for": "30m"})
    engine.use_rules(platform, rule)
    assert engine.evaluate(platform, [reading(0, fillingLevel=0.95)]) == []
    assert engine.evaluate(platform, [reading(20, fillingLevel=0.95)]) == []
    again = Platform.open(settings, clock=clock)  # a restart: a new process's platform
    try:
        engine.use_rules(again, rule)
        out = engine.evaluate(again, [reading(31, fillingLevel=0.95)])
        assert transitions(out) == [("bin", "raised")]
        assert engine.evaluate(again, [reading(40, fillingLevel=0.99)]) == []  # still raised
    finally:
        again.close()


def test_late_readings_do_not_rewind_a_timer(platform: Platform) -> None:
    engine.use_rules(platform, rules_of({**BIN, "kind": "sustained", "for": "30m"}))
    engine.evaluate(platform, [reading(0, fillingLevel=0.95)])
    engine.evaluate(platform, [reading(10, fillingLevel=0.95)])
    engine.evaluate(platform, [reading(5, fillingLevel=0.1)])  # arrives late: ignored
    assert transitions(engine.evaluate(platform, [reading(31, fillingLevel=0.95)])) == [
        ("bin", "raised")
    ]


def test_a_silent_device_raises_a_no_signal_alert_once(platform: Platform) -> None:
    silent = {
        "id": "silent",
        "element": "C0602",
        "entity_type": "FloodMonitoring",
        "kind": "no_signal",
        "after": "2h",
        "summary": "{device_id} silent {silent_minutes} min",
    }
    engine.use_rules(platform, rules_of(silent))
    engine.evaluate(platform, [reading(0, "f1", "FloodMonitoring", waterLevel=0.0)])
    engine.evaluate(platform, [reading(0, "f2", "FloodMonitoring", waterLevel=0.0)])
    engine.evaluate(platform, [reading(100, "f2", "FloodMonitoring", waterLevel=0.0)])
    assert engine.check_silence(platform, T0 + timedelta(minutes=90)) == []
    out = engine.check_silence(platform, T0 + timedelta(minutes=150))
    assert [(a.device_id, a.evidence["transition"]) for a in out] == [("f1", "raised")]
    assert out[0].summary == "f1 silent 150 min"
    assert engine.check_silence(platform, T0 + timedelta(minutes=200)) == []  # once
    back = engine.evaluate(platform, [reading(210, "f1", "FloodMonitoring", waterLevel=0.0)])
    assert [(a.device_id, a.evidence["transition"]) for a in back] == [("f1", "cleared")]


def test_the_batch_prefilter_gives_the_same_alerts_as_reading_by_reading() -> None:
    """The numpy prefilter only skips readings that change nothing: compare with the exact
    per-reading walk over random rules (hysteresis, timers, counts, rates) and readings."""
    rnd = random.Random(9)
    items = []
    for i in range(60):
        kind = rnd.choice(["threshold", "sustained", "count", "rate"])
        limit = rnd.randint(55, 75)
        item: dict[str, Any] = {
            "id": f"r{i}",
            "element": "E0104",
            "entity_type": rnd.choice(["A", "B"]),
            "attributes": ["x"],
            "kind": kind,
            "when": f"x >= {limit}" if kind != "rate" else "rate >= 40",
        }
        if kind != "rate" and rnd.random() < 0.5:
            item["clear"] = f"x < {limit - 15} or between(x, 90, 91)"
        if kind == "sustained":
            item["for"] = "3m"
        if kind == "count":
            item |= {"count": 3, "within": "20m"}
        if rnd.random() < 0.3:
            item["min_hold"] = "4m"
        items.append(item)
    found = rules_of(*items)
    batch = [
        reading(m * 0.5, f"d{rnd.randint(0, 7)}", rnd.choice(["A", "B"]), x=rnd.gauss(55, 15))
        for m in range(600)
    ]
    fast = offline.run_offline(found, batch)
    eng = engine.Engine(found)
    from civicloop.discovery.rules_expr import new_evaluator

    ev = new_evaluator()
    exact = []
    for r in batch:
        ctx = engine._Ctx(None, None, None, None)
        for rule in found:
            if rule.entity_type == r.entity_type:
                alert = engine._step(eng, ev, rule, r, ctx, engine._names(r, ctx))
                if alert is not None:
                    exact.append(alert)
    key = lambda a: (a.observed_at, a.rule_id, a.device_id, a.evidence["transition"])  # noqa: E731
    assert len(exact) > 50
    assert sorted(map(key, fast)) == sorted(map(key, exact))
