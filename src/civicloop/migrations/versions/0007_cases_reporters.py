"""more reporters on one case (duplicates merged into a master case); spatial-ish indexes

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civicloop.core.db import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_reporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("reporter_id", sa.String(length=64), nullable=True),
        sa.Column("reporter_name", sa.String(length=64), nullable=True),
        sa.Column("reporter_phone", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("tracking_code", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("attached_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_reporters_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_reporters")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_case_reporters_tracking_code")),
    )
    op.create_index(op.f("ix_case_reporters_case_id"), "case_reporters", ["case_id"])
    op.create_index(op.f("ix_case_reporters_reporter_id"), "case_reporters", ["reporter_id"])
    # the duplicate check and the nearby search range over latitude (see cases/store.py)
    op.drop_index("ix_cases_element_code", table_name="cases")
    op.create_index("ix_cases_element_code_lat", "cases", ["element_code", "lat"])
    op.create_index("ix_cases_lat", "cases", ["lat"])


def downgrade() -> None:
    op.drop_index("ix_cases_lat", table_name="cases")
    op.drop_index("ix_cases_element_code_lat", table_name="cases")
    op.create_index("ix_cases_element_code", "cases", ["element_code"])
    op.drop_index(op.f("ix_case_reporters_reporter_id"), table_name="case_reporters")
    op.drop_index(op.f("ix_case_reporters_case_id"), table_name="case_reporters")
    op.drop_table("case_reporters")
