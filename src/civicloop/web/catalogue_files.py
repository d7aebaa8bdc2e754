"""Editing the catalogue from the console: a local override under ``<data_dir>/catalogue/``.

Why a whole-directory copy: a catalogue is many files checked together (codes unique across
files, references resolved across files), so an edit is only valid in the company of every
other file. Saving one edited file writes a complete catalogue directory — the active one
(packaged, or the local override of an earlier save) with that file replaced — into a staging
directory, validates the WHOLE directory with ``catalogue.loader.validate_catalogue`` and only
then swaps it in. Nothing is written where the platform reads when it is invalid.

What a save guarantees:

- the catalogue version changes (``<version>+local.<hash>`` unless the editor changed the
  version themselves), so every case records which catalogue it was filed under;
- an element that open cases still use is never removed (InputError naming the element);
- the save is traced in the ledger (``config.catalogue_saved``: the file, its SHA-256 before
  and after, the versions) in the transaction that moves the directory into place;
- the new catalogue is the platform's active one at once (``p.catalogue``) and after a
  restart (``runtime.Platform.open`` loads ``<data_dir>/catalogue/`` when ``CIVICLOOP_CATALOGUE``
  is not set). When ``CIVICLOOP_CATALOGUE`` pins a catalogue, the console refuses to edit.

"Restore packaged" removes the override (``config.catalogue_restored``), under the same
rule about elements in use.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from civicloop.cases import queries
from civicloop.catalogue.loader import DEFAULT_CATALOGUE_DIR, load_catalogue, validate_catalogue
from civicloop.catalogue.model import Catalogue
from civicloop.core.errors import CatalogueError, ConflictError, InputError, NotFoundError
from civicloop.ledger.service import Action, record
from civicloop.org.model import SYSTEM_ACTOR, Actor
from civicloop.runtime import Platform
from civicloop.web.yaml_lines import line_of

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.ya?ml$")
BAD_NAME = "a file name is letters, digits, . _ - and ends in .yaml"
MAX_BYTES = 2 * 1024 * 1024
MAX_VERSION = 32  # cases.catalogue_version is String(32)
VERSION_LINE = re.compile(r"^version:\s*.*$", re.MULTILINE)
LOCAL_SUFFIX = re.compile(r"\+local\.[0-9a-f]+$")
_lock = threading.Lock()  # one save at a time per process: the swap is not re-entrant


def local_dir(p: Platform) -> Path:
    return p.settings.data_dir / "catalogue"


def is_pinned(p: Platform) -> bool:
    """True when ``CIVICLOOP_CATALOGUE`` chooses the catalogue (the console does not edit it)."""
    return bool(p.settings.catalogue_path)


def active_dir(p: Platform) -> Path:
    """Where the active catalogue's files are: the pinned path, the local override or the
    packaged default (the same order ``runtime.Platform.open`` uses)."""
    if is_pinned(p):
        return Path(p.settings.catalogue_path)
    local = local_dir(p)
    return local if local.is_dir() else DEFAULT_CATALOGUE_DIR


def source(p: Platform) -> str:
    if is_pinned(p):
        return "pinned"
    return "local" if local_dir(p).is_dir() else "packaged"


def files(p: Platform) -> list[Path]:
    root = active_dir(p)
    if root.is_file():
        return [root]
    return sorted(f for f in root.glob("*.y*ml") if f.is_file())


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise InputError(BAD_NAME, field="name", rule="file_name")


def path_of(p: Platform, name: str) -> Path:
    check_name(name)
    found = next((f for f in files(p) if f.name == name), None)
    if found is None:
        raise NotFoundError("no such configuration file", code="route.not_found")
    return found


def _stage(p: Platform, name: str, text: str, into: Path) -> None:
    """A complete catalogue directory at ``into``: the active files with ``name`` replaced."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError("the file is larger than 2 MiB", field="text", rule="max_size")
    into.mkdir(parents=True)
    for f in files(p):
        shutil.copy(f, into / f.name)
    (into / name).write_text(text, encoding="utf-8")


def problems_of(p: Platform, name: str, text: str) -> list[str]:
    """Every problem of the catalogue that saving ``text`` as ``name`` would make, including
    elements removed while open cases use them (empty when it may be saved). Nothing stays
    on disk."""
    check_name(name)
    scratch = p.settings.data_dir / f".catalogue-check-{uuid.uuid4().hex[:12]}"
    try:
        _stage(p, name, text, scratch / "catalogue")
        found = validate_catalogue(scratch / "catalogue")
        if found:
            return found
        return [m for _, m in _in_use(p, load_catalogue(scratch / "catalogue"))]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _in_use(p: Platform, new: Catalogue) -> list[tuple[str, str]]:
    """(element code, message) for each element the active catalogue has, ``new`` does not,
    and open cases still use (read through the cases API's own query, district-wide)."""
    out = []
    for code in sorted(set(p.catalogue.elements) - set(new.elements)):
        flt = queries.CaseFilter(element_code=code, is_open=True)
        _, n = queries.list_cases(p, SYSTEM_ACTOR, flt, limit=1)
        if n:
            out.append((code, f"elements: {code}: removed while {n} open case(s) use it"
                              " (rule: an element in use stays until its cases close)"))  # fmt: skip
    return out


def _version_of(text: str) -> str | None:
    m = VERSION_LINE.search(text)
    return m.group(0).split(":", 1)[1].strip().strip("'\"") if m else None


def _bump(staged: Path, old: str, edited: str) -> str:
    """Give the staged catalogue a version of its own unless the editor already changed it:
    ``<old without +local>+local.<first 8 hex of the edit's hash>``, written into the file
    that holds ``version:``."""
    new = load_catalogue(staged).version
    if new != old:
        return new
    base = LOCAL_SUFFIX.sub("", old)[: MAX_VERSION - len("+local.12345678")]
    digest = hashlib.sha256(f"{old}\n{edited}".encode()).hexdigest()[:8]
    version = f"{base}+local.{digest}"
    for f in sorted(staged.glob("*.y*ml")):
        text = f.read_text(encoding="utf-8")
        if VERSION_LINE.search(text):
            f.write_text(VERSION_LINE.sub(f'version: "{version}"', text, count=1), "utf-8")
            break
    return version


def save(p: Platform, actor: Actor, name: str, text: str, *, request_id: str) -> dict[str, Any]:
    """Validate the catalogue with ``name`` replaced by ``text``; if valid, make it the local
    override, load it as the active catalogue and trace it in the ledger.

    Raises InputError (rule ``valid_catalogue``, with ``problems``) when the catalogue would be
    invalid, (rule ``element_in_use``, with ``element``) when it removes an element open cases
    use, ConflictError when ``CIVICLOOP_CATALOGUE`` pins the catalogue. Nothing is written then.
    """
    check_name(name)
    if is_pinned(p):
        raise ConflictError("CIVICLOOP_CATALOGUE chooses the catalogue; edit that copy instead")
    with _lock:
        before_path = next((f for f in files(p) if f.name == name), None)
        before = hashlib.sha256(before_path.read_bytes()).hexdigest() if before_path else None
        # named "catalogue" inside a scratch folder: problems then read "catalogue/<file>: …"
        scratch = p.settings.data_dir / f".catalogue-staging-{uuid.uuid4().hex[:12]}"
        staged = scratch / "catalogue"
        try:
            _stage(p, name, text, staged)
            found = validate_catalogue(staged)
            old_version = p.catalogue.version
            version = _bump(staged, old_version, text) if not found else old_version
            if not found and len(version) > MAX_VERSION:
                found = [f"{name}: version: {version!r} is too long (rule: at most 32 characters)"]
            if found:
                raise _invalid(found, name, text)
            try:
                new = load_catalogue(staged)
            except CatalogueError as exc:  # the version rewrite broke it: say so, save nothing
                raise _invalid(exc.problems or [str(exc)], name, text) from exc
            _refuse_in_use(p, new)
            after = hashlib.sha256((staged / name).read_bytes()).hexdigest()
            action = Action(
                "config.catalogue_saved",
                "catalogue",
                name,
                before={"sha256": before, "version": old_version, "source": source(p)},
                after={"sha256": after, "version": new.version, "source": "local"},
            )
            _swap_in(p, actor, action, staged, request_id)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        p.catalogue = new
    return {"saved": True, "name": name, "version": new.version, "sha256": after,
            "source": "local", "is_valid": True, "problems": []}  # fmt: skip


def restore_packaged(p: Platform, actor: Actor, *, request_id: str) -> dict[str, Any]:
    """Remove the local override and go back to the packaged catalogue (traced in the ledger).

    Raises NotFoundError when there is no override, ConflictError when pinned, InputError
    (``element_in_use``) when the packaged catalogue lacks an element open cases use."""
    if is_pinned(p):
        raise ConflictError("CIVICLOOP_CATALOGUE chooses the catalogue; nothing to restore")
    with _lock:
        local = local_dir(p)
        if not local.is_dir():
            raise NotFoundError("the packaged catalogue is already active", code="route.not_found")
        packaged = load_catalogue(None)
        _refuse_in_use(p, packaged)
        action = Action(
            "config.catalogue_restored",
            "catalogue",
            "packaged",
            before={"version": p.catalogue.version, "source": "local"},
            after={"version": packaged.version, "source": "packaged"},
        )
        gone = p.settings.data_dir / f".catalogue-removed-{uuid.uuid4().hex[:12]}"
        with p.db.write() as conn:
            record(conn, actor, [action], at=p.clock.now(), request_id=request_id)
            # moved inside the transaction: a failed move rolls the ledger entry back
            local.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)
        p.catalogue = packaged
    return {"restored": True, "version": packaged.version, "source": "packaged"}


def located(found: list[str], name: str, text: str) -> list[dict[str, Any]]:
    """Problems with the line of the edited file they point at (none for other files)."""
    return [
        {"message": m, "line": line_of(text, m) if m.startswith(f"catalogue/{name}:") else None}
        for m in found
    ]


def _invalid(found: list[str], name: str, text: str) -> InputError:
    return InputError(
        "the catalogue has problems; nothing was saved",
        field="text",
        rule="valid_catalogue",
        problems=located(found, name, text),
    )


def _refuse_in_use(p: Platform, new: Catalogue) -> None:
    used = _in_use(p, new)
    if used:
        code, message = used[0]
        raise InputError(message, field="text", rule="element_in_use", element=code,
                         problems=[{"message": m, "line": None} for _, m in used])  # fmt: skip


def _swap_in(p: Platform, actor: Actor, action: Action, staged: Path, request_id: str) -> None:
    """Ledger entry and directory swap in one transaction: the old override is moved aside,
    the staged one into place; any failure moves the old one back and rolls the entry back."""
    local = local_dir(p)
    aside = p.settings.data_dir / f".catalogue-previous-{uuid.uuid4().hex[:12]}"
    with p.db.write() as conn:
        record(conn, actor, [action], at=p.clock.now(), request_id=request_id)
        had = local.is_dir()
        if had:
            local.rename(aside)
        try:
            staged.rename(local)
        except OSError:
            if had:
                aside.rename(local)
            raise
    shutil.rmtree(aside, ignore_errors=True)
