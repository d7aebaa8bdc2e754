"""Tables of the discovery context's ingestion side, and the statements its hot path runs.

- ``devices``: the registry — what each sensor or meter is, where it stands (and on which grid),
  who owns it, how often it should report, and free attributes (room, plate, permit).
- ``readings``: raw observations, one row per entity per ``observedAt`` with all its attributes
  as JSON. ``(device_id, observed_at)`` is unique: a redelivered notification, a replayed file
  or a second gateway sending the same observation is stored once (``ON CONFLICT DO NOTHING``).
- ``readings_hourly``: per device × attribute × hour, count/min/max/sum/last, written by
  compaction when raw rows pass the retention age (DESIGN §5: raw readings do not grow forever).
- ``readings_quarantine``: observations from devices nobody registered. Kept, not dropped, and
  replayed through the pipeline once the device is registered.

Batches go through one ``executemany`` of plain SQL on the transaction's DB-API cursor
(``core.rawsql``): the expression layer would cost more per row than SQLite spends storing it.
Rules and alerts have their own tables (``alert_store``, Helper 2's part).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata
from civicloop.core.rawsql import Raw

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for readings.
_RowId = BigInteger().with_variant(Integer(), "sqlite")

devices = Table(
    "devices",
    metadata,
    Column("device_id", String(200), primary_key=True),
    Column("entity_type", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("grid_code", String(32), nullable=True, index=True),
    Column("owner_department", String(32), nullable=True),
    Column("report_interval_s", Integer, nullable=True),
    Column("attrs", JSONType, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

readings = Table(
    "readings",
    metadata,
    Column("id", _RowId, primary_key=True, autoincrement=True),
    Column("device_id", String(200), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("attrs", JSONType, nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("grid_code", String(32), nullable=True),
    Column("notification_id", String(200), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    UniqueConstraint("device_id", "observed_at"),
    Index("ix_readings_observed_at", "observed_at"),
)

readings_hourly = Table(
    "readings_hourly",
    metadata,
    Column("device_id", String(200), primary_key=True),
    Column("attr", String(64), primary_key=True),
    Column("hour_start", UTCDateTime(), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("min", Float, nullable=True),
    Column("max", Float, nullable=True),
    Column("sum", Float, nullable=True),
    Column("numeric_count", Integer, nullable=False),
    Column("last", JSONType, nullable=True),
    Column("last_at", UTCDateTime(), nullable=False),
)

readings_quarantine = Table(
    "readings_quarantine",
    metadata,
    Column("id", _RowId, primary_key=True, autoincrement=True),
    Column("device_id", String(200), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("observed_at", UTCDateTime(), nullable=False),
    Column("attrs", JSONType, nullable=False),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("notification_id", String(200), nullable=True),
    Column("reason", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("reprocessed_at", UTCDateTime(), nullable=True),
    UniqueConstraint("device_id", "observed_at"),
)

READING_COLUMNS = (
    "device_id",
    "entity_type",
    "observed_at",
    "attrs",
    "lat",
    "lon",
    "grid_code",
    "notification_id",
    "received_at",
)


def insert_readings(raw: Raw, rows: Sequence[tuple[Any, ...]]) -> int:
    """Store readings given as tuples in ``READING_COLUMNS`` order (``attrs`` already JSON
    text); returns how many were new. Positional parameters: on a thousand rows a batch,
    tuples cost the driver less than dicts."""
    if not rows:
        return 0
    mark = "?" if raw.is_sqlite else "%s"
    marks = [mark] * len(READING_COLUMNS)
    if not raw.is_sqlite:
        marks[READING_COLUMNS.index("attrs")] = "CAST(%s AS JSONB)"
    sql = (
        f"INSERT INTO readings ({', '.join(READING_COLUMNS)}) VALUES ({', '.join(marks)}) "
        "ON CONFLICT (device_id, observed_at) DO NOTHING"
    )
    cur = raw._cur
    cur.executemany(sql, rows)
    return int(cur.rowcount)


def insert_quarantine(raw: Raw, rows: Sequence[Mapping[str, Any]]) -> int:
    """Quarantine readings of unknown devices; returns how many were new."""
    if not rows:
        return 0
    attrs = ":attrs" if raw.is_sqlite else "CAST(:attrs AS JSONB)"
    sql = (
        "INSERT INTO readings_quarantine (device_id, entity_type, observed_at, attrs, lat, lon, "
        "notification_id, reason, received_at) VALUES (:device_id, :entity_type, :observed_at, "
        f"{attrs}, :lat, :lon, :notification_id, :reason, :received_at) "
        "ON CONFLICT (device_id, observed_at) DO NOTHING"
    )
    return _executemany_count(raw, sql, rows)


def _executemany_count(raw: Raw, sql: str, rows: Sequence[Mapping[str, Any]]) -> int:
    raw.many(sql, rows)
    # Both drivers sum the batch's row counts after executemany; a conflict that did nothing
    # counts 0, so this is exactly "new rows".
    return int(raw._cur.rowcount)


def device_rows(raw: Raw, ids: Iterable[str]) -> list[dict[str, Any]]:
    """Registry rows for the given ids (unknown ids are simply absent)."""
    wanted = list(dict.fromkeys(ids))
    out: list[dict[str, Any]] = []
    for lo in range(0, len(wanted), 500):
        chunk = wanted[lo : lo + 500]
        marks = ", ".join(f":d{i}" for i in range(len(chunk)))
        out += raw.all(
            "SELECT device_id, entity_type, lat, lon, grid_code, owner_department, "
            f"report_interval_s, attrs FROM devices WHERE device_id IN ({marks})",
            {f"d{i}": d for i, d in enumerate(chunk)},
        )
    return out


def upsert_hourly(raw: Raw, rows: Sequence[Mapping[str, Any]]) -> None:
    """Merge hourly aggregates into ``readings_hourly`` (compaction may meet an hour twice)."""
    if not rows:
        return
    low, high = ("min", "max") if raw.is_sqlite else ("LEAST", "GREATEST")
    last = ":last" if raw.is_sqlite else "CAST(:last AS JSONB)"
    h = "readings_hourly"
    raw.many(
        f"INSERT INTO {h} (device_id, attr, hour_start, count, min, max, sum, numeric_count, "
        f"last, last_at) VALUES (:device_id, :attr, :hour_start, :count, :min, :max, :sum, "
        f":numeric_count, {last}, :last_at) ON CONFLICT (device_id, attr, hour_start) DO UPDATE "
        f"SET count = {h}.count + excluded.count, "
        f"min = COALESCE({low}({h}.min, excluded.min), {h}.min, excluded.min), "
        f"max = COALESCE({high}({h}.max, excluded.max), {h}.max, excluded.max), "
        f"sum = COALESCE({h}.sum, 0) + COALESCE(excluded.sum, 0), "
        f"numeric_count = {h}.numeric_count + excluded.numeric_count, "
        f"last = CASE WHEN excluded.last_at >= {h}.last_at THEN excluded.last ELSE {h}.last END, "
        f"last_at = CASE WHEN excluded.last_at >= {h}.last_at THEN excluded.last_at "
        f"ELSE {h}.last_at END",
        rows,
    )


def old_readings(raw: Raw, before: datetime, limit: int) -> list[dict[str, Any]]:
    """The oldest raw readings observed before ``before`` (compaction's next chunk)."""
    return raw.all(
        "SELECT id, device_id, observed_at, attrs FROM readings WHERE observed_at < :before "
        "ORDER BY observed_at, id LIMIT :limit",
        {"before": raw.ts(before), "limit": limit},
    )


def delete_readings(raw: Raw, ids: Sequence[int]) -> None:
    raw.many("DELETE FROM readings WHERE id = :id", [{"id": i} for i in ids])
