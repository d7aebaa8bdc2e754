"""Reading what devices send: NGSI-LD notifications, plain JSON batches and CSV rows.

Every input ends up as :class:`Observation` values (one entity at one ``observedAt``) and
per-entity :class:`EntityError` values; the pipeline (``discovery.ingest``) does the rest.
Nothing here touches the database.

What an NGSI-LD notification may look like (``reference/ngsi-ld.md`` §3.3), all accepted:

- normalized attributes ``{"type": "Property", "value": …, "observedAt": …}``,
  ``Relationship`` (``object``) and ``GeoProperty`` (``location``);
- keyValues (``"fillingLevel": 0.8``, ``"location": {"type": "Point", …}``);
- NGSI-v2-shaped attributes from Orion-LD's ``x-ngsiv2-*`` formats (``{"type", "value",
  "metadata"}``);
- ``@context`` in a ``Link`` header, in the body, or in each entity (``accept:
  application/ld+json``). Remote contexts are never fetched (no network at run time): type and
  attribute names are compacted to their last IRI segment, and an inline context object's term
  definitions are honoured.

The envelope being wrong is the whole request's fault (``InvalidRequest`` for bytes that are
not JSON, ``BadRequestData`` for JSON of the wrong shape); one entity being wrong is that
entity's fault, and the others are still stored (207 with a per-entity error list).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson

from civicloop.discovery.model import AttrValue

ETSI_ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
UNKNOWN_TYPE = "?"  # plain JSON and CSV may leave the entity type to the device registry
INVALID_REQUEST = "InvalidRequest"
BAD_REQUEST_DATA = "BadRequestData"
JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
MAX_ID_LENGTH = 200
# Clocks of devices drift; an observation further in the future than this is refused.
MAX_FUTURE = timedelta(minutes=10)
# Names that carry the observation time, not a measured attribute.
_TIME_KEYS = ("observedAt", "dateObserved", "timestamp", "TimeInstant")
_SKIP_KEYS = frozenset({"id", "type", "@context", "location", "observedAt", "TimeInstant"})
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


class NgsiError(Exception):
    """The whole request is unusable; ``kind`` is the ETSI error type's last segment."""

    def __init__(self, kind: str, detail: str, *, field: str = "body") -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.field = field


@dataclass(slots=True)
class Observation:
    """One entity at one time, as parsed: what the pipeline validates, locates and stores."""

    device_id: str
    entity_type: str
    observed_at: datetime
    attrs: dict[str, AttrValue]
    lon: float | None = None
    lat: float | None = None
    notification_id: str | None = None
    index: int = -1  # position in the request, for per-entity error reports


@dataclass(slots=True)
class EntityError:
    """Why one entity of a batch was not stored (the others were)."""

    index: int
    entity_id: str | None
    kind: str
    detail: str
    field: str
    rule: str

    def problem(self) -> dict[str, Any]:
        """The NGSI-LD BatchOperationResult error entry for this entity."""
        return {
            "entityId": self.entity_id,
            "index": self.index,
            "error": {
                "type": ETSI_ERRORS + self.kind,
                "title": "Bad Request Data" if self.kind == BAD_REQUEST_DATA else self.kind,
                "detail": self.detail,
                "status": 400,
                "field": self.field,
                "rule": self.rule,
            },
        }


@dataclass
class Parsed:
    observations: list[Observation] = field(default_factory=list)
    errors: list[EntityError] = field(default_factory=list)
    notification_id: str | None = None
    contexts: list[str] = field(default_factory=list)


class _Bad(Exception):
    def __init__(self, detail: str, field: str, rule: str) -> None:
        super().__init__(detail)
        self.detail, self.field, self.rule = detail, field, rule


# ---------------------------------------------------------------- NGSI-LD


def context_from_link(link: str | None) -> str | None:
    """The JSON-LD context URL of a ``Link`` header, None when there is none.

    Raises NgsiError(BadRequestData) when the header names more than one context.
    """
    if not link:
        return None
    found = []
    for url, params in _LINK.findall(link):
        if re.search(r'rel\s*=\s*"?' + re.escape(JSONLD_CONTEXT_REL), params):
            found.append(url.strip())
    if len(found) > 1:
        raise NgsiError(
            BAD_REQUEST_DATA, "the Link header names more than one @context", field="Link"
        )
    return found[0] if found else None


def parse_notification(
    body: bytes, *, content_type: str = "application/json", link: str | None = None, now: datetime
) -> Parsed:
    """Parse an NGSI-LD notification (or a bare entity array / single entity).

    Raises NgsiError for an unusable envelope; entity problems are listed in ``errors``.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NgsiError(INVALID_REQUEST, f"the body is not valid JSON: {exc}") from exc
    contexts: list[str] = []
    header_context = context_from_link(link)
    if header_context:
        contexts.append(header_context)
    notification_id: str | None = None
    default_time = now
    terms: dict[str, str] = {}
    if isinstance(doc, dict) and "data" in doc:
        data = doc["data"]
        if not isinstance(data, list):
            raise NgsiError(BAD_REQUEST_DATA, "'data' must be an array of entities", field="data")
        nid = doc.get("id")
        if nid is not None and (not isinstance(nid, str) or len(nid) > MAX_ID_LENGTH):
            raise NgsiError(
                BAD_REQUEST_DATA, "the notification id must be a short string", field="id"
            )
        notification_id = nid
        if doc.get("notifiedAt") is not None:
            try:
                default_time = parse_time(doc["notifiedAt"])
            except _Bad as exc:
                raise NgsiError(BAD_REQUEST_DATA, exc.detail, field="notifiedAt") from exc
        _collect_context(doc.get("@context"), contexts, terms)
    elif isinstance(doc, list):
        data = doc
    elif isinstance(doc, dict) and "id" in doc:
        data = [doc]
        _collect_context(doc.get("@context"), contexts, terms)
    else:
        raise NgsiError(
            BAD_REQUEST_DATA, "expected a Notification with 'data', or an array of entities"
        )
    if not data:
        raise NgsiError(BAD_REQUEST_DATA, "the notification carries no entities", field="data")
    is_ld = content_type.split(";")[0].strip().lower() == "application/ld+json"
    if is_ld and header_context:
        raise NgsiError(
            BAD_REQUEST_DATA,
            "with Content-Type application/ld+json the @context goes in the body, not in Link",
            field="Link",
        )
    if is_ld and not contexts and not any(isinstance(e, dict) and "@context" in e for e in data):
        raise NgsiError(
            BAD_REQUEST_DATA, "Content-Type application/ld+json needs an @context in the body"
        )
    parsed = parse_entities(
        data, notification_id=notification_id, default_time=default_time, now=now, terms=terms
    )
    parsed.contexts = contexts + [c for c in parsed.contexts if c not in contexts]
    return parsed


def parse_entities(
    data: Iterable[Any],
    *,
    notification_id: str | None,
    default_time: datetime,
    now: datetime,
    terms: dict[str, str] | None = None,
) -> Parsed:
    """Entities (normalized, keyValues or v2-shaped) → observations and per-entity errors."""
    out = Parsed(notification_id=notification_id)
    latest = now + MAX_FUTURE
    for index, entity in enumerate(data):
        entity_id = entity.get("id") if isinstance(entity, dict) else None
        try:
            if not isinstance(entity, dict):
                raise _Bad("an entity must be a JSON object", "data", "type")
            local = terms
            if "@context" in entity:
                local = dict(terms or {})
                _collect_context(entity["@context"], out.contexts, local)
            obs = _entity(entity, local, default_time)
            if obs.observed_at > latest:
                raise _Bad("observedAt lies in the future", "observedAt", "not_in_future")
            obs.notification_id = notification_id
            obs.index = index
            out.observations.append(obs)
        except _Bad as exc:
            eid = entity_id if isinstance(entity_id, str) else None
            out.errors.append(
                EntityError(index, eid, BAD_REQUEST_DATA, exc.detail, exc.field, exc.rule)
            )
    return out


def _collect_context(ctx: Any, urls: list[str], terms: dict[str, str]) -> None:
    """Remember context URLs; honour inline term definitions (``term → IRI``)."""
    for item in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(item, str):
            if item not in urls:
                urls.append(item)
        elif isinstance(item, dict):
            for term, definition in item.items():
                iri = definition.get("@id") if isinstance(definition, dict) else definition
                if isinstance(iri, str) and not term.startswith("@"):
                    terms[term] = compact(iri)


def compact(name: str) -> str:
    """The short name of a (possibly expanded) IRI: ``https://…/dataModel.X/WasteContainer`` →
    ``WasteContainer``, ``https://uri.fiware.org/ns/data-models#fillingLevel`` → ``fillingLevel``."""
    if ":" not in name and "/" not in name:
        return name
    return re.split(r"[#/:]", name.rstrip("/#"))[-1] or name


def _entity(entity: dict[str, Any], terms: dict[str, str] | None, default: datetime) -> Observation:
    eid = entity.get("id")
    if not isinstance(eid, str) or not eid.strip():
        raise _Bad("every entity needs a string 'id'", "id", "required")
    if len(eid) > MAX_ID_LENGTH:
        raise _Bad(f"entity ids are at most {MAX_ID_LENGTH} characters", "id", "max_length")
    etype = entity.get("type")
    if isinstance(etype, list) and len(etype) == 1:
        etype = etype[0]
    if not isinstance(etype, str) or not etype.strip():
        raise _Bad("every entity needs a string 'type'", "type", "required")
    etype = (terms or {}).get(etype) or compact(etype)
    observed: datetime | None = None
    if entity.get("observedAt") is not None:
        observed = parse_time(entity["observedAt"], "observedAt")
    attrs: dict[str, AttrValue] = {}
    for key, raw in entity.items():
        if key in _SKIP_KEYS:
            continue
        name = (terms or {}).get(key) or compact(key)
        if isinstance(raw, dict):
            if raw.get("type") == "Relationship":
                value: Any = raw.get("object")
            elif "value" in raw:
                value = raw["value"]
            else:
                continue  # a structured keyValues attribute: not a reading value
            at = raw.get("observedAt")
            if at is not None:
                when = parse_time(at, f"{name}.observedAt")
                observed = when if observed is None or when > observed else observed
        else:
            value = raw
        if isinstance(value, dict) and "@value" in value:  # a JSON-LD typed value (a DateTime)
            value = value["@value"]
        if name in _TIME_KEYS:
            observed = parse_time(value, name)
            continue
        if value is None or isinstance(value, (str, int, float, bool)):
            attrs[name] = value
    lon, lat = _location(entity.get("location"))
    return Observation(eid, etype, observed or default, attrs, lon, lat)


def _location(raw: Any) -> tuple[float | None, float | None]:
    if raw is None:
        return None, None
    geometry = raw.get("value") if isinstance(raw, dict) and "value" in raw else raw
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise _Bad("location must be a GeoJSON Point", "location", "type")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise _Bad("location needs [longitude, latitude] numbers", "location", "type")
    lon, lat = coords[0], coords[1]
    if type(lon) not in (float, int) or type(lat) not in (float, int):  # bool is not a number
        raise _Bad("location needs [longitude, latitude] numbers", "location", "type")
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise _Bad("location lies outside [-180, 180] × [-90, 90]", "location", "range")
    return float(lon), float(lat)


def parse_time(value: Any, field_name: str = "observedAt") -> datetime:
    """An ISO-8601 timestamp (``Z`` or an offset; no offset means UTC) as aware UTC."""
    if not isinstance(value, str):
        raise _Bad(f"{field_name} must be an ISO-8601 string", field_name, "type")
    try:
        return _iso(value)
    except ValueError as exc:
        raise _Bad(
            f"{field_name} is not an ISO-8601 time: {value[:40]!r}", field_name, "format"
        ) from exc


@lru_cache(maxsize=8192)
def _iso(value: str) -> datetime:
    # Cached: a normalized entity repeats its observedAt on every attribute, and a batch
    # often shares a handful of timestamps.
    at = datetime.fromisoformat(value)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# ---------------------------------------------------------------- plain JSON and CSV


def parse_plain(body: bytes, *, now: datetime) -> Parsed:
    """``POST /api/v1/readings``: ``{"readings": [{"device_id", "entity_type"?, "observed_at"?,
    "attrs", "lon"?, "lat"?}]}`` or the bare array. Entity type may be left to the registry."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NgsiError(INVALID_REQUEST, f"the body is not valid JSON: {exc}") from exc
    items = doc.get("readings") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise NgsiError(BAD_REQUEST_DATA, "expected a non-empty 'readings' array", field="readings")
    entities = []
    for item in items:
        if not isinstance(item, dict):
            entities.append(item)
            continue
        entity: dict[str, Any] = {
            "id": item.get("device_id"),
            "type": item.get("entity_type") or UNKNOWN_TYPE,
        }
        attrs = item.get("attrs", {})
        if isinstance(attrs, dict):
            entity.update({k: v for k, v in attrs.items() if k not in ("id", "type")})
        if item.get("observed_at") is not None:
            entity["observedAt"] = item["observed_at"]
        if item.get("lon") is not None or item.get("lat") is not None:
            entity["location"] = {
                "type": "Point",
                "coordinates": [item.get("lon"), item.get("lat")],
            }
        entities.append(entity)
    return parse_entities(entities, notification_id=None, default_time=now, now=now)


CSV_COLUMNS = ("device_id", "entity_type", "observed_at", "lon", "lat")


def csv_batches(text: str, *, now: datetime, size: int = 1000) -> Iterator[Parsed]:
    """CSV replay: columns ``device_id, entity_type, observed_at[, lon, lat]`` and one column
    per attribute (empty cells skipped; numbers and true/false read as such), in batches."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("device_id", "observed_at") if c not in (reader.fieldnames or [])]
    if missing:
        raise NgsiError(BAD_REQUEST_DATA, f"the CSV lacks the column(s) {', '.join(missing)}")
    batch: list[dict[str, Any]] = []
    offset = 0
    for row in reader:
        entity: dict[str, Any] = {
            "id": row.get("device_id"),
            "type": row.get("entity_type") or UNKNOWN_TYPE,
            "observedAt": row.get("observed_at"),
        }
        if row.get("lon") and row.get("lat"):
            entity["location"] = {
                "type": "Point",
                "coordinates": [_cell(row["lon"]), _cell(row["lat"])],
            }
        for key, cell in row.items():
            if key and key not in CSV_COLUMNS and cell not in (None, ""):
                entity[key] = _cell(cell)
        batch.append(entity)
        if len(batch) >= size:
            yield _offset(
                parse_entities(batch, notification_id=None, default_time=now, now=now), offset
            )
            offset += len(batch)
            batch = []
    if batch:
        yield _offset(
            parse_entities(batch, notification_id=None, default_time=now, now=now), offset
        )


def _offset(parsed: Parsed, offset: int) -> Parsed:
    for e in parsed.errors:
        e.index += offset
    return parsed


def _cell(text: str) -> AttrValue:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in lowered else number
