"""ledger entries are append-only: triggers reject UPDATE and DELETE

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from civicloop.ledger.store import TRIGGERS_POSTGRESQL, TRIGGERS_SQLITE

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    statements = TRIGGERS_SQLITE if op.get_bind().dialect.name == "sqlite" else TRIGGERS_POSTGRESQL
    for sql in statements:
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update ON ledger_entries")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
