"""Request and response bodies of the device registry and readings API (pydantic).

Ingestion bodies (NGSI-LD notifications, reading batches) are not modelled here: they are
parsed by ``discovery.ngsi`` straight from bytes with orjson, so that a thousand-entity batch
costs no pydantic object per entity and a bad entity is reported without failing the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DeviceIn(BaseModel):
    # Unknown fields are an error: a typo in a field name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: str = Field(min_length=1, max_length=200, description="NGSI-LD entity id")
    entity_type: str = Field(min_length=1, max_length=64, examples=["WasteContainer"])
    name: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    grid_code: str | None = Field(default=None, max_length=32)
    owner_department: str | None = Field(default=None, max_length=32)
    report_interval_s: int | None = Field(default=None, gt=0, le=366 * 86400)
    attrs: dict[str, Any] = Field(
        default_factory=dict, description="room_id, plate, permit_id … (used by detectors)"
    )


class DeviceUpsert(BaseModel):
    """``PUT /api/v1/devices/{device_id}``: the device id comes from the path."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entity_type: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    grid_code: str | None = Field(default=None, max_length=32)
    owner_department: str | None = Field(default=None, max_length=32)
    report_interval_s: int | None = Field(default=None, gt=0, le=366 * 86400)
    attrs: dict[str, Any] = Field(default_factory=dict)


class DeviceBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[DeviceIn] = Field(min_length=1, max_length=10_000)
    dry_run: bool = False


class DeviceRead(BaseModel):
    device_id: str
    entity_type: str
    name: str | None
    lon: float | None
    lat: float | None
    grid_code: str | None
    owner_department: str | None
    report_interval_s: int | None
    attrs: dict[str, Any]
    last_seen_at: datetime | None = None


class DevicePage(BaseModel):
    items: list[DeviceRead]
    total: int


class RegisterResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    reprocessed: int


class RawReading(BaseModel):
    observed_at: datetime
    attrs: dict[str, Any]
    grid_code: str | None
    lon: float | None
    lat: float | None


class HourlyReading(BaseModel):
    hour: datetime
    attr: str
    count: int
    min: float | None
    max: float | None
    avg: float | None
    last: Any
    last_at: datetime | None


class ReadingsPage(BaseModel):
    device_id: str
    agg: str
    items: list[RawReading] | list[HourlyReading]


class QuarantineRead(BaseModel):
    id: int
    device_id: str
    entity_type: str
    observed_at: datetime
    attrs: dict[str, Any]
    lon: float | None
    lat: float | None
    notification_id: str | None
    reason: str
    received_at: datetime
    reprocessed_at: datetime | None
