"""evaluation: monthly rollups beside the daily ones (region, department, element by month)

Revision ID: 0015
Revises: 0014

A month's dashboard (every street, every department, every element of October) summed ~1/30 of
the rows from these. Their ``day`` column holds the month's first day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
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
GRAINS = {
    "region_month": ("day", "street_code", "community_code"),
    "department_month": ("day", "street_code", "department_code"),
    "element_month": ("day", "element_code", "channel"),
}
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for name, dims in GRAINS.items():
        op.create_table(
            f"kpi_rollup_{name}",
            *[sa.Column(d, sa.String(length=64), nullable=False) for d in dims],
            *[sa.Column(c, BIG, nullable=False) for c in COUNTERS],
            sa.PrimaryKeyConstraint(*dims, name=f"pk_kpi_rollup_{name}"),
            sqlite_with_rowid=False,
        )
    # Existing daily rollups fold into months at once (a deployment keeps its history).
    counters = ", ".join(COUNTERS)
    sums = ", ".join(f"SUM({c})" for c in COUNTERS)
    for name, dims in GRAINS.items():
        rest = ", ".join(dims[1:])
        daily = name.removesuffix("_month")
        op.execute(
            f"INSERT INTO kpi_rollup_{name} (day, {rest}, {counters})"
            f" SELECT substr(day, 1, 8) || '01', {rest}, {sums} FROM kpi_rollup_{daily}"
            f" GROUP BY substr(day, 1, 8) || '01', {rest}"
        )


def downgrade() -> None:
    for name in reversed(list(GRAINS)):
        op.drop_table(f"kpi_rollup_{name}")
