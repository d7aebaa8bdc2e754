"""A thin, fast path to the DB-API cursor for the loop's hot statements.

Every loop step is one transaction of half a dozen small statements. Through SQLAlchemy's
expression layer each statement costs more Python than SQLite needs to run it, so the hot path
writes plain SQL with ``:name`` parameters and runs it on the transaction's own DB-API cursor
(same connection, same transaction as any SQLAlchemy statement around it).

The two databases differ in three things this module hides:

* parameter style — sqlite3 takes ``:name``; psycopg takes ``%(name)s`` (converted once, cached);
* timestamps — SQLAlchemy stores SQLite DATETIME as naive UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``
  (we write and parse that exact form); PostgreSQL takes and returns aware datetimes;
* JSON — text on SQLite, ``jsonb`` via psycopg's adapter on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

_NAMED = re.compile(r"(?<![:\w]):(\w+)")
_PG_CACHE: dict[str, str] = {}


def _sql_for(dialect: str, sql: str) -> str:
    if dialect == "sqlite":
        return sql
    cached = _PG_CACHE.get(sql)
    if cached is None:
        cached = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        _PG_CACHE[sql] = cached
    return cached


_last_text: tuple[datetime, str] = (datetime.min.replace(tzinfo=UTC), "")


def sqlite_text(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DATETIME uses, in UTC.

    A transaction writes the same ``now`` five or six times (case, steps, notes, ledger), so
    the last conversion is remembered; f-string formatting is 4× faster than ``strftime``.
    """
    global _last_text
    last = _last_text
    if value == last[0] and value.tzinfo is not None:
        return last[1]
    d = value.astimezone(UTC)
    text = (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:"
        f"{d.second:02d}.{d.microsecond:06d}"
    )
    _last_text = (value, text)
    return text


class Raw:
    """Raw SQL inside an open SQLAlchemy transaction."""

    __slots__ = ("_cur", "dialect", "is_sqlite")

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        self._cur = conn.connection.cursor()

    # -- values in -------------------------------------------------------------------------

    def ts(self, value: datetime | None) -> Any:
        if value is None or not self.is_sqlite:
            return value
        return sqlite_text(value)

    def js(self, value: Any) -> Any:
        if value is None:
            return None
        if self.is_sqlite:
            return json.dumps(value, ensure_ascii=False)
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    # -- values out ------------------------------------------------------------------------

    def parse_ts(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.astimezone(UTC) if isinstance(value, datetime) else None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def parse_js(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    # -- statements ------------------------------------------------------------------------

    def run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        self._cur.execute(_sql_for(self.dialect, sql), params or {})
        return int(self._cur.rowcount)

    def one(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        self._cur.execute(_sql_for(self.dialect, sql), params or {})
        row = self._cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in self._cur.description], row, strict=True))

    def all(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self._cur.execute(_sql_for(self.dialect, sql), params or {})
        names = [d[0] for d in self._cur.description]
        return [dict(zip(names, r, strict=True)) for r in self._cur.fetchall()]

    def many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        self._cur.executemany(_sql_for(self.dialect, sql), list(rows))
