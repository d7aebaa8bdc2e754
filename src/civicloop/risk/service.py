"""Risk and credit use cases: the data loop, scores, heat, and the priority hint.

**The data loop** (:func:`consume`) is a ledger consumer. The cursor (``risk_cursor``) is the
last ledger seq it has read; each run reads the ``case.*`` entries after it, turns each ending
(closed, voided as unfounded, reworked, not fixed, reopened) into an outcome, finds the subjects
the case touched — its grid, the enterprise whose credit code it names, the building or room at
its address (asked of the registry) — adds the outcome to their raw indicator values, rescores
them on the active scorecards and writes, in ONE transaction with the cursor move: the outcome
row, the facts, the new scores, their history with the cause, and the ledger entries
(``risk.outcome_applied`` on the case, ``risk.score_changed`` on each subject, with before and
after and the indicators that moved). Two consumers at once (the server's sweeper and
``civicloop risk update``) serialise on the cursor row; a ledger entry is applied once
(``risk_outcomes.ledger_seq`` is unique).

Reads are authorised here: district-wide roles see everything, territorial roles the subjects
whose grid lies in their territory, department handlers enterprises' scores; citizens,
enterprises and machine clients none (a subject outside one's scope is "not found").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from civicloop.core.errors import ForbiddenError, InputError, NotFoundError
from civicloop.core.idcodes import is_valid_credit_code
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, TERRITORIAL_ROLES, Actor, Role
from civicloop.risk import priority, scorecards, store
from civicloop.risk.model import (
    CASE_ACTIONS,
    OUTCOME_FACTS,
    Outcome,
    Score,
    Scorecard,
    SubjectKind,
    band_rank,
    outcome_of,
    score,
)
from civicloop.runtime import Platform

CURSOR = "cases"
REGISTRY_ACTIONS = ("registry.corrected",)
WIDE_ROLES = frozenset({Role.ADMIN, Role.AUDITOR, Role.DISTRICT_SUPERVISOR})
_CREDIT = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str
    grid_code: str | None = None
    street_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "id": self.id}


# ---------------------------------------------------------------- scope


def _check_reader(actor: Actor) -> None:
    if actor.role in WIDE_ROLES or actor.role in TERRITORIAL_ROLES:
        return
    if actor.role is Role.DEPARTMENT_HANDLER:
        return
    raise ForbiddenError("this role does not read risk scores", action="risk.read")


def _sees(p: Platform, actor: Actor, kind: str, grid_code: str | None) -> bool:
    if actor.role in WIDE_ROLES or actor.region_path == "/":
        return True
    if actor.role is Role.DEPARTMENT_HANDLER:
        return kind == SubjectKind.ENTERPRISE
    path = p.grid_path(grid_code) if grid_code else None
    return path is not None and actor.covers(path)


def street_of(p: Platform, grid_code: str | None) -> str | None:
    """The street (街镇) a grid belongs to, from its path /district/street/community/grid/."""
    path = p.grid_path(grid_code) if grid_code else None
    parts = path.strip("/").split("/") if path else []
    return parts[1] if len(parts) >= 2 else None


# ---------------------------------------------------------------- subjects of a case


def subjects_of_case(p: Platform, view: Mapping[str, Any]) -> list[Subject]:
    """The objects a case touched: its grid; each enterprise whose valid credit code it names;
    the registered building (and room) at its address or named in its description."""
    from civicloop.registry import service as registry
    from civicloop.registry.resolution_model import width_fold

    grid = view.get("grid_code")
    street = view.get("street_code") or street_of(p, grid)
    out: list[Subject] = []
    if grid:
        out.append(Subject(SubjectKind.GRID, str(grid), grid, street))
    text = width_fold(" ".join(str(view.get(k) or "") for k in ("title", "description")))
    for code in sorted(set(_CREDIT.findall(text))):
        if is_valid_credit_code(code):
            out.append(Subject(SubjectKind.ENTERPRISE, code, grid, street))
    match: Mapping[str, Any] | None = None
    if view.get("address"):
        match = registry.match_address(p, str(view["address"]))
    if match is None and view.get("description"):
        match = registry.locate_in_text(p, str(view["description"]))
    if match is not None:
        b_grid = match.get("grid_code") or grid
        b_street = street_of(p, b_grid) or street
        out.append(Subject(SubjectKind.BUILDING, str(match["building_id"]), b_grid, b_street))
        if match.get("room_id"):
            out.append(Subject(SubjectKind.ROOM, str(match["room_id"]), b_grid, b_street))
    return out


def registry_facts(p: Platform, subject: Subject) -> dict[str, float]:
    """Indicator values read from the registry at scoring time (licence status, crowding)."""
    from civicloop.registry import service as registry

    try:
        if subject.kind is SubjectKind.ENTERPRISE:
            e = registry.get_entity(p, subject.id)
            return {
                "licence_invalid": 1.0
                if e.get("licence_status") in ("revoked", "cancelled")
                else 0.0
            }
        if subject.kind is SubjectKind.ROOM:
            r = registry.get_room(p, subject.id)
            limit, seen = r.get("residents_limit"), r.get("observed_residents")
            if limit is not None and seen is not None:
                return {"over_occupied": float(max(0, int(seen) - int(limit)))}
    except NotFoundError:
        pass
    return {}


# ---------------------------------------------------------------- scoring


def _facts(conn: Connection, s: Subject) -> dict[str, float]:
    t = store.risk_facts
    rows = conn.execute(
        select(t.c.indicator, t.c.value).where(
            t.c.subject_kind == str(s.kind), t.c.subject_id == s.id
        )
    )
    return {r.indicator: float(r.value) for r in rows}


def _add_facts(conn: Connection, s: Subject, deltas: Mapping[str, float], now: Any) -> None:
    t = store.risk_facts
    have = _facts(conn, s)
    for indicator, delta in deltas.items():
        key = (t.c.subject_kind == str(s.kind), t.c.subject_id == s.id, t.c.indicator == indicator)
        if indicator in have:
            conn.execute(
                t.update().where(*key).values(value=have[indicator] + delta, updated_at=now)
            )
        else:
            conn.execute(
                t.insert().values(
                    subject_kind=str(s.kind),
                    subject_id=s.id,
                    indicator=indicator,
                    value=delta,
                    updated_at=now,
                )
            )


def _rescore(
    conn: Connection,
    card: Scorecard,
    s: Subject,
    extra: Mapping[str, float],
    cause: dict[str, Any],
    now: Any,
) -> tuple[Score, Action | None]:
    """Score ``s`` from its stored facts (+ registry facts), store it, and return the ledger
    action when the score, band, grade or scorecard version changed."""
    new = score(card, {**_facts(conn, s), **extra})
    t = store.risk_scores
    key = (t.c.subject_kind == str(s.kind), t.c.subject_id == s.id)
    old = conn.execute(select(t).where(*key)).first()
    values = {
        "scorecard": card.code,
        "scorecard_version": card.version,
        "score": new.score,
        "band": new.band,
        "grade": new.grade,
        "explanation": new.explanation(),
        "updated_at": now,
    }
    if s.grid_code:
        values["grid_code"] = s.grid_code
    if s.street_code:
        values["street_code"] = s.street_code
    if old is None:
        conn.execute(t.insert().values(subject_kind=str(s.kind), subject_id=s.id, **values))
    else:
        conn.execute(t.update().where(*key).values(**values))
    same = old is not None and (old.score, old.band, old.grade, old.scorecard_version) == (
        new.score,
        new.band,
        new.grade,
        card.version,
    )
    if same:
        return new, None
    before = None if old is None else {"score": old.score, "band": old.band, "grade": old.grade}
    moved = _moved(old.explanation if old is not None else None, new.explanation())
    conn.execute(
        store.risk_score_history.insert().values(
            subject_kind=str(s.kind),
            subject_id=s.id,
            score=new.score,
            band=new.band,
            grade=new.grade,
            previous_score=None if old is None else old.score,
            previous_band=None if old is None else old.band,
            previous_grade=None if old is None else old.grade,
            cause=cause,
            explanation=new.explanation(),
            at=now,
        )
    )
    after = {
        "score": new.score,
        "band": new.band,
        "grade": new.grade,
        "scorecard": card.code,
        "version": card.version,
        "cause": cause,
        "indicators_moved": moved,
    }
    return new, Action("risk.score_changed", str(s.kind), s.id, before=before, after=after)


def _moved(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The indicators whose raw value or points changed: the 'why' of a score change."""
    before = {i["indicator"]: i for i in (old or {}).get("indicators", [])}
    out = []
    for ind in new["indicators"]:
        was = before.get(ind["indicator"], {"raw": 0.0, "points": 0.0})
        if (was["raw"], was["points"]) != (ind["raw"], ind["points"]):
            out.append(
                {
                    "indicator": ind["indicator"],
                    "raw_before": was["raw"],
                    "raw": ind["raw"],
                    "points_before": was["points"],
                    "points": ind["points"],
                    "cap": ind["cap"],
                }
            )
    return out


# ---------------------------------------------------------------- the data loop


def _cursor(conn: Connection, *, lock: bool = False) -> int | None:
    t = store.risk_cursor
    q = select(t.c.last_seq).where(t.c.name == CURSOR)
    if lock:
        q = q.with_for_update()
    row = conn.execute(q).first()
    return None if row is None else int(row.last_seq)


def consume(p: Platform, *, batch: int = 2000, max_batches: int | None = None) -> dict[str, Any]:
    """Apply every case outcome recorded in the ledger since the cursor (see the module doc).

    Returns counts: entries scanned up to, outcomes applied, scores changed, the new cursor.
    Safe to call from several processes; idempotent.
    """
    from civicloop.cases import queries as case_queries

    cards = scorecards.load(p)
    summary = {"outcomes": 0, "scores_changed": 0, "cursor": 0, "batches": 0}
    raised_before = priority.raised_subjects(p)
    while max_batches is None or summary["batches"] < max_batches:
        with p.db.read() as conn:
            start = _cursor(conn) or 0
            entries, last = store.new_case_entries(
                conn, start, (*CASE_ACTIONS, *REGISTRY_ACTIONS), limit=batch
            )
        summary["cursor"] = start
        if last == start:
            break
        work: list[tuple[dict[str, Any], Outcome, list[Subject]]] = []
        refresh = [hit for e in entries if (hit := _corrected_subject(p, e)) is not None]
        for e in entries:
            outcome = outcome_of(e["action"], e["after"])
            if outcome is None or e["target_type"] != "case":
                continue
            try:
                view = case_queries.read_case(p, SYSTEM_ACTOR, e["target_id"])
            except NotFoundError:
                continue
            work.append((e, outcome, subjects_of_case(p, view)))
        extra = {s: registry_facts(p, s) for _, _, subs in work for s in subs}
        extra.update((s, registry_facts(p, s)) for s, _ in refresh)
        now = p.clock.now()
        with p.db.write() as conn:
            current = _cursor(conn, lock=True)
            if (current or 0) != start:
                continue  # another consumer moved first: read again from its cursor
            actions, changed = _apply(conn, cards, work, extra, now)
            for subj, cause in refresh:  # a site correction changed a registry fact
                card = cards.get(subj.kind)
                if card is not None:
                    _, action = _rescore(conn, card, subj, extra[subj], cause, now)
                    if action is not None:
                        actions.append(action)
                        changed += 1
            t = store.risk_cursor
            if current is None:
                conn.execute(t.insert().values(name=CURSOR, last_seq=last, updated_at=now))
            else:
                conn.execute(
                    t.update().where(t.c.name == CURSOR).values(last_seq=last, updated_at=now)
                )
            if actions:
                record(conn, SYSTEM_ACTOR, actions, at=now, request_id="risk-consume")
        if changed:
            priority.forget(p)  # new cases see the new bands at once
        summary["outcomes"] += len(work)
        summary["scores_changed"] += changed
        summary["cursor"] = last
        summary["batches"] += 1
    raised_after = priority.raised_subjects(p) if summary["scores_changed"] else raised_before
    if raised_after.keys() != raised_before.keys():
        # a subject entered or left a raised band: the cases about it waiting for dispatch move
        from civicloop.cases.priority import reassess_open

        grids, codes = priority.moved(raised_before, raised_after)
        summary["priorities_changed"] = reassess_open(p, grids=grids, texts=codes)
    return summary


def _corrected_subject(p: Platform, e: Mapping[str, Any]) -> tuple[Subject, dict[str, Any]] | None:
    """The room or enterprise a ``registry.corrected`` entry changed, with the cause."""
    from civicloop.registry import service as registry

    kind = {"room": SubjectKind.ROOM, "entity": SubjectKind.ENTERPRISE}.get(e["target_type"])
    if e["action"] not in REGISTRY_ACTIONS or kind is None:
        return None
    try:
        rec = registry.get_record(p, e["target_type"], e["target_id"])
    except NotFoundError:
        return None
    grid = rec.get("grid_code")
    cause = {"registry_correction": (e["after"] or {}).get("correction_id"), "ledger_seq": e["seq"]}
    return Subject(kind, e["target_id"], grid, street_of(p, grid)), cause


def _apply(
    conn: Connection,
    cards: Mapping[SubjectKind, Scorecard],
    work: list[tuple[dict[str, Any], Outcome, list[Subject]]],
    extra: Mapping[Subject, Mapping[str, float]],
    now: Any,
) -> tuple[list[Action], int]:
    for each in cards.values():
        scorecards.ensure_recorded(conn, each, now)
    actions: list[Action] = []
    changed = 0
    o = store.risk_outcomes
    for e, outcome, subjects in work:
        seen = conn.execute(select(o.c.id).where(o.c.ledger_seq == e["seq"])).first()
        if seen is not None:
            continue
        conn.execute(
            o.insert().values(
                case_id=e["target_id"],
                ledger_seq=e["seq"],
                outcome=str(outcome),
                subjects=[s.as_dict() for s in subjects],
                applied_at=now,
            )
        )
        actions.append(
            Action(
                "risk.outcome_applied",
                "case",
                e["target_id"],
                after={
                    "outcome": str(outcome),
                    "from": e["action"],
                    "ledger_seq": e["seq"],
                    "subjects": [s.as_dict() for s in subjects],
                },
            )
        )
        cause = {"case_id": e["target_id"], "outcome": str(outcome), "ledger_seq": e["seq"]}
        for s in subjects:
            card = cards.get(s.kind)
            if card is None:
                continue
            _add_facts(conn, s, OUTCOME_FACTS[outcome], now)
            _, action = _rescore(conn, card, s, extra.get(s, {}), cause, now)
            if action is not None:
                actions.append(action)
                changed += 1
    return actions, changed


def rescore(p: Platform, actor: Actor, *, request_id: str = "-") -> dict[str, Any]:
    """Rescore every stored subject on the active scorecards (after a new scorecard version or a
    registry change). Admins only; each changed score is in the ledger."""
    if actor.role is not Role.ADMIN and actor is not SYSTEM_ACTOR:
        raise ForbiddenError("only an admin rescores", action="risk.rescore")
    cards = scorecards.reload(p)
    t = store.risk_scores
    with p.db.read() as conn:
        subjects = [
            Subject(SubjectKind(r.subject_kind), r.subject_id, r.grid_code, r.street_code)
            for r in conn.execute(
                select(t.c.subject_kind, t.c.subject_id, t.c.grid_code, t.c.street_code)
            )
        ]
    extra = {s: registry_facts(p, s) for s in subjects}
    now = p.clock.now()
    changed = 0
    with p.db.write() as conn:
        for each in cards.values():
            scorecards.ensure_recorded(conn, each, now)
        actions = []
        for s in subjects:
            card = cards.get(s.kind)
            if card is None:
                continue
            _, action = _rescore(conn, card, s, extra[s], {"rescore": True}, now)
            if action is not None:
                actions.append(action)
        changed = len(actions)
        if actions:
            record(conn, actor, actions, at=now, request_id=request_id)
    priority.forget(p)
    return {"subjects": len(subjects), "scores_changed": changed}


# ---------------------------------------------------------------- reads


def _row_view(r: Any) -> dict[str, Any]:
    v = dict(r._mapping)
    return v


def read_score(p: Platform, actor: Actor, kind: str, subject_id: str) -> dict[str, Any]:
    """A subject's current score, its explanation and its history (newest first).

    A subject the data loop has not touched yet is scored on the spot from registry facts
    (``is_stored`` false). Raises NotFoundError outside the actor's scope.
    """
    _check_reader(actor)
    try:
        sk = SubjectKind(kind)
    except ValueError as exc:
        raise InputError(
            f"unknown subject kind {kind}",
            field="kind",
            rule=f"one of {[str(k) for k in SubjectKind]}",
        ) from exc
    t, h = store.risk_scores, store.risk_score_history
    with p.db.read() as conn:
        row = conn.execute(
            select(t).where(t.c.subject_kind == str(sk), t.c.subject_id == subject_id)
        ).first()
        history = [
            _row_view(r)
            for r in conn.execute(
                select(h)
                .where(h.c.subject_kind == str(sk), h.c.subject_id == subject_id)
                .order_by(h.c.id.desc())
                .limit(50)
            )
        ]
    if row is None:
        card = scorecards.load(p).get(sk)
        if card is None or not (actor.role in WIDE_ROLES or _sees(p, actor, sk, None)):
            raise NotFoundError("no risk score for this subject", code="risk.not_found")
        s = score(card, registry_facts(p, Subject(sk, subject_id)))
        return {
            "subject_kind": str(sk),
            "subject_id": subject_id,
            "score": s.score,
            "band": s.band,
            "grade": s.grade,
            "explanation": s.explanation(),
            "history": [],
            "is_stored": False,
        }
    if not _sees(p, actor, sk, row.grid_code):
        raise NotFoundError("no risk score for this subject", code="risk.not_found")
    return {**_row_view(row), "history": history, "is_stored": True}


def cursor(p: Platform) -> int:
    with p.db.read() as conn:
        return _cursor(conn) or 0


# ---------------------------------------------------------------- priority


def priority_hint(
    p: Platform, subject: tuple[str, str] | Mapping[str, Any]
) -> dict[str, Any] | None:
    """Whether risk should raise a case's priority.

    ``subject`` is ``(kind, id)`` or a case-like mapping (grid_code, address, description …),
    whose subjects are found as the data loop finds them. Returns the riskiest known subject
    with ``is_raised`` (its band is at or above the scorecard's ``raise_priority_from``), or
    None when no subject has a score. Read-only; cheap enough to call while filing.
    """
    cards = scorecards.load(p)
    if isinstance(subject, tuple):
        subjects = [Subject(SubjectKind(subject[0]), str(subject[1]))]
    else:
        subjects = subjects_of_case(p, subject)
    t = store.risk_scores
    best: dict[str, Any] | None = None
    with p.db.read() as conn:
        for s in subjects:
            row = conn.execute(
                select(t.c.score, t.c.band, t.c.grade).where(
                    t.c.subject_kind == str(s.kind), t.c.subject_id == s.id
                )
            ).first()
            if row is None or s.kind not in cards:
                continue
            card = cards[s.kind]
            raised = band_rank(card, row.band) >= band_rank(card, card.raise_priority_from)
            hint = {
                "subject_kind": str(s.kind),
                "subject_id": s.id,
                "score": row.score,
                "band": row.band,
                "grade": row.grade,
                "is_raised": raised,
                "reason": f"{s.kind} {s.id} risk {row.score} ({row.band})",
            }
            if best is None or (hint["is_raised"], hint["score"]) > (
                best["is_raised"],
                best["score"],
            ):
                best = hint
    return best


def scores_of(p: Platform, subjects: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Current scores of many subjects (missing ones are absent): for draws and exports."""
    wanted = list(subjects)
    kinds = {k for k, _ in wanted}
    t = store.risk_scores
    out: dict[tuple[str, str], float] = {}
    with p.db.read() as conn:
        for k in kinds:
            for r in conn.execute(select(t.c.subject_id, t.c.score).where(t.c.subject_kind == k)):
                out[(k, r.subject_id)] = float(r.score)
    keys = set(wanted)
    return {k: v for k, v in out.items() if k in keys}
