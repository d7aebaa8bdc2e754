"""Benchmark: the discovery rules engine with ≥ 200 rules over batches of readings.

Measured in one run, on the same readings (N, default 100,000, from 5,000 devices of 12 entity
types; values mostly normal, some excursions that raise and clear alerts):

1. ``rules.evaluate`` on a platform (SQLite, migrated, no district needed) in batches of 1,000 —
   the indexed engine with its state written back per batch: what ingestion pays;
2. ``rules.run_offline`` — the same engine without the database (the ``rules test`` path);
3. the baseline an unindexed engine pays: every rule tried against every reading (on a
   sample), so the index's share of the speed is visible;
4. the raw cost of one parsed simpleeval comparison, the floor of any rule evaluation.

Last line: one JSON object with readings_per_s, offline_readings_per_s,
bruteforce_readings_per_s, index_speedup_ratio, eval_per_s, rules, alerts.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from civicloop.core.clock import FrozenClock
from civicloop.core.settings import Settings
from civicloop.discovery import rules as engine
from civicloop.discovery import rules_offline as offline
from civicloop.discovery.model import Reading
from civicloop.discovery.rules_expr import compile_expr, new_evaluator
from civicloop.discovery.rules_model import Rule, parse_rules
from civicloop.runtime import Platform

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TYPES = {
    "WasteContainer": ["fillingLevel", "temperature"],
    "FloodMonitoring": ["currentLevel"],
    "NoiseLevelObserved": ["LAeq", "LAmax"],
    "AirQualityObserved": ["pm10", "pm25", "no2"],
    "WeatherObserved": ["precipitation", "windSpeed"],
    "Streetlight": ["powerConsumption"],
    "ManholeCover": ["tiltAngle"],
    "GasDetector": ["lel"],
    "WaterObserved": ["pressure", "flow"],
    "ElectricityMeter": ["power"],
    "CallButton": ["battery"],
    "ParkingSpot": ["occupancy"],
}


# Realistic everyday values for the attributes the default rules watch (their thresholds are in
# real units); the generated rules watch gauss(50, 10) values with limits of 80–99.
SCALE = {
    "fillingLevel": (0.4, 0.15),
    "currentLevel": (0.01, 0.005),
    "precipitation": (2.0, 1.0),
    "pressure": (0.3, 0.002),
    "tiltAngle": (1.0, 0.5),
    "lel": (1.0, 0.5),
    "LAeq": (45.0, 3.0),
    "pm10": (60.0, 15.0),
}


def make_rules(n: int) -> list[Rule]:
    rnd = random.Random(1)
    defaults, problems = offline.read_rule_files([engine.DEFAULT_RULES_DIR])
    assert not problems, problems
    items: list[dict[str, Any]] = []
    kinds = ["threshold"] * 4 + ["sustained"] * 3 + ["rate"]
    for i in range(n - len(defaults)):
        etype = rnd.choice(list(TYPES))
        attr = rnd.choice(TYPES[etype])
        kind = rnd.choice(kinds)
        limit = round(rnd.uniform(80, 99), 1)
        item: dict[str, Any] = {
            "id": f"bench.{i}",
            "element": "E0104",
            "entity_type": etype,
            "attributes": [attr],
            "kind": kind,
            "when": f"{attr} >= {limit}" if kind != "rate" else "rate >= 500",
            "clear": f"{attr} < {limit - 20}" if kind != "rate" else "rate <= 0",
            "summary": f"{attr} {{{attr}}}",
        }
        if kind == "sustained":
            item["for"] = "10m"
        items.append(item)
    found, problems = parse_rules({"rules": items}, "bench")
    assert not problems, problems[:3]
    return [*defaults, *found]


def make_readings(n: int, devices: int) -> list[Reading]:
    rnd = random.Random(2)
    kinds = list(TYPES)
    fleet = [(f"dev-{d}", kinds[d % len(kinds)]) for d in range(devices)]
    out: list[Reading] = []
    for i in range(n):
        device, etype = fleet[i % devices]
        at = T0 + timedelta(seconds=i * 0.5)
        attrs = {a: round(rnd.gauss(*SCALE.get(a, (50, 10))), 3) for a in TYPES[etype]}
        out.append(Reading(device, etype, at, attrs))
    return out


def bench_evaluate(rules: list[Rule], readings: list[Reading], batch: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform.open(Settings(data_dir=Path(tmp)), clock=FrozenClock(T0))
        try:
            engine.use_rules(p, rules)
            engine.evaluate(p, readings[:batch])  # warm: loads states, emergency cover
            alerts = 0
            start = time.perf_counter()
            for i in range(batch, len(readings), batch):
                alerts += len(engine.evaluate(p, readings[i : i + batch]))
            took = time.perf_counter() - start
        finally:
            p.close()
    return (len(readings) - batch) / took, alerts


def bench_offline(rules: list[Rule], readings: list[Reading]) -> float:
    start = time.perf_counter()
    offline.run_offline(rules, readings)
    return len(readings) / (time.perf_counter() - start)


def bench_bruteforce(rules: list[Rule], readings: list[Reading]) -> float:
    """Every rule of the reading's type… no: every rule at all, as an unindexed engine does —
    a type check and a names dict per rule, the condition only where the type matches."""
    ev = new_evaluator()
    sample = readings[:5000]
    start = time.perf_counter()
    for r in sample:
        for rule in rules:
            if rule.entity_type != r.entity_type or not all(a in r.attrs for a in rule.attributes):
                continue
            if rule.when is not None and rule.kind is not engine.RuleKind.RATE:
                try:
                    rule.when(ev, {**r.attrs})
                except Exception:
                    continue
    return len(sample) / (time.perf_counter() - start)


def bench_eval() -> float:
    ev = new_evaluator()
    expr = compile_expr("fillingLevel >= 0.9")
    names = {"fillingLevel": 0.5}
    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        expr(ev, names)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=240)
    parser.add_argument("--devices", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    rules = make_rules(args.rules)
    readings = make_readings(args.readings, args.devices)
    print(f"{len(rules)} rules, {len(readings)} readings from {args.devices} devices")
    per_s, alerts = bench_evaluate(rules, readings, args.batch)
    print(
        f"evaluate (SQLite state, batches of {args.batch}): {per_s:,.0f} readings/s, "
        f"{alerts} alert transitions"
    )
    offline = bench_offline(rules, readings)
    print(f"run_offline (no database):                {offline:,.0f} readings/s")
    brute = bench_bruteforce(rules, readings)
    print(f"unindexed baseline (every rule tried):    {brute:,.0f} readings/s")
    evals = bench_eval()
    print(f"one parsed simpleeval comparison:         {evals:,.0f} evaluations/s")
    ratio = offline / brute if brute else 0.0
    print(f"index speed-up over the unindexed engine: {ratio:.1f}x")
    print(
        json.dumps(
            {
                "readings_per_s": round(per_s),
                "offline_readings_per_s": round(offline),
                "bruteforce_readings_per_s": round(brute),
                "index_speedup_ratio": round(ratio, 2),
                "eval_per_s": round(evals),
                "rules": len(rules),
                "alerts": alerts,
            }
        )
    )


if __name__ == "__main__":
    main()
