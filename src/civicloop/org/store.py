"""Organisation tables: regions, departments, users, tokens, API keys, responsibility matrix."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from civicloop.core.db import JSONType, UTCDateTime, metadata

regions = Table(
    "regions",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("level", String(16), nullable=False),
    Column("parent_code", String(32), ForeignKey("regions.code"), nullable=True, index=True),
    Column("path", String(160), nullable=False, index=True),
    Column("geometry", JSONType, nullable=True),
    Column("centroid_lon", Float, nullable=True),
    Column("centroid_lat", Float, nullable=True),
    Column("area_m2", Float, nullable=True),
)
Index("ix_regions_level_code", regions.c.level, regions.c.code)

departments = Table(
    "departments",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("name_en", String(128), nullable=False, default=""),
    Column("kind", String(32), nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=True, index=True),
)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("region_code", String(32), ForeignKey("regions.code"), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

user_departments = Table(
    "user_departments",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
    Column("department_code", String(64), ForeignKey("departments.code"), primary_key=True),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("department_code", String(64), ForeignKey("departments.code"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

responsibilities = Table(
    "responsibilities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("element_code", String(16), nullable=False, index=True),
    Column("region_path", String(160), nullable=False, default=""),
    Column("lead", String(64), nullable=False),
    Column("assists", JSONType, nullable=False),
    Column("loop_level", String(16), nullable=False),
    UniqueConstraint("element_code", "region_path"),
)
