"""Organisation use cases: seeding a district, logging in, tokens, API keys, routing lookups.

Authentication answers one question — who is acting — as an :class:`Actor`. Failed logins
count per account; after ``lockout_threshold`` failures the account is locked for
``lockout_seconds`` (the lock is a stored time, so it survives restarts and holds across
processes). Tokens and API keys are random secrets of which only a SHA-256 digest is stored.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from civicloop.core.errors import AuthError, ConflictError, InputError, LockedError
from civicloop.core.ids import new_secret, new_uuid, secret_digest
from civicloop.core.rawsql import Raw
from civicloop.core.security import hash_password, verify_password
from civicloop.ledger.service import Action, record
from civicloop.org import store
from civicloop.org.model import (
    SYSTEM_ACTOR,
    Actor,
    LoopLevel,
    RegionLevel,
    Responsibility,
    Role,
)
from civicloop.runtime import Platform


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    path: str
    centroid: tuple[float, float] | None


# ---------------------------------------------------------------- seeding


def seed_district(
    p: Platform, plan: Any, *, password: str, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Write a generated district (``demo.generator.DistrictPlan``) in one transaction.

    Regions go in parent-first order, then departments, the responsibility matrix from the
    catalogue's defaults, and the persona users. Raises ConflictError when a district exists.
    """
    now = p.clock.now()
    pw_hash = hash_password(password)
    paths: dict[str, str] = {}
    with p.db.write() as conn:
        if conn.execute(select(func.count()).select_from(store.regions)).scalar():
            raise ConflictError(
                "a district is already set up in this data directory", code="org.already_seeded"
            )
        rows = []
        for r in plan.regions():
            parent_path = paths.get(r.parent_code, "/") if r.parent_code else "/"
            path = f"{parent_path}{r.code}/"
            paths[r.code] = path
            rows.append(
                {
                    "code": r.code,
                    "name": r.name,
                    "level": str(r.level),
                    "parent_code": r.parent_code,
                    "path": path,
                    "geometry": r.geometry,
                    "centroid_lon": r.centroid[0],
                    "centroid_lat": r.centroid[1],
                    "area_m2": r.area_m2,
                }
            )
        for i in range(0, len(rows), 2000):
            conn.execute(insert(store.regions), rows[i : i + 2000])
            if progress is not None:
                progress(min(i + 2000, len(rows)), len(rows))
        conn.execute(
            insert(store.departments),
            [
                {
                    "code": d.code,
                    "name": d.name,
                    "name_en": d.name_en,
                    "kind": str(d.kind),
                    "region_code": d.region_code,
                }
                for d in plan.departments
            ],
        )
        resp_rows = [
            {
                "element_code": e.code,
                "region_path": "",
                "lead": e.lead_department,
                "assists": list(e.assist_departments),
                "loop_level": str(e.loop_level),
            }
            for e in p.catalogue.elements.values()
        ]
        if resp_rows:
            conn.execute(insert(store.responsibilities), resp_rows)
        for u in plan.users:
            uid = new_uuid()
            conn.execute(
                insert(store.users).values(
                    id=uid,
                    username=u.username,
                    display_name=u.display_name,
                    role=str(u.role),
                    region_code=u.region_code,
                    password_hash=pw_hash,
                    failed_attempts=0,
                    is_active=True,
                    created_at=now,
                )
            )
            for dept in u.department_codes:
                conn.execute(
                    insert(store.user_departments).values(user_id=uid, department_code=dept)
                )
        record(
            conn,
            SYSTEM_ACTOR,
            [
                Action(
                    "district.seeded",
                    "region",
                    plan.district.code,
                    after={
                        "regions": len(rows),
                        "departments": len(plan.departments),
                        "users": len(plan.users),
                    },
                )
            ],
            at=now,
            request_id="seed",
        )
    p.invalidate_geo()
    return {"regions": len(rows), "departments": len(plan.departments), "users": len(plan.users)}


# ---------------------------------------------------------------- authentication


def login(
    p: Platform, username: str, password: str, *, request_id: str = "-"
) -> tuple[str, datetime]:
    """Check a password and issue a bearer token; returns (token, expires_at).

    Raises AuthError for a wrong user or password (the same message for both) and LockedError
    while the account is locked. Failures and lockouts are written to the ledger.
    """
    now = p.clock.now()
    with p.db.write() as conn:
        row = conn.execute(select(store.users).where(store.users.c.username == username)).first()
        if row is None or not row.is_active:
            verify_password(_dummy_hash(), password)  # same time cost as a real check
            raise AuthError("wrong username or password", code="auth.invalid_credentials")
        if row.locked_until is not None and row.locked_until > now:
            raise LockedError(
                "account is locked after repeated failures; try again later",
                locked_until=row.locked_until.isoformat(),
            )
        if not verify_password(row.password_hash, password):
            attempts = (row.failed_attempts or 0) + 1
            values: dict[str, Any] = {"failed_attempts": attempts}
            actions = [Action("auth.login_failed", "user", row.id, after={"attempts": attempts})]
            if attempts >= p.settings.lockout_threshold:
                values = {
                    "failed_attempts": 0,
                    "locked_until": now + timedelta(seconds=p.settings.lockout_seconds),
                }
                actions.append(Action("auth.locked", "user", row.id, after=values))
            conn.execute(update(store.users).where(store.users.c.id == row.id).values(**values))
            record(conn, SYSTEM_ACTOR, actions, at=now, request_id=request_id)
            # Commit the counter, then refuse: raising inside the block would roll it back.
            failed = True
        else:
            failed = False
            token = new_secret("clt")
            expires = now + timedelta(seconds=p.settings.token_ttl_seconds)
            conn.execute(
                update(store.users)
                .where(store.users.c.id == row.id)
                .values(failed_attempts=0, locked_until=None)
            )
            conn.execute(
                insert(store.auth_tokens).values(
                    digest=secret_digest(token), user_id=row.id, created_at=now, expires_at=expires
                )
            )
    if failed:
        raise AuthError("wrong username or password", code="auth.invalid_credentials")
    return token, expires


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they cost as much as known ones.

    Built on first use, not at import: argon2 is deliberately slow.
    """
    return hash_password("not-a-real-password-0000")


def logout(p: Platform, token: str) -> None:
    digest = secret_digest(token)
    with p.db.write() as conn:
        conn.execute(delete(store.auth_tokens).where(store.auth_tokens.c.digest == digest))
    _TOKEN_CACHE.pop(digest, None)


# Every API request resolves its token; a few seconds of caching saves three queries per request.
# A logout in this process takes effect at once; one in another process within this many seconds.
TOKEN_CACHE_SECONDS = 5.0
_TOKEN_CACHE: dict[str, tuple[float, datetime, Actor]] = {}


def cached_actor_for_token(p: Platform, token: str) -> Actor | None:
    """The actor behind a token if it was resolved in the last few seconds (no I/O)."""
    hit = _TOKEN_CACHE.get(secret_digest(token))
    if (
        hit is not None
        and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS
        and hit[1] > p.clock.now()
    ):
        return hit[2]
    return None


def actor_for_token(p: Platform, token: str) -> Actor:
    """The actor behind a bearer token; AuthError when unknown or expired."""
    cached = cached_actor_for_token(p, token)
    if cached is not None:
        return cached
    digest = secret_digest(token)
    mono = time.monotonic()
    actor, expires = _load_token(p, digest)
    if len(_TOKEN_CACHE) > 10_000:
        _TOKEN_CACHE.clear()
    _TOKEN_CACHE[digest] = (mono, expires, actor)
    return actor


def _load_token(p: Platform, digest: str) -> tuple[Actor, datetime]:
    now = p.clock.now()
    with p.db.read() as conn:
        row = conn.execute(
            select(store.users, store.auth_tokens.c.expires_at)
            .join(store.auth_tokens, store.auth_tokens.c.user_id == store.users.c.id)
            .where(store.auth_tokens.c.digest == digest)
        ).first()
        if row is None or row.expires_at <= now or not row.is_active:
            raise AuthError("token is missing, unknown or expired", code="auth.invalid_token")
        return _actor_from_row(conn, row), row.expires_at


def actor_for_user(p: Platform, username: str) -> Actor:
    with p.db.read() as conn:
        row = conn.execute(select(store.users).where(store.users.c.username == username)).first()
        if row is None:
            raise AuthError(f"no user {username!r}", code="auth.unknown_user")
        return _actor_from_row(conn, row)


def _actor_from_row(conn: Connection, row: Any) -> Actor:
    depts = frozenset(
        conn.execute(
            select(store.user_departments.c.department_code).where(
                store.user_departments.c.user_id == row.id
            )
        ).scalars()
    )
    path = ""
    if row.region_code:
        path = (
            conn.execute(
                select(store.regions.c.path).where(store.regions.c.code == row.region_code)
            ).scalar()
            or ""
        )
    return Actor(
        id=row.id,
        role=Role(row.role),
        name=row.display_name,
        region_path=path,
        department_ids=depts,
    )


def create_api_key(
    p: Platform, name: str, *, department_code: str | None = None, actor: Actor = SYSTEM_ACTOR
) -> str:
    """Create a machine-client key and return it; only its digest is kept."""
    if not name or len(name) > 128:
        raise InputError("name must be 1–128 characters", field="name", rule="length")
    key = new_secret("clk")
    kid = new_uuid()
    now = p.clock.now()
    with p.db.write() as conn:
        if conn.execute(select(store.api_keys.c.id).where(store.api_keys.c.name == name)).first():
            raise ConflictError(f"an API key named {name!r} exists", code="apikey.name_taken")
        conn.execute(
            insert(store.api_keys).values(
                id=kid,
                name=name,
                digest=secret_digest(key),
                prefix=key[:8],
                department_code=department_code,
                created_at=now,
            )
        )
        record(
            conn,
            actor,
            [Action("apikey.created", "api_key", kid, after={"name": name, "prefix": key[:8]})],
            at=now,
            request_id="-",
        )
    return key


def actor_for_api_key(p: Platform, key: str) -> Actor:
    with p.db.read() as conn:
        row = conn.execute(
            select(store.api_keys).where(store.api_keys.c.digest == secret_digest(key))
        ).first()
    if row is None or row.revoked_at is not None:
        raise AuthError("API key is unknown or revoked", code="auth.invalid_api_key")
    depts = frozenset({row.department_code}) if row.department_code else frozenset()
    return Actor(
        id=f"key:{row.id}",
        role=Role.MACHINE_CLIENT,
        name=row.name,
        department_ids=depts,
        is_machine=True,
    )


# ---------------------------------------------------------------- lookups for other contexts


def read_region(conn: Connection, code: str) -> Region | None:
    r = conn.execute(select(store.regions).where(store.regions.c.code == code)).first()
    if r is None:
        return None
    centroid = (r.centroid_lon, r.centroid_lat) if r.centroid_lon is not None else None
    return Region(r.code, r.name, RegionLevel(r.level), r.parent_code, r.path, centroid)


def list_grids(p: Platform) -> list[tuple[str, dict[str, Any], str]]:
    """Every grid as (code, GeoJSON geometry, territorial path)."""
    with p.db.read() as conn:
        return [
            (r.code, r.geometry, r.path)
            for r in conn.execute(
                select(store.regions.c.code, store.regions.c.geometry, store.regions.c.path)
                .where(store.regions.c.level == str(RegionLevel.GRID))
                .order_by(store.regions.c.code)
            )
        ]


def list_regions(
    conn: Connection, *, level: RegionLevel | None = None, parent_code: str | None = None
) -> list[Region]:
    q = select(
        store.regions.c.code,
        store.regions.c.name,
        store.regions.c.level,
        store.regions.c.parent_code,
        store.regions.c.path,
        store.regions.c.centroid_lon,
        store.regions.c.centroid_lat,
    ).order_by(store.regions.c.code)
    if level is not None:
        q = q.where(store.regions.c.level == str(level))
    if parent_code is not None:
        q = q.where(store.regions.c.parent_code == parent_code)
    return [
        Region(
            r.code,
            r.name,
            RegionLevel(r.level),
            r.parent_code,
            r.path,
            (r.centroid_lon, r.centroid_lat) if r.centroid_lon is not None else None,
        )
        for r in conn.execute(q)
    ]


def existing_departments(conn: Connection, codes: Iterable[str]) -> set[str]:
    """Which of ``codes`` are departments (one query; used on every dispatch, so raw SQL)."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    raw = Raw(conn)
    marks = ", ".join(f":c{i}" for i in range(len(wanted)))
    rows = raw.all(
        f"SELECT code FROM departments WHERE code IN ({marks})",
        {f"c{i}": c for i, c in enumerate(wanted)},
    )
    return {str(r["code"]) for r in rows}


def department_name(conn: Connection, code: str) -> str | None:
    """The display name of one department (public tracking shows who is handling a case)."""
    d = store.departments.c
    name = conn.execute(select(d.name).where(d.code == code)).scalar()
    return str(name) if name is not None else None


def list_departments(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(select(store.departments).order_by(store.departments.c.code))
    ]


def responsibilities_of(conn: Connection, element_code: str) -> list[Responsibility]:
    return [
        Responsibility(
            r.element_code, r.region_path, r.lead, tuple(r.assists or ()), LoopLevel(r.loop_level)
        )
        for r in conn.execute(
            select(store.responsibilities).where(
                store.responsibilities.c.element_code == element_code
            )
        )
    ]


def set_responsibility(
    p: Platform, row: Responsibility, *, actor: Actor, request_id: str = "-"
) -> None:
    """Insert or replace one row of the responsibility matrix (recorded in the ledger)."""
    now = p.clock.now()
    with p.db.write() as conn:
        named = [c for c in (row.lead, *row.assists) if not c.startswith("@")]
        unknown = sorted(set(named) - existing_departments(conn, named))
        if unknown:
            raise InputError(f"unknown department {unknown[0]!r}", field="lead", rule="exists")
        before = conn.execute(
            select(store.responsibilities).where(
                store.responsibilities.c.element_code == row.element_code,
                store.responsibilities.c.region_path == row.region_path,
            )
        ).first()
        conn.execute(
            delete(store.responsibilities).where(
                store.responsibilities.c.element_code == row.element_code,
                store.responsibilities.c.region_path == row.region_path,
            )
        )
        conn.execute(
            insert(store.responsibilities).values(
                element_code=row.element_code,
                region_path=row.region_path,
                lead=row.lead,
                assists=list(row.assists),
                loop_level=str(row.loop_level),
            )
        )
        record(
            conn,
            actor,
            [
                Action(
                    "responsibility.set",
                    "element",
                    row.element_code,
                    before=dict(before._mapping) if before else None,
                    after={
                        "region_path": row.region_path,
                        "lead": row.lead,
                        "assists": list(row.assists),
                        "loop_level": str(row.loop_level),
                    },
                )
            ],
            at=now,
            request_id=request_id,
        )
    p.invalidate_routes()


def resolve_department(code: str, region_path: str) -> str:
    """Turn ``@street`` / ``@community`` into the street office / committee of ``region_path``."""
    if not code.startswith("@"):
        return code
    parts = [c for c in region_path.split("/") if c]
    wanted = {"@street": 1, "@community": 2}.get(code)
    if wanted is None or len(parts) <= wanted:
        raise InputError(f"cannot resolve {code} for this place", field="lead", rule="placeholder")
    prefix = "street" if code == "@street" else "community"
    return f"{prefix}-{parts[wanted]}"
