"""Tables of entity resolution: which records are one object, the review queue, merge history.

* ``entity_links`` — one row per source record (``source:record_id``) saying which real-world
  object (``golden_id``) it belongs to, how it got there (exact key, probabilistic, manual) and
  with what probability. A record in no cluster with others still has a row: its own golden id.
* ``link_reviews`` — uncertain pairs (between the low and high thresholds) waiting for a person;
  a rejected pair is remembered so the next run neither links nor queues it again.
* ``link_merges`` — every merge and unmerge with the members before and after, so an unmerge
  can restore what a merge joined (and the ledger has the same facts).

Golden ids are stable: a re-run keeps the golden id a cluster already had (the oldest one when
two clusters join), so profiles and risk scores keyed by it survive re-linking.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata

entity_links = Table(
    "entity_links",
    metadata,
    Column("record_key", String(160), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("record_id", String(120), nullable=False),
    Column("golden_id", String(40), nullable=False, index=True),
    Column(
        "method", String(24), nullable=False
    ),  # own | exact_credit_code | probabilistic | manual
    Column("probability", Float, nullable=False),
    Column("label", String(200), nullable=True),  # the record's name, for reviewers
    Column("credit_code", String(18), nullable=True, index=True),
    Column("attrs", JSONType, nullable=True),  # what linkage compares, for re-runs and review
    Column("updated_at", UTCDateTime(), nullable=False),
)

link_reviews = Table(
    "link_reviews",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("left_key", String(160), nullable=False),
    Column("right_key", String(160), nullable=False),
    Column("probability", Float, nullable=False),
    Column("detail", JSONType, nullable=True),
    Column("status", String(16), nullable=False),  # pending | accepted | rejected
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("note", Text, nullable=True),
    UniqueConstraint("left_key", "right_key", name="uq_link_reviews_pair"),
    Index("ix_link_reviews_status", "status"),
)

link_merges = Table(
    "link_merges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(16), nullable=False),  # merged | unmerged
    Column("golden_id", String(40), nullable=False, index=True),
    Column("other_golden_id", String(40), nullable=True),
    Column("members", JSONType, nullable=False),  # record keys moved
    Column("actor_id", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)
