"""Open311 tables: what the Open311 channel knows about a request beyond the case itself.

``open311_requests`` has one row per accepted ``POST requests``: the token handed back, the case
it became (several rows may point at one case when the duplicate check attached a later report
to an open master case), and the Open311-only fields the case has no column for — e-mail,
device and account ids, the media URL, the attribute values. The reporter's e-mail stays here
and is never shown by a public view.

``open311_updates`` keeps updates clients post through the mySociety ``servicerequestupdates``
extension, with their sender's contact; the ledger entry of each (``open311.update_received``)
carries only the public part, and its sequence number is the update's ``update_id``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from civicloop.core.db import JSONType, UTCDateTime, metadata

open311_requests = Table(
    "open311_requests",
    metadata,
    Column("token", String(32), primary_key=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False, index=True),
    # the case number: the service_request_id clients see
    Column("service_request_id", String(32), nullable=False, index=True),
    Column("service_code", String(16), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("email", String(254), nullable=True),
    Column("device_id", String(128), nullable=True),
    Column("account_id", String(128), nullable=True),
    Column("media_url", String(500), nullable=True),
    Column("address_string", String(300), nullable=True),
    Column("attributes", JSONType, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
)

open311_updates = Table(
    "open311_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("ledger_seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("client_update_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("description", Text, nullable=False),
    Column("reporter_name", String(64), nullable=True),
    Column("email", String(254), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("media_url", String(500), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
Index("ix_open311_updates_case_id", open311_updates.c.case_id)
