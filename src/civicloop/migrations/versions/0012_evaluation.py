"""evaluation: KPI case facts, rollups at four grains, the ledger cursor, supervisors' reviews

Revision ID: 0012
Revises: 0011

The counter columns are listed here as they were at this revision (not imported from the
model), so a later counter is a later migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicloop.core.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COUNTERS = (
    "cases", "valid", "voided", "merged", "accepted", "accepted_on_time", "filed",
    "filed_on_time", "to_close", "dispatched", "dispatched_on_time", "returned", "disposed",
    "disposed_on_time", "closed", "closed_on_time", "reworked", "verify_due", "verified_on_time",
    "extended", "rated", "satisfied", "proactive", "citizen", "missed", "repeated",
    "accept_s", "accept_n", "check_s", "check_n", "file_s", "file_n", "dispatch_s", "dispatch_n",
    "sign_s", "sign_n", "handle_s", "handle_n", "verify_s", "verify_n", "close_s", "close_n",
)  # fmt: skip
FACT_DIMS = (
    ("day", 10),
    ("street_code", 32),
    ("community_code", 32),
    ("department_code", 64),
    ("element_code", 16),
    ("channel", 16),
)
PEOPLE = ("accept_by", "file_by", "dispatch_by", "verify_by", "patrol_by")
GRAINS = {
    "cell": ("day", "street_code", "community_code", "department_code", "element_code", "channel"),
    "region": ("day", "street_code", "community_code"),
    "department": ("day", "street_code", "department_code"),
    "element": ("day", "element_code", "channel"),
}
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _counters() -> list[sa.Column]:
    return [sa.Column(c, BIG, nullable=False) for c in COUNTERS]


def upgrade() -> None:
    # clustered by the rollup cell on SQLite (see evaluation/store.py)
    op.create_table(
        "kpi_case_facts",
        *[sa.Column(d, sa.String(length=n), nullable=False) for d, n in FACT_DIMS],
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=False),
        *[sa.Column(p, sa.String(length=64), nullable=True) for p in PEOPLE],
        *_counters(),
        sa.PrimaryKeyConstraint(*[d for d, _ in FACT_DIMS], "case_id", name="pk_kpi_case_facts"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_kpi_case_facts_case_id", "kpi_case_facts", ["case_id"], unique=True)
    op.create_index("ix_kpi_case_facts_grid_code_day", "kpi_case_facts", ["grid_code", "day"])
    for name, dims in GRAINS.items():
        op.create_table(
            f"kpi_rollup_{name}",
            *[sa.Column(d, sa.String(length=64), nullable=False) for d in dims],
            *_counters(),
            sa.PrimaryKeyConstraint(*dims, name=f"pk_kpi_rollup_{name}"),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "kpi_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", BIG, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kpi_cursor")),
    )
    op.create_table(
        "kpi_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_reviews")),
    )
    op.create_index("ix_kpi_reviews_period_level", "kpi_reviews", ["period", "level"])


def downgrade() -> None:
    op.drop_index("ix_kpi_reviews_period_level", table_name="kpi_reviews")
    op.drop_table("kpi_reviews")
    op.drop_table("kpi_cursor")
    for name in reversed(list(GRAINS)):
        op.drop_table(f"kpi_rollup_{name}")
    op.drop_index("ix_kpi_case_facts_grid_code_day", table_name="kpi_case_facts")
    op.drop_index("ix_kpi_case_facts_case_id", table_name="kpi_case_facts")
    op.drop_table("kpi_case_facts")
