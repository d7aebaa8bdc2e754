"""Request and response bodies of the organisation API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloop.org.model import LoopLevel


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # No control characters: PostgreSQL text cannot hold NUL, so one would fail the lookup
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    password: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00]+$")


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class MeRead(BaseModel):
    id: str
    name: str
    role: str
    region_path: str
    department_ids: list[str]


class RegionRead(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    path: str
    centroid: tuple[float, float] | None
    geometry: dict[str, Any] | None = None


class DepartmentRead(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    region_code: str | None


class ResponsibilityBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    element_code: str = Field(min_length=1, max_length=16)
    region_path: str = Field(default="", max_length=160, pattern=r"^(/[0-9]+)*/?$")
    lead: str = Field(min_length=1, max_length=64)
    assists: list[str] = Field(default_factory=list, max_length=20)
    loop_level: LoopLevel
