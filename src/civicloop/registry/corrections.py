"""Site corrections: facts found on the spot come back to the registry, reviewed (the data loop).

A grid worker who finds 12 people living in a flat registered for 3 proposes a correction
(``observed_residents: 12``); a street admin of that territory approves or rejects it. Only an
approved correction changes the record, with a before/after row in ``registry_history`` and a
ledger entry, in one transaction. Proposals never change a record on their own.

::

    proposed ──approve──► approved (applied)
        └─────reject────► rejected

Which fields a correction may touch is ``model.CORRECTABLE`` (identity keys never).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from civicloop.core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from civicloop.core.ids import new_uuid
from civicloop.ledger.service import Action, record
from civicloop.org.model import Actor, Role
from civicloop.registry import service, store
from civicloop.registry.importer import plain
from civicloop.registry.model import (
    CORRECTABLE,
    CorrectionStatus,
    Kind,
    LicenceStatus,
    RoomUse,
    parse_bool,
)
from civicloop.runtime import Platform

PROPOSERS = frozenset({Role.GRID_WORKER, Role.STREET_ADMIN, Role.ADMIN})
REVIEWERS = frozenset({Role.STREET_ADMIN, Role.ADMIN})


def _check_value(p: Platform, kind: Kind, name: str, value: Any) -> Any:
    def bad(rule: str, message: str) -> InputError:
        return InputError(message, field=f"changes.{name}", rule=rule)

    if name in {"observed_residents", "residents_limit"}:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
            raise bad("int.range", f"{name} must be a whole number 0–1000")
        if name == "residents_limit" and value < 1:
            raise bad("int.range", "residents_limit must be at least 1")
        return value
    if name == "area_m2":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 1e5:
            raise bad("area.range", "area_m2 must be 1–100000")
        return float(value)
    if name == "use":
        if value not in set(RoomUse):
            raise bad("use.value", f"use must be one of {', '.join(RoomUse)}")
        return value
    if name == "licence_status":
        if value not in set(LicenceStatus):
            raise bad("licence_status.value", f"one of {', '.join(LicenceStatus)}")
        return value
    if name.startswith(("is_", "has_")):
        flag = value if isinstance(value, bool) else parse_bool(str(value))
        if flag is None:
            raise bad("bool", f"{name} must be true or false")
        return flag
    if name == "room_id":
        if value is not None:
            service.get_room(p, str(value))  # NotFoundError when the room is unknown
        return value
    if value is not None and (not isinstance(value, str) or len(value) > 300):
        raise bad("text", f"{name} must be text of at most 300 characters")
    return value


def propose_correction(
    p: Platform,
    actor: Actor,
    kind: Kind | str,
    record_id: str,
    changes: dict[str, Any],
    note: str | None = None,
    *,
    request_id: str = "-",
) -> dict[str, Any]:
    """Store a proposed correction of a record in the actor's territory.

    Raises ForbiddenError for roles that do not work on site, NotFoundError for a record not
    found or outside the territory, InputError for a field that may not be corrected or a bad
    value.
    """
    if actor.role not in PROPOSERS:
        raise ForbiddenError("corrections are proposed by grid workers and street admins")
    kind = service.table_kind(kind)
    if kind not in CORRECTABLE:
        raise InputError(f"{kind} records are not corrected on site", field="kind", rule="kind")
    rec = service.access_record(p, actor, kind, record_id)
    if not changes:
        raise InputError("changes must not be empty", field="changes", rule="required")
    allowed = CORRECTABLE[kind]
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in allowed:
            raise InputError(
                f"{name!r} cannot be corrected; allowed: {', '.join(sorted(allowed))}",
                field=f"changes.{name}",
                rule="correctable",
            )
        clean[name] = _check_value(p, kind, name, value)
    now = p.clock.now()
    row = {
        "id": new_uuid(),
        "kind": str(kind),
        "record_id": record_id,
        "changes": clean,
        "note": (note or "").strip()[:2000] or None,
        "status": str(CorrectionStatus.PROPOSED),
        "region_path": service.record_region_path(p, kind, rec) or "/",
        "proposed_by": actor.id,
        "proposed_at": now,
    }
    with p.db.write() as conn:
        conn.execute(insert(store.corrections).values(**row))
        record(
            conn,
            actor,
            [
                Action(
                    "registry.correction_proposed",
                    str(kind),
                    record_id,
                    after=clean,
                    extra={"correction_id": row["id"]},
                )
            ],
            at=now,
            request_id=request_id,
        )
    return row


def _derived(p: Platform, conn: Any, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """Columns that follow from a corrected field: a person's grid from the new room, an
    entity's building and grid from the new operating address."""
    if kind is Kind.PERSON and "room_id" in values:
        grid = None
        if values["room_id"]:
            grid = conn.execute(
                select(store.rooms.c.grid_code).where(store.rooms.c.id == values["room_id"])
            ).scalar()
        return {"grid_code": grid}
    if kind is Kind.ENTITY and "operating_address" in values:
        from civicloop.registry.address import parse

        b = service.address_index(p, rooms=False).building_for(
            parse(values["operating_address"] or "")
        )
        return {"building_id": b["id"] if b else None, "grid_code": b["grid_code"] if b else None}
    return {}


def _load(conn: Any, correction_id: str) -> dict[str, Any] | None:
    r = conn.execute(
        select(store.corrections).where(store.corrections.c.id == correction_id)
    ).first()
    return dict(r._mapping) if r else None


def review_correction(
    p: Platform,
    actor: Actor,
    correction_id: str,
    *,
    approve: bool,
    note: str | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """Approve (apply, with history and ledger) or reject a proposed correction.

    Raises ForbiddenError for roles that do not review, NotFoundError for a correction outside
    the reviewer's territory, ConflictError when it was already reviewed.
    """
    if actor.role not in REVIEWERS:
        raise ForbiddenError("corrections are reviewed by street admins")
    now = p.clock.now()
    with p.db.write() as conn:
        c = _load(conn, correction_id)
        if c is None or not (actor.region_path == "/" or actor.covers(c["region_path"])):
            raise NotFoundError("correction not found", code="registry.correction_not_found")
        if c["status"] != CorrectionStatus.PROPOSED:
            raise ConflictError(
                f"the correction is already {c['status']}", code="registry.correction_reviewed"
            )
        kind = Kind(c["kind"])
        status = CorrectionStatus.APPROVED if approve else CorrectionStatus.REJECTED
        res = conn.execute(
            update(store.corrections)
            .where(
                store.corrections.c.id == correction_id, store.corrections.c.status == "proposed"
            )
            .values(status=str(status), reviewed_by=actor.id, reviewed_at=now, review_note=note)
        )
        if res.rowcount != 1:
            raise ConflictError(
                "the correction was reviewed meanwhile", code="registry.correction_reviewed"
            )
        actions = []
        if approve:
            t, key = service.table_of(kind), service.key_column(kind)
            current = conn.execute(select(t).where(key == c["record_id"])).first()
            if current is None:
                raise NotFoundError(f"{kind} not found", code=f"registry.{kind}_not_found")
            values = dict(c["changes"])
            if "observed_residents" in values:
                values["observed_at"] = now
            values.update(_derived(p, conn, kind, values))
            before = {k: plain(current._mapping[k]) for k in c["changes"]}
            conn.execute(update(t).where(key == c["record_id"]).values(**values, updated_at=now))
            conn.execute(
                insert(store.history).values(
                    kind=str(kind),
                    record_id=c["record_id"],
                    change="corrected",
                    before=before,
                    after=c["changes"],
                    source=f"correction:{correction_id}",
                    actor_id=actor.id,
                    at=now,
                )
            )
            actions.append(
                Action(
                    "registry.corrected",
                    str(kind),
                    c["record_id"],
                    before=before,
                    after=c["changes"],
                    extra={"correction_id": correction_id},
                )
            )
        else:
            actions.append(
                Action(
                    "registry.correction_rejected",
                    str(kind),
                    c["record_id"],
                    after={"correction_id": correction_id, "note": note},
                )
            )
        record(conn, actor, actions, at=now, request_id=request_id)
        c.update(status=str(status), reviewed_by=actor.id, reviewed_at=now, review_note=note)
    if approve:
        service.forget_index(p)
    return c


def list_corrections(
    p: Platform, actor: Actor, *, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Corrections in the actor's territory, newest first."""
    if actor.role not in PROPOSERS | REVIEWERS and actor.role is not Role.DISTRICT_SUPERVISOR:
        raise ForbiddenError("corrections are read by territorial staff")
    c = store.corrections.c
    q = select(store.corrections).order_by(c.proposed_at.desc(), c.id).limit(limit)
    if actor.region_path != "/":
        q = q.where(c.region_path.startswith(actor.region_path, autoescape=True))
    if status:
        q = q.where(c.status == status)
    with p.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def corrections_of(p: Platform, kind: Kind | str, record_id: str) -> list[dict[str, Any]]:
    c = store.corrections.c
    with p.db.read() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(store.corrections)
                .where(c.kind == str(kind), c.record_id == record_id)
                .order_by(c.proposed_at, c.id)
            )
        ]
