"""Downsampling: raw readings → one aggregate per device × attribute × hour.

Raw readings are kept for a number of days (``CIVICLOOP_READINGS_RAW_DAYS``); compaction then
folds them into hourly aggregates (count, min, max, sum → avg, last) and deletes them, so the
table of a city's sensors stops growing while trends stay answerable. The same arithmetic
answers ``agg=hour`` queries over recent raw readings, and merges an hour that compaction met
in two chunks — aggregates are merged, never recomputed from data that is gone.

Pure: no database here (``store.upsert_hourly`` does the same merge in SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

AggKey = tuple[str, str, datetime]  # device, attribute, hour start (UTC)


@dataclass(slots=True)
class Aggregate:
    """One device × attribute × hour. Numbers feed min/max/sum; any value can be ``last``."""

    count: int = 0
    numeric_count: int = 0
    min: float | None = None
    max: float | None = None
    sum: float | None = None
    last: Any = None
    last_at: datetime | None = None

    def add(self, value: Any, at: datetime) -> None:
        self.count += 1
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = float(value)
            self.numeric_count += 1
            self.min = v if self.min is None or v < self.min else self.min
            self.max = v if self.max is None or v > self.max else self.max
            self.sum = v if self.sum is None else self.sum + v
        if self.last_at is None or at >= self.last_at:
            self.last, self.last_at = value, at

    def merge(self, other: Aggregate) -> Aggregate:
        """This hour's aggregate and another part of the same hour, combined."""
        out = Aggregate(
            self.count + other.count,
            self.numeric_count + other.numeric_count,
            _pick(min, self.min, other.min),
            _pick(max, self.max, other.max),
            _pick(lambda a, b: a + b, self.sum, other.sum),
        )
        newer = (
            other
            if self.last_at is None or (other.last_at is not None and other.last_at >= self.last_at)
            else self
        )
        out.last, out.last_at = newer.last, newer.last_at
        return out

    @property
    def avg(self) -> float | None:
        return (
            self.sum / self.numeric_count if self.numeric_count and self.sum is not None else None
        )

    def public(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "avg": self.avg,
            "last": self.last,
            "last_at": self.last_at,
        }

    @classmethod
    def from_row(cls, m: Mapping[Any, Any], last_at: datetime) -> Aggregate:
        # Read through the table's JSON type: ``last`` arrives decoded on both databases.
        return cls(
            int(m["count"]),
            int(m["numeric_count"]),
            m["min"],
            m["max"],
            m["sum"],
            m["last"],
            last_at,
        )


def _pick(fn: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def aggregate_rows(rows: Iterable[tuple[str, datetime, Any]]) -> dict[AggKey, Aggregate]:
    """(device, observed_at, attrs) rows → aggregates per device × attribute × hour."""
    out: dict[AggKey, Aggregate] = {}
    for device_id, at, attrs in rows:
        values = orjson.loads(attrs) if isinstance(attrs, (str, bytes)) else attrs
        hour = hour_of(at)
        for name, value in values.items():
            key = (device_id, name, hour)
            agg = out.get(key)
            if agg is None:
                agg = out[key] = Aggregate()
            agg.add(value, at)
    return out


def hourly_rows(
    aggregates: Mapping[AggKey, Aggregate], ts: Callable[[datetime], Any]
) -> list[dict[str, Any]]:
    """Aggregates as parameter rows for ``store.upsert_hourly`` (``ts`` formats times)."""
    return [
        {
            "device_id": device_id,
            "attr": name[:64],
            "hour_start": ts(hour),
            "count": a.count,
            "min": a.min,
            "max": a.max,
            "sum": a.sum,
            "numeric_count": a.numeric_count,
            "last": orjson.dumps(a.last).decode(),
            "last_at": ts(a.last_at or hour),
        }
        for (device_id, name, hour), a in aggregates.items()
    ]
