"""Tables of the enterprise context: enterprises and which users act for them.

An enterprise is identified by its unified social credit code (checked per GB 32100 before
it is stored). An enterprise user belongs to exactly one enterprise (``enterprise_users``
has the user as its key); several users may act for one enterprise.

Demands are not a table of their own: a demand *is* a case (channel ``enterprise``) reported
by a user bound to the enterprise, so it is routed, timed and followed by the one loop, and
filing it is one transaction.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from civicloop.core.db import UTCDateTime, metadata

enterprises = Table(
    "enterprises",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_representative", String(64), nullable=True),
    Column("industry", String(64), nullable=True),
    Column("address", String(300), nullable=True),
    Column("grid_code", String(32), ForeignKey("regions.code"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

enterprise_users = Table(
    "enterprise_users",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
    Column(
        "credit_code",
        String(18),
        ForeignKey("enterprises.credit_code"),
        nullable=False,
        index=True,
    ),
    Column("bound_at", UTCDateTime(), nullable=False),
)
