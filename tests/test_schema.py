"""The migrations and the table definitions describe the same schema.

Every context writes its own Alembic revision by hand; this test upgrades an empty database to
head and asks Alembic's autogenerate comparison for any difference from ``metadata`` — a
table, column, index or constraint that one side has and the other lacks fails the build.
"""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civicloop.core.db import Database, migrate
from civicloop.core.settings import Settings
from civicloop.schema import metadata


def test_migrations_match_the_table_definitions(tmp_path: Path) -> None:
    db = Database(Settings.from_env(data_dir=tmp_path, database_url=""))
    try:
        migrate(db)
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.dispose()
    assert diff == [], f"migrations and metadata differ: {diff}"
