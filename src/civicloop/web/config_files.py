"""The configuration page's server side: read, validate and (rules only) save YAML files.

Why through the contexts' own validators: the catalogue (``catalogue.loader``) and the
discovery rules (``discovery.rules``) already say precisely what is wrong — "E0101.deadlines:
… (rule: …)". The console runs exactly those checks on the edited text, so what the page
accepts is what the platform will load, and each problem is pointed at the line it names.

An admin may change both. A valid discovery rule file is written to ``<data_dir>/rules/``
(where the engine reads local rules), the running engine is reloaded, and the change is traced
in the ledger (``config.rules_saved`` with the file's SHA-256 before and after). A catalogue
file is saved as part of a whole local catalogue under ``<data_dir>/catalogue/`` and becomes
the active catalogue (``web/catalogue_files.py``: validation of the whole directory first,
a new catalogue version, elements in use kept, ``config.catalogue_saved`` in the ledger).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml  # the catalogue and the rules are YAML

from civicloop.core.errors import InputError, NotFoundError
from civicloop.discovery.rules import use_rules
from civicloop.discovery.rules_offline import read_rule_files
from civicloop.ledger.service import Action, record
from civicloop.org.model import Actor
from civicloop.runtime import Platform
from civicloop.web import catalogue_files
from civicloop.web.yaml_lines import line_of

RULES_DIR = Path(__file__).resolve().parents[1] / "discovery" / "rules"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.ya?ml$")
MAX_BYTES = 2 * 1024 * 1024
BAD_NAME = "a file name is letters, digits, . _ - and ends in .yaml"


def _local_rules(p: Platform) -> Path:
    return p.settings.data_dir / "rules"


def list_files(p: Platform) -> list[dict[str, Any]]:
    """Every catalogue and rule file the page can show, with where it comes from."""
    where, editable = catalogue_files.source(p), not catalogue_files.is_pinned(p)
    out = [
        {"kind": "catalogue", "name": f.name, "source": where, "editable": editable}
        for f in catalogue_files.files(p)
    ]
    local = _local_rules(p)
    local_names = {f.name for f in local.glob("*.y*ml")} if local.is_dir() else set()
    out += [
        {
            "kind": "rules",
            "name": f.name,
            "source": "local" if f.name in local_names else "packaged",
            "editable": True,
        }
        for f in sorted(RULES_DIR.glob("*.yaml"))
    ]
    out += [
        {"kind": "rules", "name": n, "source": "local", "editable": True}
        for n in sorted(local_names - {f.name for f in RULES_DIR.glob("*.yaml")})
    ]
    return out


def _path(p: Platform, kind: str, name: str) -> Path:
    if not NAME.match(name):
        raise InputError(
            "a file name is letters, digits, . _ - and ends in .yaml",
            field="name",
            rule="file_name",
        )
    if kind == "catalogue":
        return catalogue_files.path_of(p, name)
    if kind == "rules":
        local = _local_rules(p) / name
        path = local if local.is_file() else RULES_DIR / name
    else:
        raise InputError("kind is catalogue or rules", field="kind", rule="enum")
    if not path.is_file():
        raise NotFoundError("no such configuration file", code="route.not_found")
    return path


def read_file(p: Platform, kind: str, name: str) -> dict[str, Any]:
    path = _path(p, kind, name)
    return {"kind": kind, "name": name, "text": path.read_text(encoding="utf-8")}


def validate(p: Platform, kind: str, name: str, text: str) -> dict[str, Any]:
    """The problems of ``text`` as file ``name`` among the others of its kind (an empty list
    when valid), each with the line it points at when one can be found."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError("the file is larger than 2 MiB", field="text", rule="max_size")
    if not NAME.match(name):
        raise InputError(
            "a file name is letters, digits, . _ - and ends in .yaml",
            field="name",
            rule="file_name",
        )
    problems: list[str] = []
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.append(f"{name}: {where}not valid YAML: {getattr(exc, 'problem', exc)}")
    if kind not in ("catalogue", "rules"):
        raise InputError("kind is catalogue or rules", field="kind", rule="enum")
    if problems:
        located = [{"message": m, "line": line_of(text, m)} for m in problems]
    elif kind == "catalogue":
        located = catalogue_files.located(catalogue_files.problems_of(p, name, text), name, text)
    else:
        located = [
            {"message": m, "line": line_of(text, m)} for m in _validate_rules(p, name, text)[1]
        ]
    return {"kind": kind, "name": name, "is_valid": not located, "problems": located}


def _validate_rules(p: Platform, name: str, text: str) -> tuple[list[Any], list[str]]:
    reader = read_rule_files
    with tempfile.TemporaryDirectory(prefix="rules-") as tmp:
        root = Path(tmp)
        for src in (RULES_DIR, _local_rules(p)):
            if src.is_dir():
                for f in src.glob("*.y*ml"):
                    shutil.copy(f, root / f.name)
        (root / name).write_text(text, encoding="utf-8")
        rules, problems = reader([root])
    return rules, list(problems)


def save_rules(p: Platform, actor: Actor, name: str, text: str, *, request_id: str) -> dict:
    """Validate, write ``<data_dir>/rules/<name>``, reload the engine, trace it in the ledger.

    Raises InputError (field ``text``, rule ``valid_rules``) with every problem when invalid.
    """
    checked = validate(p, "rules", name, text)
    if not checked["is_valid"]:
        raise InputError(
            "the rules have problems; nothing was saved",
            field="text",
            rule="valid_rules",
            problems=checked["problems"],
        )
    rules, _ = _validate_rules(p, name, text)
    target = _local_rules(p) / name
    before = None
    with contextlib.suppress(NotFoundError):  # a new file has no "before"
        before = hashlib.sha256(_path(p, "rules", name).read_bytes()).hexdigest()
    after = hashlib.sha256(text.encode("utf-8")).hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with p.db.write() as conn:
        record(
            conn,
            actor,
            [
                Action(
                    "config.rules_saved",
                    "rules",
                    name,
                    before={"sha256": before},
                    after={"sha256": after, "rules": len(rules)},
                )
            ],
            at=p.clock.now(),
            request_id=request_id,
        )
        # written inside the transaction: a failed write rolls the ledger entry back
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    use_rules(p, rules)
    return {**checked, "saved": True, "sha256": after, "rules": len(rules)}
