"""Request bodies of the registry API (responses are the services' plain dicts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CorrectionCreate(BaseModel):
    kind: str = Field(description="room | person | entity")
    record_id: str = Field(min_length=1, max_length=40)
    changes: dict[str, Any] = Field(
        description="field → value found on site, e.g. {'observed_residents': 12}"
    )
    note: str | None = Field(default=None, max_length=2000)


class CorrectionReview(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class GroupRentingRun(BaseModel):
    min_area_per_person_m2: float = Field(default=5.0, gt=0, le=100)
    max_per_room: int = Field(default=12, ge=1, le=1000)
    strong_ratio: float = Field(default=2.0, ge=1, le=100)
