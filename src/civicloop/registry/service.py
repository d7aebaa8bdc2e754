"""Reading the registries: records, batches for linkage, elders living alone, addresses.

Other contexts call these functions, never the tables: discovery (the water-use detector asks
:func:`elders_living_alone` and joins meters to people by ``room_id``), entity resolution
(:func:`iter_records`), the intake geocoder (:func:`locate_in_text`) and profiles.

The address index (every building key and room) is kept in memory per platform for
``INDEX_SECONDS``: the geocoder asks it on every free-text report, and an import or correction
in this process drops it at once.

Authorisation for people who read records through the API is in :func:`access_record`:
territorial roles see records in their territory (a street admin their street), department
handlers see legal entities only; personal data (ID numbers, phones, names) is masked unless the
viewer's role needs it (admin, street admin, grid worker).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, func, select

from civicloop.core.errors import ForbiddenError, InputError, NotFoundError
from civicloop.core.security import mask_name, mask_phone
from civicloop.org.model import TERRITORIAL_ROLES, Actor, Role
from civicloop.registry import address as addr
from civicloop.registry import store
from civicloop.registry.model import Kind, age_on
from civicloop.runtime import Platform

INDEX_SECONDS = 60.0
NEEDS_PERSONAL_DATA = frozenset({Role.ADMIN, Role.STREET_ADMIN, Role.GRID_WORKER})
ELDER_AGE = 60

_TABLES: dict[Kind, Table] = {
    Kind.PERSON: store.people,
    Kind.ENTITY: store.entities,
    Kind.ROOM: store.rooms,
    Kind.BUILDING: store.buildings,
}


def table_kind(kind: Kind | str) -> Kind:
    """``kind`` as a Kind; InputError (naming the choices) for anything else."""
    try:
        return Kind(kind)
    except ValueError:
        raise InputError(
            f"unknown record kind {kind!r}",
            field="kind",
            rule=f"one of {', '.join(k.value for k in Kind)}",
        ) from None


def table_of(kind: Kind | str) -> Table:
    return _TABLES[table_kind(kind)]


def key_column(kind: Kind | str) -> Any:
    t = table_of(kind)
    return t.c.credit_code if Kind(kind) is Kind.ENTITY else t.c.id


def _read(p: Platform, kind: Kind, record_id: str) -> dict[str, Any]:
    with p.db.read() as conn:
        row = conn.execute(select(table_of(kind)).where(key_column(kind) == record_id)).first()
    if row is None:
        raise NotFoundError(f"{kind} not found", code=f"registry.{kind}_not_found")
    return dict(row._mapping)


def get_person(p: Platform, person_id: str) -> dict[str, Any]:
    """A person record (unmasked: for services; the API masks). NotFoundError if missing."""
    return _read(p, Kind.PERSON, person_id)


def get_entity(p: Platform, credit_code: str) -> dict[str, Any]:
    return _read(p, Kind.ENTITY, credit_code.strip().upper())


def get_building(p: Platform, building_id: str) -> dict[str, Any]:
    return _read(p, Kind.BUILDING, building_id)


def get_room(p: Platform, room_id: str) -> dict[str, Any]:
    """A room with its building's position and the number of registered residents."""
    room = _read(p, Kind.ROOM, room_id)
    with p.db.read() as conn:
        b = conn.execute(
            select(store.buildings).where(store.buildings.c.id == room["building_id"])
        ).first()
        room["registered_residents"] = int(
            conn.execute(select(func.count()).where(store.people.c.room_id == room_id)).scalar_one()
        )
    if b is not None:
        room["lon"], room["lat"] = b.lon, b.lat
    return room


def get_record(p: Platform, kind: Kind | str, record_id: str) -> dict[str, Any]:
    kind = table_kind(kind)
    getter = {
        Kind.PERSON: get_person,
        Kind.ENTITY: get_entity,
        Kind.BUILDING: get_building,
        Kind.ROOM: get_room,
    }[kind]
    return getter(p, record_id)


def iter_records(
    p: Platform, kind: Kind | str, batch: int = 5000
) -> Iterator[list[dict[str, Any]]]:
    """Every record of ``kind`` in key order, ``batch`` at a time (keyset pages, one short
    read transaction per page, so a long linkage run never holds a snapshot open)."""
    t, key = table_of(kind), key_column(kind)
    last: str | None = None
    while True:
        q = select(t).order_by(key).limit(batch)
        if last is not None:
            q = q.where(key > last)
        with p.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            return
        yield rows
        last = rows[-1][key.name]


def count_records(p: Platform) -> dict[str, int]:
    with p.db.read() as conn:
        return {
            str(k): int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for k, t in _TABLES.items()
        }


def elders_living_alone(p: Platform, *, min_age: int = ELDER_AGE) -> list[dict[str, Any]]:
    """Registered elders (≥ ``min_age``) flagged as living alone, with where they live:
    person id, masked name, room id, address, grid code, lon/lat of the building."""
    today = p.clock.now().date()
    cutoff = date(today.year - min_age, today.month, min(today.day, 28))
    pe, r, b = store.people.c, store.rooms.c, store.buildings.c
    q = (
        select(pe.id, pe.name, pe.birth_date, pe.room_id, pe.address, pe.grid_code, b.lon, b.lat)
        .select_from(
            store.people.outerjoin(store.rooms, r.id == pe.room_id).outerjoin(
                store.buildings, b.id == r.building_id
            )
        )
        .where(pe.is_living_alone.is_(True), pe.birth_date <= cutoff)
        .order_by(pe.id)
    )
    with p.db.read() as conn:
        rows = conn.execute(q).all()
    return [
        {
            "person_id": row.id,
            "name": mask_name(row.name),
            "age": age_on(row.birth_date, today),
            "room_id": row.room_id,
            "address": row.address,
            "grid_code": row.grid_code,
            "lon": row.lon,
            "lat": row.lat,
        }
        for row in rows
        if age_on(row.birth_date, today) >= min_age
    ]


def residents_of(conn: Connection, room_id: str) -> list[dict[str, Any]]:
    q = select(store.people).where(store.people.c.room_id == room_id).order_by(store.people.c.id)
    return [dict(r._mapping) for r in conn.execute(q)]


def room_ids_of_building(p: Platform, building_id: str) -> list[str]:
    """Ids of a building's rooms (for sections that attach things to rooms)."""
    r = store.rooms.c
    with p.db.read() as conn:
        return [
            str(x)
            for x in conn.execute(select(r.id).where(r.building_id == building_id).order_by(r.id))
            .scalars()
            .all()
        ]


def history_of(p: Platform, kind: Kind | str, record_id: str) -> list[dict[str, Any]]:
    h = store.history.c
    with p.db.read() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(store.history)
                .where(h.kind == str(Kind(kind)), h.record_id == record_id)
                .order_by(h.id)
            )
        ]


# ---------------------------------------------------------------- authorisation and masking


def record_region_path(p: Platform, kind: Kind, record: dict[str, Any]) -> str | None:
    grid = record.get("grid_code")
    return p.grid_path(grid) if grid else None


def access_record(p: Platform, actor: Actor, kind: Kind | str, record_id: str) -> dict[str, Any]:
    """The record if the actor may see it; NotFoundError for missing *and* out of territory."""
    kind = table_kind(kind)
    if actor.role not in TERRITORIAL_ROLES and not (
        actor.role is Role.DEPARTMENT_HANDLER and kind is Kind.ENTITY
    ):
        raise ForbiddenError("registries are read by territorial staff", role=str(actor.role))
    record = get_record(p, kind, record_id)
    if actor.role in TERRITORIAL_ROLES:
        path = record_region_path(p, kind, record)
        if actor.region_path != "/" and not (path and actor.covers(path)):
            raise NotFoundError(f"{kind} not found", code=f"registry.{kind}_not_found")
    return record


def list_records(
    p: Platform, actor: Actor, kind: Kind | str, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """One page of the records of ``kind`` in the actor's territory (masked), and the total."""
    kind = table_kind(kind)
    if actor.role not in TERRITORIAL_ROLES and not (
        actor.role is Role.DEPARTMENT_HANDLER and kind is Kind.ENTITY
    ):
        raise ForbiddenError("registries are read by territorial staff", role=str(actor.role))
    t, key = table_of(kind), key_column(kind)
    where = []
    if actor.role in TERRITORIAL_ROLES and actor.region_path != "/":
        codes = list(p.grids.codes)
        mine = [c for c in codes if actor.covers(p.grid_path(c) or "")]
        if len(mine) < len(codes):
            where.append(t.c.grid_code.in_(mine))
    with p.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()
        rows = conn.execute(select(t).where(*where).order_by(key).limit(limit).offset(offset))
        return [present(actor, kind, dict(r._mapping)) for r in rows], int(total)


def present(actor: Actor, kind: Kind | str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as this actor may read it: personal data masked without a need."""
    out = dict(record)
    if actor.role in NEEDS_PERSONAL_DATA:
        return out
    if Kind(kind) is Kind.PERSON:
        idn = out.get("id_number") or ""
        out["id_number"] = f"{idn[:6]}********{idn[-4:]}" if len(idn) == 18 else None
        out["phone"] = mask_phone(out.get("phone"))
        out["name"] = mask_name(out.get("name"))
    if Kind(kind) is Kind.ENTITY:
        out["legal_representative"] = mask_name(out.get("legal_representative"))
    return out


# ---------------------------------------------------------------- the address index


@dataclass
class AddressIndex:
    """Building keys → building, and (building, unit, room) → room, in memory."""

    buildings: dict[str, dict[str, Any]] = field(default_factory=dict)
    stems: dict[str, list[str]] = field(default_factory=dict)  # stem key → building ids
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    rooms: dict[tuple[str, int | None, int | None], str] = field(default_factory=dict)
    room_ids: set[str] = field(default_factory=set)

    def add_building(self, b: dict[str, Any]) -> None:
        self.by_id[b["id"]] = b
        for col in ("postal_key", "compound_key"):
            if b.get(col):
                self.buildings[b[col]] = b
        if b.get("stem_key"):
            self.stems.setdefault(b["stem_key"], []).append(b["id"])

    def building_for(self, parts: addr.AddressParts) -> dict[str, Any] | None:
        for key in addr.building_keys(parts):
            if key.startswith("S|"):
                ids = self.stems.get(key, [])
                if len(ids) == 1:  # a stem match must be unambiguous
                    return self.by_id[ids[0]]
            elif key in self.buildings:
                return self.buildings[key]
        return None

    def room_for(self, parts: addr.AddressParts) -> tuple[dict[str, Any] | None, str | None]:
        b = self.building_for(parts)
        if b is None:
            return None, None
        rid = self.rooms.get((b["id"], parts.unit, parts.room))
        if rid is None and parts.unit is None:
            rid = self.rooms.get((b["id"], 1, parts.room))
        if rid is None and parts.unit is not None:
            rid = self.rooms.get((b["id"], None, parts.room))
        return b, rid


def load_index(conn: Connection, *, rooms: bool = True) -> AddressIndex:
    idx = AddressIndex()
    for r in conn.execute(select(store.buildings)):
        idx.add_building(dict(r._mapping))
    if not rooms:
        return idx
    rc = store.rooms.c
    for rid, bid, unit, room in conn.execute(select(rc.id, rc.building_id, rc.unit, rc.room)):
        idx.rooms[(bid, unit, room)] = rid
        idx.room_ids.add(rid)
    return idx


_CACHE: dict[tuple[int, bool], tuple[weakref.ref[Platform], AddressIndex, float]] = {}
_CACHE_LOCK = threading.Lock()


def address_index(p: Platform, *, rooms: bool = True) -> AddressIndex:
    """The cached index; ``rooms=False`` holds buildings only (what the geocoder needs: a few
    thousand rows to reload instead of every room)."""
    now = time.monotonic()
    key = (id(p), rooms)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is p and now - hit[2] < INDEX_SECONDS:
        return hit[1]
    with _CACHE_LOCK:
        with p.db.read() as conn:
            idx = load_index(conn, rooms=rooms)
        _CACHE[key] = (weakref.ref(p), idx, now)
        return idx


def forget_index(p: Platform) -> None:
    with _CACHE_LOCK:
        _CACHE.pop((id(p), True), None)
        _CACHE.pop((id(p), False), None)


def match_address(p: Platform, text: str) -> dict[str, Any] | None:
    """A whole address field matched to the building registry: the building, the room when the
    address names a registered one, and the precision (``room`` or ``building``)."""
    parts = addr.parse(text)
    b, rid = address_index(p).room_for(parts)
    if b is None:
        return None
    return {
        "building_id": b["id"],
        "room_id": rid,
        "precision": "room" if rid else "building",
        "lon": b["lon"],
        "lat": b["lat"],
        "grid_code": b["grid_code"],
        "address": b["address"],
        "parts": parts.as_dict(),
    }


def locate_address(p: Platform, text: str) -> dict[str, Any] | None:
    """An address placed as well as the data allows, with the precision stated:

    ``room`` / ``building`` from the building registry; else the gazetteer geocoder's
    ``point`` (a house number along a road segment, a landmark), ``compound``,
    ``intersection``, ``road`` (the segment's middle) or ``street`` (its centre); each with the
    grid it falls in. None when nothing is known.
    """
    hit = match_address(p, text)
    if hit is not None:
        return {**hit, "source": "registry"}
    from civicloop.intake.geocoder import geocode  # jieba, loaded only when needed

    g = geocode(p, text)
    if g is None:
        return None
    return {
        "building_id": None,
        "room_id": None,
        "precision": g.precision,
        "confidence": g.confidence,
        "lon": g.lon,
        "lat": g.lat,
        "grid_code": g.grid_code,
        "address": g.matched,
        "source": "gazetteer",
    }


def locate_in_text(p: Platform, text: str) -> dict[str, Any] | None:
    """The registered building named somewhere in free text (``我家张杨路500弄12号楼下…``).

    Each house or lane number in the text is read back from up to 14 characters before it;
    the first start at which the parser's keys hit a registered building wins. Returns the
    building's position and the matched span, or None (then the gazetteer geocoder decides).
    """
    idx = address_index(p, rooms=False)
    if not idx.by_id or not text:
        return None
    norm = addr.normalise(text)
    for m in addr.NUMBER_MARK.finditer(norm):
        end = m.end()
        for start in range(max(0, m.start() - 14), m.start()):
            span = norm[start:end]
            tail = norm[end : end + 12]
            parts = addr.parse(span + _room_tail(tail))
            b = idx.building_for(parts)
            if b is not None:
                return {
                    "building_id": b["id"],
                    "lon": b["lon"],
                    "lat": b["lat"],
                    "grid_code": b["grid_code"],
                    "span": span,
                }
    return None


def _room_tail(tail: str) -> str:
    m = addr.BUILDING_TAIL.match(tail)
    return m.group(0) if m else ""
