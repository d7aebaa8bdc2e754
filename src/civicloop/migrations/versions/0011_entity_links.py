"""entity links, risk and credit scores

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import civicloop.core.db  # UTCDateTime, JSONType

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_links",
        sa.Column("record_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=120), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("attrs", civicloop.core.db.JSONType, nullable=True),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_key", name=op.f("pk_entity_links")),
    )
    op.create_index(
        op.f("ix_entity_links_credit_code"), "entity_links", ["credit_code"], unique=False
    )
    op.create_index(op.f("ix_entity_links_golden_id"), "entity_links", ["golden_id"], unique=False)
    op.create_table(
        "link_merges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("other_golden_id", sa.String(length=40), nullable=True),
        sa.Column("members", civicloop.core.db.JSONType, nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_merges")),
    )
    op.create_index(op.f("ix_link_merges_golden_id"), "link_merges", ["golden_id"], unique=False)
    op.create_table(
        "link_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("left_key", sa.String(length=160), nullable=False),
        sa.Column("right_key", sa.String(length=160), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("detail", civicloop.core.db.JSONType, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_reviews")),
        sa.UniqueConstraint("left_key", "right_key", name="uq_link_reviews_pair"),
    )
    op.create_index("ix_link_reviews_status", "link_reviews", ["status"], unique=False)
    op.create_table(
        "risk_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_risk_cursor")),
    )
    op.create_table(
        "risk_draws",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("street_code", sa.String(length=32), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("tilt", sa.Float(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_sha256", sa.String(length=64), nullable=False),
        sa.Column("picked", civicloop.core.db.JSONType, nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_draws")),
    )
    op.create_index(op.f("ix_risk_draws_street_code"), "risk_draws", ["street_code"], unique=False)
    op.create_table(
        "risk_facts",
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("indicator", sa.String(length=48), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", "indicator", name="pk_risk_facts"),
    )
    op.create_table(
        "risk_outcomes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("subjects", civicloop.core.db.JSONType, nullable=False),
        sa.Column("applied_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_outcomes")),
        sa.UniqueConstraint("ledger_seq", name="uq_risk_outcomes_ledger_seq"),
    )
    op.create_index(op.f("ix_risk_outcomes_case_id"), "risk_outcomes", ["case_id"], unique=False)
    op.create_table(
        "risk_score_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=2), nullable=True),
        sa.Column("previous_score", sa.Float(), nullable=True),
        sa.Column("previous_band", sa.String(length=16), nullable=True),
        sa.Column("previous_grade", sa.String(length=2), nullable=True),
        sa.Column("cause", civicloop.core.db.JSONType, nullable=False),
        sa.Column("explanation", civicloop.core.db.JSONType, nullable=False),
        sa.Column("at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_score_history")),
    )
    op.create_index(
        op.f("ix_risk_score_history_subject_id"), "risk_score_history", ["subject_id"], unique=False
    )
    op.create_table(
        "risk_scorecards",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("body", civicloop.core.db.JSONType, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", "version", name="pk_risk_scorecards"),
    )
    op.create_table(
        "risk_scores",
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("scorecard", sa.String(length=40), nullable=False),
        sa.Column("scorecard_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=2), nullable=True),
        sa.Column("explanation", civicloop.core.db.JSONType, nullable=False),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("street_code", sa.String(length=32), nullable=True),
        sa.Column("updated_at", civicloop.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", name="pk_risk_scores"),
    )
    op.create_index(op.f("ix_risk_scores_grid_code"), "risk_scores", ["grid_code"], unique=False)
    op.create_index(
        op.f("ix_risk_scores_street_code"), "risk_scores", ["street_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_scores_street_code"), table_name="risk_scores")
    op.drop_index(op.f("ix_risk_scores_grid_code"), table_name="risk_scores")
    op.drop_table("risk_scores")
    op.drop_table("risk_scorecards")
    op.drop_index(op.f("ix_risk_score_history_subject_id"), table_name="risk_score_history")
    op.drop_table("risk_score_history")
    op.drop_index(op.f("ix_risk_outcomes_case_id"), table_name="risk_outcomes")
    op.drop_table("risk_outcomes")
    op.drop_table("risk_facts")
    op.drop_index(op.f("ix_risk_draws_street_code"), table_name="risk_draws")
    op.drop_table("risk_draws")
    op.drop_table("risk_cursor")
    op.drop_index("ix_link_reviews_status", table_name="link_reviews")
    op.drop_table("link_reviews")
    op.drop_index(op.f("ix_link_merges_golden_id"), table_name="link_merges")
    op.drop_table("link_merges")
    op.drop_index(op.f("ix_entity_links_golden_id"), table_name="entity_links")
    op.drop_index(op.f("ix_entity_links_credit_code"), table_name="entity_links")
    op.drop_table("entity_links")
