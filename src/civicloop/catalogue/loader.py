"""Load and validate catalogue files into a :class:`~civicloop.catalogue.model.Catalogue`.

A catalogue is one YAML file or a directory of them (searched recursively, in sorted order),
merged into one. Validation never stops at the first problem: it reports every problem it can
find, each naming the file, the path inside it and the rule, plus the line::

    default/urban.yaml: elements[3].deadlines.handle: unknown deadline class 'x'
        (rule: must be one of deadline_classes) [line 42]

The checks, in order: YAML syntax and duplicate keys (per file); the shape of each item
(:mod:`civicloop.catalogue.schemas`: types, required keys, no unknown keys); then the rules that
need the whole catalogue: ``version`` exactly once and ``defaults`` at most once, codes unique
across files and well-formed, references resolved (scene → category, element → scene, lead and
assisting departments, deadline classes), durations parseable, every element with a filing and
a closure condition, keywords, examples, a discovery method and a deadline for every step once
defaults are applied. An item whose only shape fault is an unknown key is still checked against
these rules (as if the key were absent); an item with other shape faults is not, but it reserves
its code, so one typo does not cascade into a dozen "unknown reference" messages.

:func:`load_catalogue` raises :class:`~civicloop.core.errors.CatalogueError` with the list;
:func:`validate_catalogue` returns it (empty means valid). No SQLAlchemy or FastAPI here.
"""

from __future__ import annotations

import copy
import functools
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from civicloop.catalogue.calendar import (
    YamlDocument,
    did_you_mean,
    format_path,
    format_problem,
    read_yaml,
)
from civicloop.catalogue.emergency import build_profile
from civicloop.catalogue.model import (
    PLACEHOLDERS,
    Catalogue,
    Category,
    DeadlineClass,
    DepartmentDef,
    DiscoveryMethod,
    Element,
    EmergencyProfile,
    FilingCondition,
    Scene,
    Step,
    parse_duration,
)
from civicloop.catalogue.schemas import (
    SECTIONS,
    CatalogueFile,
    CategoryIn,
    DeadlineClassIn,
    DefaultsIn,
    DepartmentIn,
    ElementIn,
    EmergencyIn,
    SceneIn,
    describe,
    explain_error,
)
from civicloop.core.errors import CatalogueError

DEFAULT_CATALOGUE_DIR = Path(__file__).parent / "data" / "default"

_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_SLUG_RULE = "codes are lower-case letters, digits and '_', starting with a letter"
_ELEMENT_CODE = re.compile(r"^[CE]\d{4}$")
_ELEMENT_RULE = "C (component) or E (event) + 2-digit major class + 2-digit minor class, e.g. C0101"
_FILING_CODE = re.compile(r"^\d{2}$")
_DURATION_RULE = "a positive duration like '30m', '2h', '3d' or '1h30m'; a working day is 8h"

# Built-in values for the element keys that neither the element nor `defaults` sets.
_BUILTIN = {
    "needs_onsite_check": True,
    "needs_verification": True,
    "is_citizen_facing": False,
    "dedupe_radius_m": 50,
    "dedupe_window_hours": 72,
}

_SINGULAR = {
    "departments": "department",
    "deadline_classes": "deadline class",
    "categories": "category",
    "scenes": "scene",
    "elements": "element",
}

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class _Item(Generic[M]):
    """A validated item and where it came from, for messages."""

    doc: YamlDocument
    path: tuple[str | int, ...]
    value: M

    def problem(self, sub: Sequence[str | int], message: str, rule: str) -> str:
        return self.doc.problem((*self.path, *sub), message, rule)

    @property
    def where(self) -> str:
        return f"{self.doc.display}: {format_path(self.path)}"


class _Collected:
    """Everything read from the files, before the cross-file rules run."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.versions: list[tuple[YamlDocument, str]] = []
        self.defaults: list[_Item[DefaultsIn]] = []
        self.emergency: list[_Item[EmergencyIn]] = []
        self.items: dict[str, list[_Item[Any]]] = {name: [] for name in SECTIONS}
        # Codes of items whose shape is broken: they exist, so references to them are fine.
        self.reserved: dict[str, set[str]] = {name: set() for name in SECTIONS}


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load a catalogue file or directory; the packaged default when ``path`` is None.

    Raises :class:`CatalogueError` listing every problem found.
    """
    catalogue, problems = _load(path)
    if problems or catalogue is None:
        raise CatalogueError(problems or ["catalogue is invalid"])
    return catalogue


def validate_catalogue(path: Path | None = None) -> list[str]:
    """Every problem of the catalogue at ``path``; an empty list means it is valid."""
    return _load(path)[1]


@functools.cache
def default_catalogue() -> Catalogue:
    """The packaged default catalogue, loaded once per process (it is immutable)."""
    return load_catalogue()


# -- reading ---------------------------------------------------------------------------------


def _files(root: Path) -> list[tuple[Path, str]]:
    if root.is_file():
        return [(root, root.name)]
    found = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [(p, f"{root.name}/{p.relative_to(root).as_posix()}") for p in found]


def _load(path: Path | None) -> tuple[Catalogue | None, list[str]]:
    root = Path(path) if path is not None else DEFAULT_CATALOGUE_DIR
    if not root.exists():
        return None, [format_problem(str(root), (), "no such file or directory", "path exists")]
    files = _files(root)
    if not files:
        return None, [format_problem(str(root), (), "no .yaml files", "a catalogue has files")]
    collected = _Collected()
    for file, display in files:
        doc = read_yaml(file, display)
        collected.problems.extend(doc.problems)
        if doc.data is not None:
            _collect(doc, collected)
    catalogue = _Checker(collected, root).run()
    return catalogue, collected.problems


def _collect(doc: YamlDocument, out: _Collected) -> None:
    data = doc.data
    if not isinstance(data, dict):
        out.problems.append(
            doc.problem((), f"the file holds a {type(data).__name__}", "a file is a mapping")
        )
        return
    allowed = list(CatalogueFile.model_fields)
    for key, value in data.items():
        key = str(key)
        if key not in allowed:
            out.problems.append(
                doc.problem(
                    (key,),
                    f"unknown key '{key}'",
                    f"no unknown keys; allowed: {', '.join(allowed)}" + did_you_mean(key, allowed),
                )
            )
        elif key == "version":
            if isinstance(value, str) and value.strip():
                out.versions.append((doc, value.strip()))
            else:
                out.problems.append(
                    doc.problem(
                        ("version",),
                        f"expected text, got {describe(value)}",
                        'version is text; quote it, e.g. "2026.1"',
                    )
                )
        elif key == "defaults":
            if value is not None:
                item = _validate(doc, ("defaults",), DefaultsIn, value, out.problems)
                if item is not None:
                    out.defaults.append(item)
        elif key == "emergency":
            if value is not None:
                found = _validate(doc, ("emergency",), EmergencyIn, value, out.problems)
                if found is not None:
                    out.emergency.append(found)
        else:
            _collect_section(doc, key, value, out)


def _collect_section(doc: YamlDocument, section: str, value: Any, out: _Collected) -> None:
    if value is None:  # "elements:" with every item commented out
        return
    if not isinstance(value, list):
        out.problems.append(
            doc.problem((section,), f"expected a list, got {describe(value)}", "must be a list")
        )
        return
    model = SECTIONS[section]
    for i, raw in enumerate(value):
        item = _validate(doc, (section, i), model, raw, out.problems)
        if item is not None:
            out.items[section].append(item)
        elif isinstance(raw, dict) and isinstance(raw.get("code"), str):
            out.reserved[section].add(raw["code"])


def _validate(
    doc: YamlDocument, path: tuple[str | int, ...], model: type[M], raw: Any, problems: list[str]
) -> _Item[M] | None:
    try:
        return _Item(doc, path, model.model_validate(raw))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            loc, message, rule = explain_error(model, err)
            problems.append(doc.problem((*path, *loc), message, rule))
    # When unknown keys are the only fault (the commonest typo), check the rest of the item
    # as if they were absent, so its other problems are reported in the same run.
    if all(err["type"] == "extra_forbidden" for err in errors):
        stripped = copy.deepcopy(raw)
        for err in errors:
            *parents, key = err["loc"]
            container = functools.reduce(operator.getitem, parents, stripped)
            container.pop(key, None)
        try:
            return _Item(doc, path, model.model_validate(stripped))
        except ValidationError:  # pragma: no cover - the same errors were reported above
            return None
    return None


# -- rules over the whole catalogue --------------------------------------------------------------


class _Checker:
    """Runs the cross-file rules and builds the catalogue when nothing is wrong."""

    def __init__(self, collected: _Collected, root: Path) -> None:
        self.c = collected
        self.root = root
        self.problems = collected.problems  # appended to in place

    def run(self) -> Catalogue | None:
        version = self._version()
        defaults = self._defaults()
        departments = self._unique("departments", _SLUG, _SLUG_RULE)
        classes = self._deadline_classes(self._unique("deadline_classes", _SLUG, _SLUG_RULE))
        categories = self._unique("categories", _SLUG, _SLUG_RULE)
        scenes = self._unique("scenes", _SLUG, _SLUG_RULE)
        elements = self._unique("elements", _ELEMENT_CODE, _ELEMENT_RULE)
        for item in scenes.values():
            self._ref(item, ("category_code",), item.value.category_code, "categories")
        if defaults is not None:
            for step, code in defaults.value.deadlines.items():
                self._ref(defaults, ("deadlines", step.value), code, "deadline_classes")
        built = [self._element(item, defaults, categories, scenes) for item in elements.values()]
        emergency = self._emergency(classes, elements)
        if self.problems or version is None:
            return None
        return Catalogue(
            version=version,
            categories=_frozen({c: _category(i.value) for c, i in categories.items()}),
            scenes=_frozen({c: _scene(i.value) for c, i in scenes.items()}),
            elements=_frozen({e.code: e for e in built if e is not None}),
            deadline_classes=_frozen(classes),
            departments=_frozen({c: _department(i.value) for c, i in departments.items()}),
            emergency=emergency,
        )

    def _emergency(
        self, classes: dict[str, DeadlineClass], elements: dict[str, _Item[Any]]
    ) -> EmergencyProfile | None:
        """The emergency profile (at most one file holds it), its references checked."""
        found = self.c.emergency
        if not found:
            return None
        for extra in found[1:]:
            self.problems.append(extra.problem((), "a second emergency section", "at most once"))
        return build_profile(found[0], classes, set(elements), self.problems)

    def _version(self) -> str | None:
        versions = self.c.versions
        if not versions:
            self.problems.append(
                format_problem(self.root.name, ("version",), "missing", "required exactly once")
            )
            return None
        for doc, _ in versions[1:]:
            self.problems.append(
                doc.problem(
                    ("version",),
                    f"version given again (first in {versions[0][0].display})",
                    "required exactly once",
                )
            )
        return versions[0][1]

    def _defaults(self) -> _Item[DefaultsIn] | None:
        found = self.c.defaults
        for item in found[1:]:
            self.problems.append(
                item.problem(
                    (),
                    f"defaults given again (first in {found[0].doc.display})",
                    "defaults at most once",
                )
            )
        return found[0] if found else None

    def _unique(self, section: str, pattern: re.Pattern[str], rule: str) -> dict[str, _Item[Any]]:
        seen: dict[str, _Item[Any]] = {}
        for item in self.c.items[section]:
            code = item.value.code
            if not pattern.match(code):
                self.problems.append(item.problem(("code",), f"bad code '{code}'", rule))
            if code in seen:
                self.problems.append(
                    item.problem(
                        ("code",),
                        f"duplicate code '{code}', first defined at {seen[code].where}",
                        f"{section} codes are unique across all files",
                    )
                )
                continue
            seen[code] = item
        return seen

    def _known(self, section: str) -> set[str]:
        return {i.value.code for i in self.c.items[section]} | self.c.reserved[section]

    def _ref(self, item: _Item[Any], sub: Sequence[str | int], code: str, section: str) -> bool:
        known = self._known(section)
        if code in known:
            return True
        what = _SINGULAR[section]
        self.problems.append(
            item.problem(
                sub,
                f"unknown {what} '{code}'",
                f"must be one of {section}" + did_you_mean(code, known),
            )
        )
        return False

    def _deadline_classes(self, items: dict[str, _Item[Any]]) -> dict[str, DeadlineClass]:
        out: dict[str, DeadlineClass] = {}
        for code, item in items.items():
            value: DeadlineClassIn = item.value
            try:
                duration = parse_duration(value.duration, value.mode)
            except ValueError as exc:
                self.problems.append(item.problem(("duration",), str(exc), _DURATION_RULE))
                continue
            out[code] = DeadlineClass(code, value.name, value.mode, duration)
        return out

    def _element(
        self,
        item: _Item[ElementIn],
        defaults: _Item[DefaultsIn] | None,
        categories: Mapping[str, _Item[Any]],
        scenes: Mapping[str, _Item[Any]],
    ) -> Element | None:
        e = item.value
        before = len(self.problems)
        self._element_code(item)
        scene_ok = self._ref(item, ("scene_code",), e.scene_code, "scenes")
        self._lead_and_assists(item)
        for field in (
            "filing_conditions",
            "closure_conditions",
            "keywords",
            "examples",
            "discovery",
        ):
            if not getattr(e, field):
                self.problems.append(item.problem((field,), "empty list", "at least one"))
        for field in ("keywords", "examples"):
            values = getattr(e, field)
            for i, text in enumerate(values):
                if text in values[:i]:
                    self.problems.append(
                        item.problem((field, i), f"'{text}' given twice", "no repeats")
                    )
        d = defaults.value if defaults else DefaultsIn()
        for step, code in e.deadlines.items():
            self._ref(item, ("deadlines", step.value), code, "deadline_classes")
        deadlines = {step: e.deadlines.get(step) or d.deadlines.get(step) for step in Step}
        for step, resolved in deadlines.items():
            if resolved is None:
                self.problems.append(
                    item.problem(
                        ("deadlines", step.value),
                        f"no deadline for step '{step.value}'",
                        "every step needs a deadline class, in the element or defaults.deadlines",
                    )
                )
        conditions = []
        for i, fc in enumerate(e.filing_conditions):
            if not _FILING_CODE.match(fc.code):
                self.problems.append(
                    item.problem(
                        ("filing_conditions", i, "code"),
                        f"bad code '{fc.code}'",
                        "filing-condition codes are two digits: '01', '02' …",
                    )
                )
            if any(other.code == fc.code for other in e.filing_conditions[:i]):
                self.problems.append(
                    item.problem(
                        ("filing_conditions", i, "code"),
                        f"duplicate code '{fc.code}'",
                        "filing-condition codes are unique within the element",
                    )
                )
            if fc.deadline is not None:
                self._ref(
                    item, ("filing_conditions", i, "deadline"), fc.deadline, "deadline_classes"
                )
            conditions.append(
                FilingCondition(fc.code, fc.text, fc.deadline or deadlines[Step.HANDLE] or "")
            )
        loop_level = e.loop_level or d.loop_level
        if loop_level is None:
            self.problems.append(
                item.problem(("loop_level",), "missing", "required in the element or defaults")
            )
        values = {k: _pick(getattr(e, k), getattr(d, k), v) for k, v in _BUILTIN.items()}
        for key in ("dedupe_radius_m", "dedupe_window_hours"):
            if values[key] <= 0:
                self.problems.append(item.problem((key,), f"{values[key]}", "must be positive"))
        if len(self.problems) > before or not scene_ok or loop_level is None:
            return None
        scene = scenes.get(e.scene_code)
        governance = e.governance
        if governance is None:
            category = categories.get(scene.value.category_code) if scene else None
            if category is None:  # the scene or category is broken and already reported
                return None
            governance = category.value.governance
        return Element(
            code=e.code,
            name=e.name,
            name_en=e.name_en,
            kind=e.kind,
            class_code=e.code[1:],
            scene_code=e.scene_code,
            governance=governance,
            filing_conditions=tuple(conditions),
            closure_conditions=tuple(e.closure_conditions),
            deadlines=MappingProxyType({s: c for s, c in deadlines.items() if c}),
            lead_department=e.lead_department,
            assist_departments=tuple(e.assist_departments),
            loop_level=loop_level,
            keywords=tuple(e.keywords),
            examples=tuple(e.examples),
            discovery=tuple(DiscoveryMethod(m.kind, m.note) for m in e.discovery),
            **values,
        )

    def _element_code(self, item: _Item[ElementIn]) -> None:
        e = item.value
        if not _ELEMENT_CODE.match(e.code):
            return  # already reported by _unique
        if e.code[0] != e.kind.letter:
            self.problems.append(
                item.problem(
                    ("code",),
                    f"code '{e.code}' starts with {e.code[0]} but kind is {e.kind.value}",
                    "the code letter matches the kind: C for component, E for event",
                )
            )
        if "00" in (e.code[1:3], e.code[3:5]):
            self.problems.append(
                item.problem(("code",), f"class 00 in '{e.code}'", "classes are numbered from 01")
            )
        if e.class_code is not None and e.class_code != e.code[1:]:
            self.problems.append(
                item.problem(
                    ("class_code",),
                    f"class_code '{e.class_code}' does not match code '{e.code}'",
                    "class_code equals the code's 4 digits (major + minor class)",
                )
            )

    def _lead_and_assists(self, item: _Item[ElementIn]) -> None:
        e = item.value
        self._department_ref(item, ("lead_department",), e.lead_department)
        for i, code in enumerate(e.assist_departments):
            self._department_ref(item, ("assist_departments", i), code)
            if code == e.lead_department:
                self.problems.append(
                    item.problem(
                        ("assist_departments", i),
                        f"'{code}' is the lead",
                        "the lead does not also assist",
                    )
                )
            elif code in e.assist_departments[:i]:
                self.problems.append(
                    item.problem(("assist_departments", i), f"'{code}' given twice", "no repeats")
                )

    def _department_ref(self, item: _Item[Any], sub: Sequence[str | int], code: str) -> None:
        if code.startswith("@"):
            if code not in PLACEHOLDERS:
                self.problems.append(
                    item.problem(
                        sub,
                        f"unknown placeholder '{code}'",
                        f"placeholders are {', '.join(sorted(PLACEHOLDERS))}"
                        + did_you_mean(code, PLACEHOLDERS),
                    )
                )
            return
        self._ref(item, sub, code, "departments")


def _pick(*values: Any) -> Any:
    return next(v for v in values if v is not None)


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(mapping)


def _category(c: CategoryIn) -> Category:
    return Category(c.code, c.name, c.name_en, c.governance)


def _scene(s: SceneIn) -> Scene:
    return Scene(s.code, s.name, s.name_en, s.category_code, s.description)


def _department(d: DepartmentIn) -> DepartmentDef:
    return DepartmentDef(d.code, d.name, d.name_en, d.kind)
