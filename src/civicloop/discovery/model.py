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


# ---------------------------------------------------------------- entity types and attributes
#
# What ingestion knows about each entity type: the attributes it validates (a number is a
# number, a level is inside its range, a state is one of its words). Attributes not listed
# are kept when they are scalars — Smart Data Models carry many optional ones — and dropped
# when they are structures (only ``location`` is structured, and it is read separately).


@dataclass(frozen=True, slots=True)
class AttrSpec:
    """One known attribute: its kind (number | text | bool | time) and what values it allows."""

    kind: str
    minimum: float | None = None
    maximum: float | None = None
    choices: frozenset[str] | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True)
class EntityTypeSpec:
    """A device/entity type: its known attributes and whether each reading must say where."""

    name: str
    attrs: dict[str, AttrSpec]
    source: str = "smartdatamodels"  # or "civicloop" for the platform's own types
    needs_location: bool = False  # moving things (vehicles) report their position each time


def _num(lo: float | None = None, hi: float | None = None, unit: str = "") -> AttrSpec:
    return AttrSpec("number", lo, hi, None, unit)


def _words(*words: str) -> AttrSpec:
    return AttrSpec("text", choices=frozenset(words))


_TEXT = AttrSpec("text")
_BOOL = AttrSpec("bool")
_TIME = AttrSpec("time")
_RATIO = _num(0.0, 1.0)
_PERCENT_OR_RATIO = _num(0.0, 100.0)
_TEMPERATURE = _num(-90.0, 90.0, "CEL")
_DB = _num(0.0, 200.0, "2N")
_CONCENTRATION = _num(0.0, None, "GQ")  # µg/m³
# Chinese warnings use blue/yellow/orange/red; MeteoAlarm (the Smart Data Model) adds green/white.
WARNING_LEVELS = ("white", "green", "blue", "yellow", "orange", "red")

ENTITY_TYPES: dict[str, EntityTypeSpec] = {
    spec.name: spec
    for spec in (
        EntityTypeSpec(
            "WasteContainer",
            {
                "fillingLevel": _RATIO,
                "temperature": _TEMPERATURE,
                "methaneConcentration": _CONCENTRATION,
                "status": _words("ok", "lidOpen", "dropped", "burning", "moved", "notAvailable"),
                "binCapacity": _num(0.0),
                "mixedWaste": _BOOL,  # a patrol's or a camera's "mixed waste here" report
            },
        ),
        EntityTypeSpec(
            "NoiseLevelObserved",
            {"LAeq": _DB, "LAmax": _DB, "LAmin": _DB, "LAS": _DB, "LAeq_d": _DB},
        ),
        EntityTypeSpec(
            "AirQualityObserved",
            {
                "pm10": _CONCENTRATION,
                "pm25": _CONCENTRATION,
                "no2": _CONCENTRATION,
                "o3": _CONCENTRATION,
                "co": _CONCENTRATION,
                "so2": _CONCENTRATION,
                "airQualityIndex": _num(0.0, 1000.0),
                "airQualityLevel": _TEXT,
                "temperature": _TEMPERATURE,
                "relativeHumidity": _PERCENT_OR_RATIO,
            },
        ),
        EntityTypeSpec(
            "WaterObserved",
            {
                "waterLevel": _num(None, None, "MTR"),
                "height": _num(None, None, "MTR"),
                "flow": _num(None, None, "MQS"),
                "temperature": _TEMPERATURE,
                "pH": _num(0.0, 14.0),
                "conductivity": _num(0.0),
                "turbidity": _num(0.0),
                "dissolvedOxygen": _num(0.0),
                "pressure": _num(0.0, None, "BAR"),  # water-main pressure points
            },
        ),
        EntityTypeSpec(
            "FloodMonitoring",
            {
                "currentLevel": _num(None, None, "MTR"),
                "alertLevel": _num(None, None, "MTR"),
                "dangerLevel": _num(None, None, "MTR"),
                "currentFlow": _num(None, None, "MQS"),
                "floodLevelStatus": _TEXT,
                "measuredDistance": _num(0.0),
            },
        ),
        EntityTypeSpec(
            "WeatherObserved",
            {
                "temperature": _TEMPERATURE,
                "relativeHumidity": _PERCENT_OR_RATIO,
                "precipitation": _num(0.0, None, "MMT"),
                "windSpeed": _num(0.0, 150.0, "MTS"),
                "windDirection": _num(-180.0, 360.0, "DD"),
                "atmosphericPressure": _num(300.0, 1200.0, "A97"),
                "illuminance": _num(0.0),
                "visibility": _num(0.0),
            },
        ),
        EntityTypeSpec(
            "WeatherAlert",
            {
                "awarenessLevel": _words(*WARNING_LEVELS),
                "awarenessType": _TEXT,  # e.g. typhoon, rainstorm, wind, flooding
                "severity": _TEXT,
                "category": _TEXT,
                "subCategory": _TEXT,
                "validFrom": _TIME,
                "validTo": _TIME,
                "dateIssued": _TIME,
                "description": _TEXT,
            },
        ),
        EntityTypeSpec(
            "Streetlight",
            {
                "powerState": _words("on", "off", "low", "bootingUp"),
                "status": _words("ok", "defectiveLamp", "columnIssue", "brokenLantern"),
                "illuminanceLevel": _RATIO,
                "powerConsumption": _num(0.0),
            },
        ),
        EntityTypeSpec(
            "ManholeCover",
            {"tiltAngle": _num(0.0, 180.0, "DD"), "status": _TEXT, "batteryLevel": _RATIO},
            source="civicloop",
        ),
        EntityTypeSpec(
            "GasDetector",
            {"lel": _num(0.0, 100.0, "P1"), "ch4": _num(0.0), "batteryLevel": _RATIO},
            source="civicloop",
        ),
        EntityTypeSpec(
            "WaterMeter",
            {"volume": _num(0.0, None, "MTQ"), "flow": _num(0.0, None, "MQH")},
            source="civicloop",
        ),
        EntityTypeSpec(
            "ElectricityMeter",
            {"energy": _num(0.0, None, "KWH"), "power": _num(0.0, None, "WTT")},
            source="civicloop",
        ),
        EntityTypeSpec(
            "VehiclePosition",
            {
                "speed": _num(0.0, 300.0, "KMH"),
                "heading": _num(0.0, 360.0, "DD"),
                "engineOn": _BOOL,
                "plate": _TEXT,
                "loadStatus": _words("loaded", "empty", "unknown"),
            },
            source="civicloop",
            needs_location=True,
        ),
        EntityTypeSpec(
            "CallButton",
            {"pressed": _BOOL, "batteryLevel": _RATIO, "buttonKind": _words("sos", "service")},
            source="civicloop",
        ),
    )
}


def check_attr(spec: AttrSpec, value: AttrValue) -> str | None:
    """The rule ``value`` breaks for ``spec`` (``type`` / ``minimum`` / ``maximum`` /
    ``choices``), or None when it is fine. Booleans are not numbers here."""
    if value is None:
        return None
    kind = spec.kind
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return "type"
        if spec.minimum is not None and value < spec.minimum:
            return "minimum"
        if spec.maximum is not None and value > spec.maximum:
            return "maximum"
        return None
    if kind == "bool":
        return None if isinstance(value, bool) else "type"
    if not isinstance(value, str):
        return "type"
    if spec.choices is not None and value not in spec.choices:
        return "choices"
    return None
