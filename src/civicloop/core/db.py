"""The database: one engine per platform, SQLite by default, PostgreSQL in production.

SQLite is run the way Datasette and Prefect run it:

* ``journal_mode=WAL`` so readers never block the writer and the writer never blocks readers;
* ``foreign_keys=ON`` because SQLite leaves them off by default;
* ``busy_timeout`` so a second process waits for the write lock instead of failing at once;
* ``synchronous`` from settings (NORMAL survives application crashes, FULL also power loss);
* every write transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock at the start,
  so two writers never both read and then fail to upgrade (SQLITE_BUSY mid-transaction), and
  inside one process writes queue on a lock — the "one writer path".

PostgreSQL uses plain transactions; places that need serialisation (the ledger head, the SLA
sweeper) lock rows with ``FOR UPDATE`` / ``FOR UPDATE SKIP LOCKED``.

Tables are SQLAlchemy Core tables on one :data:`metadata`; each context's ``store.py`` defines
its own. Schema changes go through Alembic (``civicloop/migrations``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import TypeDecorator

from civicloop.core.errors import ConflictError, UnavailableError
from civicloop.core.settings import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# JSON everywhere, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on both databases.

    SQLite has no time zone type: values are stored as naive UTC and come back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """An engine plus the write path. Services get one of these, never a global."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.resolved_database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.RLock()
        self._writer: Connection | None = None
        if self.is_sqlite:
            path = self.url.removeprefix("sqlite:///")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=8,
                max_overflow=8,
            )
            self._configure_sqlite(self.engine, settings.sqlite_synchronous)
            self._stop_checkpoints = threading.Event()
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="wal-checkpoint", daemon=True
            )
            self._checkpointer.start()
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=10, pool_pre_ping=True)

    def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database every second (PASSIVE: never blocks anyone).

        Every ten minutes (and first after a minute) it also refreshes the query planner's
        statistics (``PRAGMA optimize`` with a bounded ``analysis_limit``): without them SQLite
        guesses, e.g. scans every open case by status for a nearby search instead of ranging
        over the latitude index.
        """
        ticks = 540
        while not self._stop_checkpoints.wait(1.0):
            ticks += 1
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                    if ticks >= 600:
                        ticks = 0
                        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
                        conn.exec_driver_sql("PRAGMA optimize=0x10002")
                        conn.commit()
            except Exception:  # a missed checkpoint is retried next second; never fatal
                continue

    @staticmethod
    def _configure_sqlite(engine: Engine, synchronous: str) -> None:
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(
                f"CIVICLOOP_SQLITE_SYNCHRONOUS must be NORMAL or FULL, not {synchronous!r}"
            )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            # Checkpoints run on a background thread (Database._checkpointer), off the writer's
            # path: run inline they cost a writer up to ~100 ms every few thousand commits. The
            # automatic checkpoint stays as a backstop at ~400 MB of WAL.
            cur.execute("PRAGMA wal_autocheckpoint=100000")
            # A 64 MB page cache and memory-mapped reads keep hot index pages out of syscalls.
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=268435456")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.info.get("manual_tx"):
                return  # the writer connection begins its own transactions
            conn.exec_driver_sql("BEGIN")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error.

        Storage errors leave as platform errors (``IntegrityError`` → conflict, a lock that
        never came → unavailable), so the API never shows a driver's stack trace.
        """
        if self.is_sqlite:
            with self._write_lock, self._sqlite_write() as conn:
                yield conn
            return
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except IntegrityError as exc:
            raise _conflict(exc) from exc
        except OperationalError as exc:
            if "could not serialize" in str(exc.orig) or "deadlock" in str(exc.orig):
                raise UnavailableError("the database is busy, try again") from exc
            raise

    @contextmanager
    def _sqlite_write(self) -> Iterator[Connection]:
        """The single writer path on SQLite: one long-lived connection, ``BEGIN IMMEDIATE``.

        Keeping the writer connection (instead of a pool checkout per write) and issuing
        BEGIN/COMMIT on its cursor removes most of the per-transaction overhead; SQLAlchemy
        runs in autocommit mode on it, so statements inside join our transaction.
        """
        conn = self._writer
        if conn is None or conn.closed:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.info["manual_tx"] = True
            self._writer = conn
        cur = conn.connection.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise UnavailableError("the database is busy, try again") from exc
        try:
            yield conn
            cur.execute("COMMIT")
        except BaseException as exc:
            # What services remembered about committed state (the ledger's tail) is void.
            conn.info.pop("tx_memo", None)
            # SQLite may already have rolled back (e.g. after a constraint error on COMMIT)
            with contextlib.suppress(sqlite3.OperationalError):
                cur.execute("ROLLBACK")
            if isinstance(exc, IntegrityError):
                raise _conflict(exc) from exc
            if isinstance(exc, sqlite3.IntegrityError):
                raise ConflictError(
                    "the change conflicts with stored data",
                    code="storage.conflict",
                    detail=str(exc),
                ) from exc
            if isinstance(exc, (OperationalError, sqlite3.OperationalError)) and "locked" in str(
                exc
            ):
                raise UnavailableError("the database is busy, try again") from exc
            raise
        finally:
            cur.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only snapshot (a deferred transaction on SQLite: it never takes the write lock)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        if self.is_sqlite:
            self._stop_checkpoints.set()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()


def _conflict(exc: IntegrityError) -> ConflictError:
    return ConflictError(
        "the change conflicts with stored data",
        code="storage.conflict",
        detail=str(exc.orig).splitlines()[0],
    )


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent: safe on every start)."""
    from alembic import command
    from alembic.config import Config

    here = Path(__file__).resolve().parent.parent / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
