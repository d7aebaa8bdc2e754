"""Entity resolution use cases: link runs, the review queue, merge and unmerge, golden ids.

A **run** gathers records — the registries' legal entities, buildings and people; the
platform's own permits, enterprises and their demands, device owners and cases
(``resolution_sources``); and records outside sources handed in before (``civicloop links run
--file``) — resolves them (``resolution_model.resolve``: exact credit code / ID
number first, then splink on DuckDB), and stores one row per record in ``entity_links`` with its
cluster's **golden id**. Golden ids are stable: a cluster keeps the golden id its members
already had (the smallest when clusters join), new clusters get a new one.

Uncertain pairs go to the **review queue**. Accepting one merges the two clusters; rejecting it
remembers the pair so no later run links or queues it again. A person may also **merge** two
clusters or **unmerge** one record out of its cluster (the record gets a golden id of its own and
"not the same" pairs against the rest, so a re-run does not undo the person's decision). Every
merge and unmerge is a ``link_merges`` row and a ledger entry; a run writes one summary entry.

Only admins change links; admins and auditors read them (person names masked for auditors).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, or_, select

from civicloop.core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from civicloop.core.ids import new_uuid
from civicloop.core.security import mask_name
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, Actor, Role
from civicloop.registry import links as t
from civicloop.registry import resolution_sources as sources
from civicloop.registry.resolution_model import Pair, Record, Thresholds, resolve
from civicloop.registry.resolution_sources import (  # noqa: F401  (parse_external: callers' API)
    ATTRS,
    SourceLimits,
    parse_external,
    registry_records,
    stored_records,
)
from civicloop.runtime import Platform

WRITERS = frozenset({Role.ADMIN})
READERS = frozenset({Role.ADMIN, Role.AUDITOR})


def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor is SYSTEM_ACTOR or actor.role in roles:
        return
    raise ForbiddenError(f"this role does not {what}", action=f"links.{what.replace(' ', '_')}")


def _new_golden() -> str:
    return "G" + new_uuid()[:20]


# ---------------------------------------------------------------- runs


def _rejected(conn: Connection) -> list[tuple[str, str]]:
    r = t.link_reviews
    return [
        (row.left_key, row.right_key)
        for row in conn.execute(select(r.c.left_key, r.c.right_key).where(r.c.status == "rejected"))
    ]


def _manual_pairs(conn: Connection) -> list[Pair]:
    """Records a person put together stay together: chain each manual member to its cluster."""
    e = t.entity_links
    by: dict[str, list[str]] = {}
    for row in conn.execute(select(e.c.record_key, e.c.golden_id).where(e.c.method == "manual")):
        by.setdefault(row.golden_id, []).append(row.record_key)
    pairs = []
    for golden, keys in by.items():
        others = [
            row.record_key
            for row in conn.execute(select(e.c.record_key).where(e.c.golden_id == golden))
        ]
        for k in keys:
            for o in others:
                if o != k:
                    pairs.append(Pair(min(k, o), max(k, o), 1.0, "manual"))
    return pairs


def run_linkage(
    p: Platform,
    actor: Actor,
    *,
    external: list[Record] | None = None,
    thresholds: Thresholds | None = None,
    include_registry: bool = True,
    platform_sources: bool = True,
    limits: SourceLimits | None = None,
    request_id: str = "-",
) -> dict[str, Any]:
    """Resolve every known record (plus ``external`` ones) and store clusters and reviews.

    With ``platform_sources`` (the default) the platform's own permits, enterprises, demands,
    device owners and cases are gathered afresh (``resolution_sources.gather``) and stored
    platform rows whose source record is gone are dropped (with their pending reviews);
    without it the platform rows of the last run are carried over as they are.

    Raises ForbiddenError unless the actor is an admin (or the system); InputError for bad
    thresholds or limits.
    """
    _require(actor, WRITERS, "run linkage")
    th = thresholds or Thresholds()
    if not 0 < th.low < th.high <= 1:
        raise InputError("thresholds need 0 < low < high ≤ 1", field="high", rule="range")
    lim = limits or SourceLimits()
    lim.check()
    records: dict[str, Record] = {}
    if include_registry:
        records.update((r.key, r) for r in registry_records(p))
    gathered = sources.gather(p, lim) if platform_sources else None
    with p.db.read() as conn:
        records.update((r.key, r) for r in stored_records(conn, platform=gathered is None))
        rejected = _rejected(conn)
        manual = _manual_pairs(conn)
        old = {
            row.record_key: (row.golden_id, row.method)
            for row in conn.execute(
                select(
                    t.entity_links.c.record_key, t.entity_links.c.golden_id, t.entity_links.c.method
                )
            )
        }
    if gathered is not None:
        records.update((r.key, r) for r in gathered.records)
    records.update((r.key, r) for r in external or [])
    # a record pinned to another (a case the address matcher placed at a building) skips
    # splink: it joins its target's cluster below
    pinned = {k: str(r.extra["link_to"]) for k, r in records.items() if r.extra.get("link_to")}
    pin_method = {k: str(records[k].extra.get("link_method") or "exact_key") for k in pinned}
    result = resolve([r for k, r in records.items() if k not in pinned], th, rejected=rejected)
    # manual decisions join clusters too
    from civicloop.registry.resolution_model import UnionFind

    uf = UnionFind(records)
    for cluster in result.clusters:
        for k in cluster[1:]:
            uf.union(cluster[0], k)
    for pair in manual:
        if pair.left in records and pair.right in records:
            uf.union(pair.left, pair.right)
    how: dict[str, tuple[str, float]] = {}
    said_no = {(a, b) for a, b in rejected}
    for k, target in pinned.items():
        # an unmerged pin stays out: unmerge stored "not the same" pairs against the cluster
        if target in records and (min(k, target), max(k, target)) not in said_no:
            uf.union(k, target)
            how[k] = (pin_method[k], 1.0)
    for link in result.links:
        for k in (link.left, link.right):
            if how.get(k, ("", 0.0))[1] <= link.probability:
                how[k] = (link.method, link.probability)
    now = p.clock.now()
    rows: list[dict[str, Any]] = []
    for cluster in uf.groups():
        have = Counter(old[k][0] for k in cluster if k in old)
        golden = min(have) if have else _new_golden()
        for k in cluster:
            rec = records[k]
            method, prob = how.get(k, ("own", 1.0))
            if k in old and old[k][1] == "manual":
                method, prob = "manual", 1.0
            attrs = {a: getattr(rec, a) for a in ATTRS if getattr(rec, a)}
            if k in pinned:
                attrs["link_to"], attrs["link_method"] = pinned[k], pin_method[k]
            rows.append(
                {
                    "record_key": k,
                    "kind": rec.kind,
                    "source": rec.source,
                    "record_id": rec.record_id,
                    "golden_id": golden,
                    "method": method,
                    "probability": prob,
                    "label": (rec.extra.get("label") or rec.name or rec.address or "")[:200]
                    or None,
                    "credit_code": (rec.credit_code or None) and rec.credit_code[:18],
                    "attrs": attrs,
                    "updated_at": now,
                }
            )
    changed = sum(1 for r in rows if old.get(r["record_key"], ("",))[0] != r["golden_id"])
    stale = (
        sorted(k for k in old if k.startswith(sources.PREFIX) and k not in records)
        if gathered is not None
        else []
    )
    with p.db.write() as conn:
        e, rv = t.entity_links, t.link_reviews
        for i in range(0, len(stale), 2000):
            chunk = stale[i : i + 2000]
            conn.execute(e.delete().where(e.c.record_key.in_(chunk)))
            for col in (rv.c.left_key, rv.c.right_key):
                conn.execute(rv.delete().where(col.in_(chunk), rv.c.status == "pending"))
        for i in range(0, len(rows), 2000):
            chunk = rows[i : i + 2000]
            conn.execute(e.delete().where(e.c.record_key.in_([r["record_key"] for r in chunk])))
            conn.execute(e.insert(), chunk)
        queued = _queue_reviews(conn, result.reviews, records, now)
        summary = {
            "records": len(rows),
            "clusters": len({r["golden_id"] for r in rows}),
            "auto_links": len(result.links) + sum(1 for k in pinned if k in how),
            "reviews_queued": queued,
            "golden_changed": changed,
            "high": th.high,
            "low": th.low,
            "platform_sources": gathered is not None,
            "sources": dict(sorted(Counter(r["source"] for r in rows).items())),
            "stale_dropped": len(stale),
        }
        if gathered is not None:
            summary["invalid_credit_codes"] = gathered.invalid_codes
            summary["case_days"], summary["max_cases"] = lim.case_days, lim.max_cases
        record(
            conn,
            actor,
            [Action("links.run_completed", "entity_links", "run", after=summary)],
            at=now,
            request_id=request_id,
        )
    return summary


def _queue_reviews(
    conn: Connection, reviews: list[Pair], records: dict[str, Record], now: Any
) -> int:
    r = t.link_reviews
    existing = {
        (row.left_key, row.right_key) for row in conn.execute(select(r.c.left_key, r.c.right_key))
    }
    n = 0
    for pair in reviews:
        if (pair.left, pair.right) in existing:
            continue
        conn.execute(
            r.insert().values(
                id=new_uuid(),
                kind=records[pair.left].kind,
                left_key=pair.left,
                right_key=pair.right,
                probability=pair.probability,
                detail=pair.detail,
                status="pending",
                created_at=now,
            )
        )
        n += 1
    return n


# ---------------------------------------------------------------- reads


def _present(actor: Actor, row: Any) -> dict[str, Any]:
    v = dict(row._mapping)
    if actor.role is not Role.ADMIN and actor is not SYSTEM_ACTOR and v.get("kind") == "person":
        v["label"] = mask_name(v.get("label"))
        v["attrs"] = None
    return v


def read_record_link(p: Platform, actor: Actor, record_key: str) -> dict[str, Any]:
    _require(actor, READERS, "read links")
    with p.db.read() as conn:
        row = conn.execute(
            select(t.entity_links).where(t.entity_links.c.record_key == record_key)
        ).first()
    if row is None:
        raise NotFoundError("no such linked record", code="links.not_found")
    return _present(actor, row)


def read_cluster(p: Platform, actor: Actor, golden_id: str) -> dict[str, Any]:
    """A golden id's members and its merge history."""
    _require(actor, READERS, "read links")
    e, m = t.entity_links, t.link_merges
    with p.db.read() as conn:
        members = [
            _present(actor, r)
            for r in conn.execute(
                select(e).where(e.c.golden_id == golden_id).order_by(e.c.record_key)
            )
        ]
        history = [
            dict(r._mapping)
            for r in conn.execute(
                select(m)
                .where(or_(m.c.golden_id == golden_id, m.c.other_golden_id == golden_id))
                .order_by(m.c.id)
            )
        ]
    if not members and not history:
        raise NotFoundError("no such golden id", code="links.not_found")
    return {"golden_id": golden_id, "members": members, "history": history}


def golden_id_of(p: Platform, source: str, record_id: str) -> str | None:
    """The golden id of one source record (for other contexts), or None when never linked."""
    with p.db.read() as conn:
        row = conn.execute(
            select(t.entity_links.c.golden_id).where(
                t.entity_links.c.record_key == f"{source}:{record_id}"
            )
        ).first()
    return None if row is None else str(row.golden_id)


def list_reviews(
    p: Platform, actor: Actor, *, status: str = "pending", limit: int = 50
) -> list[dict[str, Any]]:
    """Review items with both records side by side, most probable first."""
    _require(actor, READERS, "read links")
    r, e = t.link_reviews, t.entity_links
    with p.db.read() as conn:
        items = [
            dict(x._mapping)
            for x in conn.execute(
                select(r)
                .where(r.c.status == status)
                .order_by(r.c.probability.desc(), r.c.id)
                .limit(max(1, min(limit, 500)))
            )
        ]
        keys = {k for i in items for k in (i["left_key"], i["right_key"])}
        recs = {
            x.record_key: _present(actor, x)
            for x in conn.execute(select(e).where(e.c.record_key.in_(keys)))
        }
    for i in items:
        i["left"], i["right"] = recs.get(i["left_key"]), recs.get(i["right_key"])
    return items


# ---------------------------------------------------------------- decisions


def _golden(conn: Connection, record_key: str) -> str:
    row = conn.execute(
        select(t.entity_links.c.golden_id).where(t.entity_links.c.record_key == record_key)
    ).first()
    if row is None:
        raise NotFoundError(f"record {record_key} is not linked", code="links.not_found")
    return str(row.golden_id)


def _merge_in(
    conn: Connection, actor: Actor, keep: str, other: str, reason: str, now: Any
) -> list[Action]:
    e = t.entity_links
    moved = [
        r.record_key for r in conn.execute(select(e.c.record_key).where(e.c.golden_id == other))
    ]
    if not moved:
        raise NotFoundError(f"golden id {other} has no members", code="links.not_found")
    conn.execute(
        e.update()
        .where(e.c.golden_id == other)
        .values(golden_id=keep, method="manual", probability=1.0, updated_at=now)
    )
    # the surviving cluster's own members are pinned too, so a re-run keeps the merge
    conn.execute(e.update().where(e.c.golden_id == keep).values(method="manual"))
    conn.execute(
        t.link_merges.insert().values(
            action="merged",
            golden_id=keep,
            other_golden_id=other,
            members=moved,
            actor_id=actor.id,
            reason=reason,
            at=now,
        )
    )
    return [
        Action(
            "links.merged",
            "golden",
            keep,
            before={"golden_id": other},
            after={"golden_id": keep, "members_moved": moved, "reason": reason},
        )
    ]


def merge(
    p: Platform,
    actor: Actor,
    golden_id: str,
    other_golden_id: str,
    *,
    reason: str,
    request_id: str = "-",
) -> dict[str, Any]:
    """Merge ``other_golden_id`` into ``golden_id`` (admins). History and ledger."""
    _require(actor, WRITERS, "merge")
    reason = (reason or "").strip()
    if not reason:
        raise InputError("reason is required", field="reason", rule="required")
    if golden_id == other_golden_id:
        raise InputError(
            "cannot merge a cluster with itself", field="other_golden_id", rule="distinct"
        )
    now = p.clock.now()
    with p.db.write() as conn:
        if not conn.execute(
            select(t.entity_links.c.record_key).where(t.entity_links.c.golden_id == golden_id)
        ).first():
            raise NotFoundError(f"golden id {golden_id} has no members", code="links.not_found")
        actions = _merge_in(conn, actor, golden_id, other_golden_id, reason[:2000], now)
        record(conn, actor, actions, at=now, request_id=request_id)
    return read_cluster(p, actor, golden_id)


def unmerge(
    p: Platform, actor: Actor, record_key: str, *, reason: str, request_id: str = "-"
) -> dict[str, Any]:
    """Take one record out of its cluster: it gets its own golden id, and "not the same"
    pairs against the rest so re-runs respect the decision. History and ledger."""
    _require(actor, WRITERS, "unmerge")
    reason = (reason or "").strip()
    if not reason:
        raise InputError("reason is required", field="reason", rule="required")
    now = p.clock.now()
    e, r = t.entity_links, t.link_reviews
    with p.db.write() as conn:
        old = _golden(conn, record_key)
        rest = [
            x.record_key
            for x in conn.execute(
                select(e.c.record_key).where(e.c.golden_id == old, e.c.record_key != record_key)
            )
        ]
        if not rest:
            raise ConflictError("the record is alone in its cluster", code="links.alone")
        new = _new_golden()
        conn.execute(
            e.update()
            .where(e.c.record_key == record_key)
            .values(golden_id=new, method="manual", probability=1.0, updated_at=now)
        )
        kind = conn.execute(select(e.c.kind).where(e.c.record_key == record_key)).scalar_one()
        for other in rest:
            left, right = min(record_key, other), max(record_key, other)
            conn.execute(r.delete().where(r.c.left_key == left, r.c.right_key == right))
            conn.execute(
                r.insert().values(
                    id=new_uuid(),
                    kind=kind,
                    left_key=left,
                    right_key=right,
                    probability=0.0,
                    detail={"unmerged": True},
                    status="rejected",
                    created_at=now,
                    decided_by=actor.id,
                    decided_at=now,
                    note=reason[:2000],
                )
            )
        conn.execute(
            t.link_merges.insert().values(
                action="unmerged",
                golden_id=new,
                other_golden_id=old,
                members=[record_key],
                actor_id=actor.id,
                reason=reason[:2000],
                at=now,
            )
        )
        record(
            conn,
            actor,
            [
                Action(
                    "links.unmerged",
                    "golden",
                    old,
                    before={"golden_id": old, "record_key": record_key},
                    after={"golden_id": new, "reason": reason[:2000]},
                )
            ],
            at=now,
            request_id=request_id,
        )
    return {"record_key": record_key, "golden_id": new, "previous_golden_id": old}


def decide_review(
    p: Platform,
    actor: Actor,
    review_id: str,
    *,
    accept: bool,
    note: str = "",
    request_id: str = "-",
) -> dict[str, Any]:
    """Accept (merge the two clusters) or reject (remember "not the same") a review item.

    Raises NotFoundError for an unknown item, ConflictError when it was already decided.
    """
    _require(actor, WRITERS, "decide reviews")
    now = p.clock.now()
    r = t.link_reviews
    with p.db.write() as conn:
        item = conn.execute(select(r).where(r.c.id == review_id)).first()
        if item is None:
            raise NotFoundError("no such review item", code="links.review_not_found")
        if item.status != "pending":
            raise ConflictError(f"the item was already {item.status}", code="links.decided")
        done = conn.execute(
            r.update()
            .where(r.c.id == review_id, r.c.status == "pending")
            .values(
                status="accepted" if accept else "rejected",
                decided_by=actor.id,
                decided_at=now,
                note=note.strip()[:2000] or None,
            )
        ).rowcount
        if done != 1:
            raise ConflictError("someone decided the item first", code="links.decided")
        actions = [
            Action(
                "links.review_decided",
                "link_review",
                review_id,
                before={"status": "pending"},
                after={
                    "status": "accepted" if accept else "rejected",
                    "left": item.left_key,
                    "right": item.right_key,
                },
            )
        ]
        if accept:
            keep, other = _golden(conn, item.left_key), _golden(conn, item.right_key)
            if keep != other:
                keep, other = min(keep, other), max(keep, other)
                actions += _merge_in(conn, actor, keep, other, f"review {review_id}", now)
        record(conn, actor, actions, at=now, request_id=request_id)
    return {"id": review_id, "status": "accepted" if accept else "rejected"}
