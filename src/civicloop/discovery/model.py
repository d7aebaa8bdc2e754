"""Discovery's domain: a device, a reading and an alert, as plain values.

Shared by ingestion (which produces ``Reading`` batches), the rules engine (which turns readings
and their device context into ``Alert`` values) and alert → case filing. No SQLAlchemy,
FastAPI or pydantic here: the hot path builds many of these per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

AttrValue = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Device:
    """A registered sensor or meter: where it is and how often it should speak."""

    device_id: str
    entity_type: str
    lat: float | None = None
    lon: float | None = None
    grid_code: str | None = None
    owner_department: str | None = None
    report_interval_s: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # e.g. room_id, permit_id, plate


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation of one entity: its attributes at ``observed_at``."""

    device_id: str
    entity_type: str
    observed_at: datetime
    attrs: dict[str, AttrValue]
    lat: float | None = None
    lon: float | None = None
    grid_code: str | None = None
    notification_id: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule or detector's finding, before it becomes (or joins) a case."""

    rule_id: str
    element_code: str
    device_id: str | None
    observed_at: datetime
    lat: float | None
    lon: float | None
    grid_code: str | None
    summary: str
    severity: str = "normal"  # normal | urgent
    evidence: dict[str, Any] = field(default_factory=dict)
