"""Shared fixtures: a seeded small district per test, on SQLite or PostgreSQL.

Seeding a district takes a moment, so it is done once per session into a *template* — a SQLite
file, or a PostgreSQL database — and each test gets a fresh copy (a file copy, or
``CREATE DATABASE … TEMPLATE``). Tests are isolated without sharing state or rolling back.

Set ``CIVICLOOP_TEST_DATABASE_URL=postgresql+psycopg://…/postgres`` to run the storage, service
and API tests on PostgreSQL (CI does).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from civicloop.app import create_app
from civicloop.core.clock import FrozenClock
from civicloop.core.settings import Settings
from civicloop.runtime import Platform

PG_URL = os.environ.get("CIVICLOOP_TEST_DATABASE_URL", "")
# Wednesday 2026-11-25 10:00 in Shanghai: inside working hours, so deadlines are easy to read.
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SMALL = {"grids": 240, "communities": 72, "seed": 7}


def _seed(p: Platform) -> None:
    from civicloop.demo.generator import DEMO_PASSWORD, generate_district
    from civicloop.org import service as org

    bureaus = [(d.code, d.name, d.name_en, d.kind) for d in p.catalogue.departments.values()]
    plan = generate_district(
        seed=SMALL["seed"],
        grids=SMALL["grids"],
        communities=SMALL["communities"],
        bureau_departments=bureaus,
    )
    org.seed_district(p, plan, password=DEMO_PASSWORD)


def _admin_engine(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The seeded template: a SQLite file path or a PostgreSQL database name."""
    if PG_URL:
        name = f"civicloop_tpl_{uuid.uuid4().hex[:8]}"
        admin = _admin_engine(PG_URL)
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        p = Platform.open(
            Settings(data_dir=tmp_path_factory.mktemp("tpl"), database_url=url),
            clock=FrozenClock(T0),
        )
        _seed(p)
        p.close()
        yield name
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        folder = tmp_path_factory.mktemp("tpl")
        p = Platform.open(Settings(data_dir=folder), clock=FrozenClock(T0))
        _seed(p)
        with p.db.write() as conn:
            conn.exec_driver_sql("SELECT 1")
        p.db.engine.dispose()
        # fold the WAL into the main file so one file copy is a whole database
        import sqlite3

        con = sqlite3.connect(folder / "civicloop.db")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        yield str(folder / "civicloop.db")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(template: str, data_dir: Path) -> Iterator[Settings]:
    data_dir.mkdir(parents=True, exist_ok=True)
    if PG_URL:
        name = f"civicloop_t_{uuid.uuid4().hex[:10]}"
        admin = _admin_engine(PG_URL)
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        yield Settings(data_dir=data_dir, database_url=url, sweep_interval_seconds=0)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        shutil.copy(template, data_dir / "civicloop.db")
        yield Settings(data_dir=data_dir, sweep_interval_seconds=0)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def platform(settings: Settings, clock: FrozenClock) -> Iterator[Platform]:
    p = Platform.open(settings, clock=clock)
    yield p
    p.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        yield c
