"""Loading the active scorecards and keeping every version they ever had.

Scorecards are YAML files, one per kind of subject: the packaged defaults in
``civicloop/risk/scorecards/``, overridden file by file by ``<data_dir>/scorecards/*.yaml``
(each locality weighs things differently). A score row names the scorecard code and version
that produced it; ``risk_scorecards`` keeps each version's body and hash, and a file whose
content changed without a new ``version`` is refused — otherwise two scores with the same
version could mean different rules.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, select

from civicloop.core.errors import InputError
from civicloop.risk import store
from civicloop.risk.model import Scorecard, ScorecardError, SubjectKind, parse_scorecard
from civicloop.runtime import Platform

PACKAGED = Path(__file__).with_name("scorecards")
# per platform; the weak reference tells a live platform from a new one reusing its id()
_CACHE: dict[int, tuple[weakref.ref[Platform], dict[SubjectKind, Scorecard]]] = {}
_LOCK = threading.Lock()


def _files(p: Platform) -> dict[str, Path]:
    files = {f.name: f for f in sorted(PACKAGED.glob("*.yaml"))}
    local = Path(p.settings.data_dir) / "scorecards"
    if local.is_dir():
        files.update({f.name: f for f in sorted(local.glob("*.yaml"))})
    return files


def load(p: Platform) -> dict[SubjectKind, Scorecard]:
    """The active scorecard per subject kind (read once per platform; ``reload`` to re-read)."""
    with _LOCK:
        hit = _CACHE.get(id(p))
        cards = hit[1] if hit is not None and hit[0]() is p else None
        if cards is None:
            cards = {}
            for name, path in _files(p).items():
                try:
                    card = parse_scorecard(yaml.safe_load(path.read_text(encoding="utf-8")))
                except ScorecardError as exc:
                    raise InputError(
                        f"scorecard {name}: {exc}", field=f"{name}:{exc.path}", rule="scorecard"
                    ) from exc
                except (yaml.YAMLError, TypeError, KeyError, AttributeError) as exc:
                    raise InputError(
                        f"scorecard {name} is not valid: {exc}", field=name, rule="scorecard"
                    ) from exc
                cards[card.subject_kind] = card
            _CACHE[id(p)] = (weakref.ref(p), cards)
        return cards


def reload(p: Platform) -> dict[SubjectKind, Scorecard]:
    with _LOCK:
        _CACHE.pop(id(p), None)
    return load(p)


def digest(card: Scorecard) -> str:
    canonical = json.dumps(card.body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_recorded(conn: Connection, card: Scorecard, now: Any) -> bool:
    """Store this scorecard version if new (True when it was); refuse a changed body under an
    old version number."""
    t = store.risk_scorecards
    row = conn.execute(
        select(t.c.sha256).where(t.c.code == card.code, t.c.version == card.version)
    ).first()
    sha = digest(card)
    if row is None:
        conn.execute(
            t.insert().values(
                code=card.code,
                version=card.version,
                subject_kind=str(card.subject_kind),
                body=json.loads(json.dumps(card.body, default=str)),
                sha256=sha,
                loaded_at=now,
            )
        )
        return True
    if row.sha256 != sha:
        raise InputError(
            f"scorecard {card.code} changed but kept version {card.version}: raise the version",
            field=f"{card.code}.version",
            rule="scorecard.version_bump",
        )
    return False


def list_versions(p: Platform) -> list[dict[str, Any]]:
    t = store.risk_scorecards
    with p.db.read() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.code, t.c.version.desc()))
        ]
