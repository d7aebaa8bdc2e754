"""Device registry files: CSV and GeoJSON in, :class:`Device` values out.

CSV columns: ``device_id, entity_type`` (required), ``lon, lat`` (or ``longitude,
latitude``), ``grid_code``, ``owner_department``, ``report_interval_s``, ``name``; every other
non-empty column becomes a device attribute (``room_id``, ``plate``, ``permit_id`` …).

GeoJSON: a FeatureCollection of Point features; ``properties`` carry the same names (``id``
and ``type`` are accepted for ``device_id`` and ``entity_type``), the geometry the location.

Reading a file never writes: ``service.register_devices`` checks every device and writes all
or none (``--dry-run`` stops after the check).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from civicloop.core.errors import InputError
from civicloop.discovery.model import Device

_FIXED = {
    "device_id",
    "entity_type",
    "lon",
    "lat",
    "longitude",
    "latitude",
    "grid_code",
    "owner_department",
    "report_interval_s",
    "id",
    "type",
}


def read_device_file(path: Path) -> list[Device]:
    """Devices from a ``.csv`` or ``.geojson``/``.json`` file.

    Raises InputError naming the line or feature and the field when a row cannot be read
    (every problem is listed in ``problems``).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", field="file", rule="readable") from exc
    if path.suffix.lower() in (".geojson", ".json"):
        return devices_from_geojson(text)
    return devices_from_csv(text)


def devices_from_csv(text: str) -> list[Device]:
    reader = csv.DictReader(io.StringIO(text))
    names = reader.fieldnames or []
    if "device_id" not in names or "entity_type" not in names:
        raise InputError(
            "the CSV needs the columns device_id and entity_type",
            field="columns",
            rule="required",
        )
    out: list[Device] = []
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        try:
            props = {k: v for k, v in row.items() if k and v not in (None, "")}
            lon = props.get("lon", props.get("longitude"))
            lat = props.get("lat", props.get("latitude"))
            out.append(_device(props, _float(lon, "lon"), _float(lat, "lat")))
        except InputError as exc:
            problems.append(f"line {line}: {exc.field}: {exc.message}")
    _raise(problems)
    return out


def devices_from_geojson(text: str) -> list[Device]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc}", field="file", rule="json") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise InputError("expected a FeatureCollection", field="features", rule="required")
    out: list[Device] = []
    problems: list[str] = []
    for number, feature in enumerate(features, start=1):
        try:
            if not isinstance(feature, dict):
                raise InputError("a feature must be an object", field="feature", rule="type")
            props = dict(feature.get("properties") or {})
            geometry = feature.get("geometry")
            lon = lat = None
            if geometry is not None:
                coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
                if (
                    not isinstance(geometry, dict)
                    or geometry.get("type") != "Point"
                    or not isinstance(coords, list)
                    or len(coords) < 2
                ):
                    raise InputError("geometry must be a Point", field="geometry", rule="type")
                lon, lat = _float(coords[0], "lon"), _float(coords[1], "lat")
            out.append(_device(props, lon, lat))
        except InputError as exc:
            problems.append(f"feature {number}: {exc.field}: {exc.message}")
    _raise(problems)
    return out


def _raise(problems: list[str]) -> None:
    if problems:
        raise InputError(problems[0], field="devices", rule="valid", problems=problems)


def _device(props: dict[str, Any], lon: float | None, lat: float | None) -> Device:
    device_id = str(props.get("device_id") or props.get("id") or "").strip()
    entity_type = str(props.get("entity_type") or props.get("type") or "").strip()
    if not device_id:
        raise InputError("device_id is missing", field="device_id", rule="required")
    if not entity_type:
        raise InputError("entity_type is missing", field="entity_type", rule="required")
    interval = props.get("report_interval_s")
    attrs = {k: _scalar(v) for k, v in props.items() if k not in _FIXED}
    return Device(
        device_id=device_id,
        entity_type=entity_type,
        lat=lat,
        lon=lon,
        grid_code=str(props["grid_code"]) if props.get("grid_code") else None,
        owner_department=str(props["owner_department"]) if props.get("owner_department") else None,
        report_interval_s=_int(interval, "report_interval_s")
        if interval not in (None, "")
        else None,
        attrs=attrs,
    )


def _float(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number", field=name, rule="number") from exc


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise InputError(f"{name} must be a whole number", field=name, rule="integer") from exc


def _scalar(value: Any) -> Any:
    return value if not isinstance(value, str) else value.strip()
