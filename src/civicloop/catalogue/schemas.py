"""The catalogue file format, as pydantic models (the shape; the loader checks the meaning).

A catalogue is one YAML file or a directory of them, merged. Every file is a
:class:`CatalogueFile`; YAML keys are the model's field names, which are the domain model's
field names (``scene_code``, ``lead_department`` …). These models check shape only: types,
required keys, enum values and that no unknown key slipped in (``extra="forbid"``). Codes,
references, durations and cross-file uniqueness are the loader's rules, because they need the
whole catalogue and a message that names the rule.

Scalars are strict: YAML turns ``0101`` into a number and ``2026.1`` into a float, and a
silently coerced code is a wrong code, so text must be text (quote it). Optional fields left out
take the ``defaults`` section's value, then the built-in one (see ``docs/catalogue.md``).

``CatalogueFile.model_json_schema()`` gives a JSON Schema editors can use for completion.
:func:`explain_error` turns a pydantic error into the path, message and rule of a problem, in
words a person editing YAML understands ("quote codes" rather than "string_type").
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from civicloop.catalogue.calendar import did_you_mean
from civicloop.catalogue.model import ClockMode, DiscoveryKind, ElementKind, Governance, Step
from civicloop.org.model import DepartmentKind, LoopLevel

Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1)]
OptionalText = Annotated[str, StringConstraints(strict=True, strip_whitespace=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepartmentIn(_Model):
    code: Text = Field(description="lower-case code, e.g. 'cgzf'")
    name: Text
    name_en: Text
    kind: DepartmentKind


class DeadlineClassIn(_Model):
    code: Text = Field(description="lower-case code, e.g. 'work_3d' or 'urgent_2h'")
    name: Text
    mode: ClockMode
    duration: Text = Field(description="'30m', '2h', '3d', '1h30m'; a working day is 8 h")


class CategoryIn(_Model):
    code: Text
    name: Text
    name_en: Text
    governance: Governance


class SceneIn(_Model):
    code: Text
    name: Text
    name_en: Text
    category_code: Text
    description: OptionalText = ""


class FilingConditionIn(_Model):
    code: Text = Field(description="two digits, unique within the element: '01', '02' …")
    text: Text
    deadline: Text | None = Field(
        default=None, description="deadline class of HANDLE; default: the element's handle"
    )


class DiscoveryIn(_Model):
    kind: DiscoveryKind
    note: OptionalText = ""


class DefaultsIn(_Model):
    """Values an element takes when it leaves the key out."""

    deadlines: dict[Step, Text] = Field(default_factory=dict)
    loop_level: LoopLevel | None = None
    needs_onsite_check: StrictBool | None = None
    needs_verification: StrictBool | None = None
    is_citizen_facing: StrictBool | None = None
    dedupe_radius_m: StrictInt | None = None
    dedupe_window_hours: StrictInt | None = None


class ElementIn(_Model):
    code: Text = Field(description="C/E + 2-digit major + 2-digit minor class, e.g. 'C0101'")
    name: Text
    name_en: Text
    kind: ElementKind
    class_code: Text | None = Field(default=None, description="default: the code's 4 digits")
    scene_code: Text
    governance: Governance | None = Field(default=None, description="default: the category's")
    filing_conditions: list[FilingConditionIn]
    closure_conditions: list[Text]
    deadlines: dict[Step, Text] = Field(default_factory=dict)
    lead_department: Text
    assist_departments: list[Text] = Field(default_factory=list)
    loop_level: LoopLevel | None = None
    needs_onsite_check: StrictBool | None = None
    needs_verification: StrictBool | None = None
    is_citizen_facing: StrictBool | None = None
    keywords: list[Text]
    examples: list[Text]
    discovery: list[DiscoveryIn]
    dedupe_radius_m: StrictInt | None = None
    dedupe_window_hours: StrictInt | None = None


class EmergencyTaskIn(_Model):
    element: Text = Field(description="element code the task case is filed against")
    title: Text
    description: Text
    per: Text = Field(default="street", description="'street' (one case per street) or 'district'")


class TaskPackageIn(_Model):
    code: Text
    name: Text
    hazards: list[Text] = Field(description="hazards that dispatch it, e.g. typhoon, rainstorm")
    min_level: Text = Field(description="lowest warning level that dispatches it")
    tasks: list[EmergencyTaskIn]


class EmergencyIn(_Model):
    """The emergency profile (战平一体): when the mode starts, how deadlines tighten, which
    task packages are dispatched. Read by ``civicloop.discovery.emergency``."""

    levels: list[Text] = Field(description="warning levels, lowest first")
    trigger_level: Text = Field(description="a WeatherAlert at or above this starts the mode")
    hazards: list[Text] = Field(description="warning types that can start the mode")
    deadline_factor: float = Field(gt=0, le=1, description="remaining time × factor")
    min_deadline: Text = Field(default="15m", description="a tightened step keeps at least this")
    deadline_classes: dict[Text, Text] = Field(
        default_factory=dict, description="deadline class → its emergency class (wins)"
    )
    task_packages: list[TaskPackageIn] = Field(default_factory=list)


class CatalogueFile(_Model):
    """One catalogue file. Every section is optional in a file; ``version`` is required in
    exactly one file of the catalogue and ``defaults`` may appear in at most one."""

    version: Text | None = None
    departments: list[DepartmentIn] = Field(default_factory=list)
    deadline_classes: list[DeadlineClassIn] = Field(default_factory=list)
    categories: list[CategoryIn] = Field(default_factory=list)
    scenes: list[SceneIn] = Field(default_factory=list)
    elements: list[ElementIn] = Field(default_factory=list)
    defaults: DefaultsIn | None = None
    emergency: EmergencyIn | None = None


# The list sections and the model of their items, in the order the loader checks them.
SECTIONS: dict[str, type[_Model]] = {
    "departments": DepartmentIn,
    "deadline_classes": DeadlineClassIn,
    "categories": CategoryIn,
    "scenes": SceneIn,
    "elements": ElementIn,
}


# -- pydantic errors in the words of the file format -------------------------------------------

Loc = tuple[str | int, ...]

_SIMPLE_RULES = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
}


def describe(value: Any) -> str:
    """``int 65`` or ``str 'abc…'``: what the YAML actually held, shortened."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"


def explain_error(model: type[BaseModel], err: Any) -> tuple[Loc, str, str]:
    """The path (relative to the validated item), message and rule of one pydantic error."""
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if loc and loc[-1] == "[key]":  # a bad mapping key, e.g. an unknown step in deadlines
        loc = loc[:-1]
        key = loc[-1] if loc else value
        return loc, f"unknown key '{key}'", f"must be one of {ctx.get('expected', '')}"
    last = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = list(owner.model_fields) if owner else []
        rule = "no unknown keys"
        if allowed:
            rule += f"; allowed: {', '.join(allowed)}" + did_you_mean(last, allowed)
        return loc, f"unknown key '{last}'", rule
    if kind == "missing":
        return loc, f"missing required key '{last}'", "required"
    if kind == "string_type":
        rule = "must be a string; quote codes, numbers and dates in YAML"
        return loc, f"expected text, got {describe(value)}", rule
    if kind == "string_too_short":
        return loc, "empty text", "must not be empty"
    if kind == "enum":
        return loc, f"{value!r} is not allowed", f"must be one of {ctx.get('expected', '')}"
    if kind in _SIMPLE_RULES:
        return loc, f"got {describe(value)}", _SIMPLE_RULES[kind]
    return loc, str(err.get("msg", "invalid")), kind


def _model_at(model: type[BaseModel], parts: Sequence[Any]) -> type[BaseModel] | None:
    """The model that owns the key at ``parts`` (to list the keys it allows)."""
    current: type[BaseModel] | None = model
    for part in parts:
        if isinstance(part, int) or current is None:
            continue
        info = current.model_fields.get(part)
        current = _inner_model(info.annotation) if info else None
    return current


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
