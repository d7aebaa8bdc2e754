"""Request and response bodies of the intake API (pydantic).

Text length is checked by the service against ``settings.max_text_length`` (a setting, so it
cannot be a fixed schema bound); the schema only caps it far above any setting one would use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    # Unknown fields are an error: a typo in a field name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReportCreate(_In):
    text: str = Field(max_length=100_000, examples=["张杨路1500号门口垃圾堆了三天没人清理"])
    channel: Literal["hotline", "web", "app"] | None = Field(
        default=None, description="default: hotline for operators, app for everyone else"
    )
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=32)


class ConfirmBody(_In):
    element_code: str | None = Field(
        default=None, max_length=16, description="when not the first suggestion"
    )
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    grid_code: str | None = Field(default=None, max_length=32)
    title: str | None = Field(default=None, max_length=200)


class RejectBody(_In):
    reason: str = Field(min_length=1, max_length=1000)


class Suggestion(BaseModel):
    element_code: str
    name: str
    confidence: float


class Location(BaseModel):
    lon: float | None = None
    lat: float | None = None
    grid_code: str
    precision: str
    confidence: float
    matched: str | None = None
    entry_id: int | None = None
    source: str


class Proposal(BaseModel):
    suggestions: list[Suggestion]
    model_version: str | None = None
    location: Location | None
    address: Location | None = None
    element_confidence: float
    location_confidence: float
    triage_reasons: list[str]
    problems: list[str]


class ReportRead(BaseModel):
    id: str
    channel: str
    text: str
    contact_name: str | None
    contact_phone: str | None
    reporter_id: str
    given_lon: float | None
    given_lat: float | None
    proposal: Proposal
    status: str
    case_id: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    photos: list[dict[str, Any]] | None = None  # sha256, content_type, size, filename each


class ConfirmRead(ReportRead):
    case: dict[str, Any] = Field(description="the filed case (as GET /api/v1/cases/{id})")


class ReportPage(BaseModel):
    items: list[ReportRead]
    total: int
    limit: int
    offset: int


class GeoRead(BaseModel):
    lon: float
    lat: float
    grid_code: str
    precision: str
    confidence: float
    matched: str
    entry_id: int | None
