"""Rule files and rules offline: reading and checking rule files (for the engine, ``rules
validate`` and ``rules test``), and ``civicloop rules test`` over recorded readings.

No database and no platform: fresh rule states, the same indexed and prefiltered batch pass
as ingestion's (``rules.run_batch``), every place in or out of emergency mode as asked.
Detectors and no-signal rules need the platform (registries, the clock) and are not run.
Readings files are JSON (a list, or ``{"readings": [...]}``) or JSON lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from civicloop.discovery.model import Alert, Reading
from civicloop.discovery.rules import Engine, _Ctx, run_batch
from civicloop.discovery.rules_model import Rule, RuleMode, parse_rules


def read_rule_files(paths: Iterable[Path]) -> tuple[list[Rule], list[str]]:
    """Every rule of the given files (or directories of ``*.yaml``), and every problem."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
    rules: list[Rule] = []
    problems: list[str] = []
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{file.name}: not valid YAML: {exc} (rule: a YAML file)")
            continue
        found, bad = parse_rules(data, file.name)
        rules.extend(found)
        problems.extend(bad)
    seen: set[str] = set()
    unique: list[Rule] = []
    for r in rules:
        if r.id in seen:
            problems.append(f"{r.id}: defined in two files (rule: ids are unique)")
            continue
        seen.add(r.id)
        unique.append(r)
    return unique, problems


def run_offline(
    rules: Sequence[Rule], readings: Iterable[Reading], *, is_emergency: bool = False
) -> list[Alert]:
    """The alerts (raises and clears) the rules give over the readings, in time order."""
    eng = Engine(list(rules))
    batch = list(readings)
    ctxs = [_Ctx(r.lon, r.lat, r.grid_code, None) for r in batch]

    def applies(rule: Rule, ctx: _Ctx) -> bool:
        return is_emergency == (rule.mode is RuleMode.EMERGENCY)

    out = run_batch(eng, batch, ctxs, applies, has_emergency=is_emergency)
    return sorted(out, key=lambda a: a.observed_at)


def read_readings(path: Path) -> list[Reading]:
    """Readings from a JSON file (a list, or ``{"readings": [...]}``) or JSON lines. Each item
    is ``{device_id, entity_type, observed_at, attrs, lon?, lat?}`` or a keyValues entity
    ``{id, type, observedAt, <attr>: value …, location?}``. ValueError names the bad item."""
    text = path.read_text(encoding="utf-8")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = data.get("readings", data.get("data", []))
    out: list[Reading] = []
    for i, item in enumerate(data):
        try:
            out.append(_reading(item))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"readings[{i}]: {exc}") from exc
    return out


def _reading(item: dict[str, Any]) -> Reading:
    if "attrs" in item:
        device, etype, at = item["device_id"], item["entity_type"], item["observed_at"]
        attrs = dict(item["attrs"])
        lon, lat = item.get("lon"), item.get("lat")
    else:
        device, etype = item["id"], item["type"]
        at = item.get("observedAt") or item["observed_at"]
        skip = {"id", "type", "observedAt", "observed_at", "location", "@context"}
        attrs = {k: v for k, v in item.items() if k not in skip}
        loc = item.get("location") or {}
        coords = loc.get("coordinates") if isinstance(loc, dict) else None
        lon, lat = (coords[0], coords[1]) if coords else (None, None)
    when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"observed_at {at!r} has no time zone")
    return Reading(
        device_id=str(device),
        entity_type=str(etype),
        observed_at=when,
        attrs=attrs,
        lon=float(lon) if lon is not None else None,
        lat=float(lat) if lat is not None else None,
        grid_code=item.get("grid_code"),
    )
