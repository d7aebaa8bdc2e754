"""Request and response bodies of the case API (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from civicloop.cases.model import Channel, ClosureType
from civicloop.org.model import LoopLevel


class _In(BaseModel):
    # Unknown fields are an error: a typo in a field name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseCreate(_In):
    element_code: str = Field(min_length=1, max_length=16, examples=["E0101"])
    description: str = Field(min_length=1, max_length=5000)
    title: str = Field(default="", max_length=200)
    channel: Channel = Channel.WEB
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    grid_code: str | None = Field(default=None, max_length=32)
    address: str | None = Field(default=None, max_length=300)
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_phone: str | None = Field(default=None, pattern=r"^\+?[0-9\- ]{5,20}$")


class Versioned(_In):
    expected_version: int | None = Field(
        default=None, ge=1, description="optimistic concurrency: the version you saw"
    )


class ReasonBody(Versioned):
    reason: str = Field(min_length=1, max_length=2000)


class CheckBody(Versioned):
    is_valid: bool
    note: str = Field(default="", max_length=2000)


class FileBody(Versioned):
    filing_condition: str | None = Field(default=None, max_length=32)


class DispatchBody(Versioned):
    lead: str | None = Field(default=None, max_length=64)
    assists: list[str] | None = Field(default=None, max_length=20)
    loop_level: LoopLevel | None = None


class NoteBody(Versioned):
    text: str = Field(min_length=1, max_length=2000)


class ExtensionBody(Versioned):
    reason: str = Field(min_length=1, max_length=2000)
    hours: float = Field(gt=0, le=720)


class ExtensionDecision(Versioned):
    approve: bool
    note: str = Field(default="", max_length=500)


class VerifyBody(Versioned):
    passed: bool
    note: str = Field(default="", max_length=2000)


class CloseBody(Versioned):
    closure_type: ClosureType | None = None
    reason: str = Field(default="", max_length=2000)


class FollowUpBody(Versioned):
    satisfaction: str = Field(pattern="^(satisfied|basically_satisfied|unsatisfied)$")
    comment: str = Field(default="", max_length=2000)


class MergeBody(Versioned):
    master_id: str = Field(min_length=1, max_length=32)


class SuperviseBody(Versioned):
    reason: str = Field(min_length=1, max_length=2000)
    hours: float = Field(default=24, gt=0, le=720)


class CaseRead(BaseModel):
    id: str
    number: str
    tracking_code: str | None
    element_code: str
    scene_code: str
    title: str
    description: str
    channel: str
    status: str
    loop_level: str
    is_urgent: bool
    is_overdue: bool
    priority: str = "normal"  # "high" when risk raised it (priority_reason says which subject)
    priority_reason: str | None = None
    filing_condition: str | None
    closure_type: str | None
    grid_code: str
    street_code: str
    lon: float | None
    lat: float | None
    address: str | None
    reporter_name: str | None
    reporter_phone: str | None
    lead_department: str | None
    assignments: dict[str, str] = {}
    master_case_id: str | None
    rework_count: int
    return_count: int
    reopen_count: int
    extension_count: int
    verification_passed: bool | None
    satisfaction: str | None
    handle_due_at: datetime | None
    reported_at: datetime
    filed_at: datetime | None
    dispatched_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    version: int
    # Filing answers only: the master case a certain duplicate was attached to, and the open
    # cases an uncertain one may duplicate (for the operator to merge).
    duplicate_of: str | None = None
    duplicate_candidates: list[dict[str, Any]] = []


class CaseDetail(CaseRead):
    steps: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    supervision_orders: list[dict[str, Any]] = []
    allowed_actions: list[str] = []


class CasePage(BaseModel):
    items: list[CaseRead]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    before: Any
    after: Any
    request_id: str
    hash: str
    prev_hash: str


class TrackRead(BaseModel):
    number: str
    title: str
    status: str
    element_code: str
    element_name: str
    department: str | None
    is_overdue: bool
    reported_at: datetime
    closed_at: datetime | None
    handle_due_at: datetime | None
    satisfaction: str | None
    timeline: list[dict[str, Any]] = []  # public milestones: at, event, label, label_en
    replies: list[dict[str, Any]] = []  # the department's published replies, masked
