"""The catalogue of governance elements (治理要素): what can go wrong, who handles it, by when.

The catalogue is the configuration every case is filed against. Its parts:

* **categories** (大类, ~10) group **scenes** (场景); a scene groups the elements about one
  kind of managed object ("one kind of object → one scene", as Pudong merged its scenes);
* an **element** (要素) is a component (部件, a physical object such as a manhole cover) or an
  event (事件, something that happens, such as exposed garbage). Its code follows GB/T 30428:
  ``C``/``E`` + 2-digit major class + 2-digit minor class (``C0101`` 上水井盖);
* each element carries its **disposal standard**: filing conditions (立案条件), each with the
  deadline class of the HANDLE step; closure conditions (结案条件); a deadline class for every
  other timed step; the lead and assisting departments and the loop level that closes it;
* **deadline classes** say how long a step may take and on which clock: ``clock`` runs
  continuously (urgent, 紧急), ``working`` counts working time on the work calendar (一般).

Invariants (the loader guarantees them; this module trusts its inputs):

* every code is unique within its kind; every reference resolves;
* every element has at least one filing and one closure condition, and a deadline class for
  every :class:`Step` (defaults already applied);
* a lead department is a department code or a placeholder (``@street``, ``@community``) that
  routing resolves to the case's own street office or community committee.

This module is pure: no I/O, no SQLAlchemy, FastAPI or pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from civicloop.org.model import DepartmentKind, LoopLevel

# Placeholders a lead/assist slot may hold instead of a department code. Routing replaces them
# with the street office of the case's street (small loop) or its community committee (micro).
STREET = "@street"
COMMUNITY = "@community"
PLACEHOLDERS = frozenset({STREET, COMMUNITY})

# A working-time "day" in a duration string. Fixed rather than taken from the calendar so a
# catalogue means the same thing under every calendar; "3d" working = 24 working hours.
WORKING_DAY = timedelta(hours=8)


class Governance(StrEnum):
    """The three governances the platform unifies (经济治理、社会治理、城市治理)."""

    ECONOMIC = "economic"
    SOCIAL = "social"
    URBAN = "urban"


class ElementKind(StrEnum):
    COMPONENT = "component"  # 部件: a physical object with its own identity
    EVENT = "event"  # 事件: a situation, classified by major + minor class only

    @property
    def letter(self) -> str:
        """The first letter of this kind's element codes (GB/T practice)."""
        return "C" if self is ElementKind.COMPONENT else "E"


class ClockMode(StrEnum):
    CLOCK = "clock"  # urgent (紧急): runs continuously on the wall clock
    WORKING = "working"  # normal (一般): counts working time only, on the work calendar


class Step(StrEnum):
    """The timed steps of the loop, in order (GB/T 30428 fine-grained stages)."""

    ACCEPT = "accept"  # 受理: the operations centre accepts the report
    CHECK = "check"  # 核实: a grid worker confirms the report on site
    FILE = "file"  # 立案: the shift chief files the case against a filing condition
    DISPATCH = "dispatch"  # 派遣: the dispatcher sends it to the lead department
    SIGN = "sign"  # 签收: the department accepts the task
    HANDLE = "handle"  # 处置: the department disposes of the problem
    VERIFY = "verify"  # 核查: a grid worker checks the result on site
    CLOSE = "close"  # 结案: the shift chief closes the case
    FOLLOW_UP = "follow_up"  # 回访: the reporter is asked whether they are satisfied


class DiscoveryKind(StrEnum):
    """How a problem of an element is found (智能发现方式)."""

    CITIZEN_REPORT = "citizen_report"  # app, web, Open311
    HOTLINE = "hotline"  # 12345 text
    PATROL = "patrol"  # grid workers and inspectors
    SENSOR = "sensor"  # IoT readings and device events
    VIDEO = "video"  # camera event detection
    DATA_RULE = "data_rule"  # rules over registries and permits
    ENTERPRISE_DEMAND = "enterprise_demand"  # the enterprise doorstep-service channel


DISCOVERY_KINDS = frozenset(DiscoveryKind)

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str, mode: ClockMode) -> timedelta:
    """Parse ``"30m"``, ``"2h"``, ``"3d"`` or combinations such as ``"1h30m"``.

    A day is 24 hours on the clock and :data:`WORKING_DAY` (8 h) of working time. Raises
    :class:`ValueError` for anything else, including a zero duration.
    """
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"bad duration {text!r}")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    day = timedelta(days=1) if mode is ClockMode.CLOCK else WORKING_DAY
    total = days * day + timedelta(hours=hours, minutes=minutes)
    if total <= timedelta(0):
        raise ValueError(f"duration {text!r} is not positive")
    return total


@dataclass(frozen=True)
class DeadlineClass:
    """How long a step may take (处置时限) and on which clock."""

    code: str
    name: str
    mode: ClockMode
    duration: timedelta

    @property
    def is_urgent(self) -> bool:
        return self.mode is ClockMode.CLOCK


@dataclass(frozen=True)
class FilingCondition:
    """A condition that makes a report a case (立案条件).

    ``code`` is local to its element ("01", "02" …); ``deadline`` is the deadline-class code of
    the HANDLE step for a case filed under this condition.
    """

    code: str
    text: str
    deadline: str


@dataclass(frozen=True)
class DiscoveryMethod:
    kind: str  # a DiscoveryKind value
    note: str = ""


@dataclass(frozen=True)
class DepartmentDef:
    """A department as the catalogue knows it; org turns these into real departments."""

    code: str
    name: str
    name_en: str
    kind: DepartmentKind


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    name_en: str
    governance: Governance


@dataclass(frozen=True)
class Scene:
    code: str
    name: str
    name_en: str
    category_code: str
    description: str = ""


@dataclass(frozen=True)
class Element:
    """One governance element and its disposal standard. See the module docstring."""

    code: str  # C/E + 2-digit major class + 2-digit minor class, e.g. "C0101"
    name: str
    name_en: str
    kind: ElementKind
    class_code: str  # the code's 4 digits: major + minor class
    scene_code: str
    governance: Governance
    filing_conditions: tuple[FilingCondition, ...]
    closure_conditions: tuple[str, ...]
    # Deadline-class code per step, every Step present. Excluded from the hash because a
    # mapping is unhashable; equality still compares it.
    deadlines: Mapping[Step, str] = field(hash=False)
    lead_department: str  # a department code or a placeholder (@street, @community)
    assist_departments: tuple[str, ...]
    loop_level: LoopLevel
    needs_onsite_check: bool  # 核实: a grid worker confirms the report before filing
    needs_verification: bool  # 核查: closure needs an on-site check by a grid worker
    is_citizen_facing: bool  # offered to citizens as a reportable service
    keywords: tuple[str, ...]  # Chinese keywords: cold start for the text classifier
    examples: tuple[str, ...]  # example citizen sentences, same purpose
    discovery: tuple[DiscoveryMethod, ...]
    dedupe_radius_m: int = 50
    dedupe_window_hours: int = 72

    @property
    def major_class(self) -> str:
        return self.class_code[:2]

    def filing_condition(self, code: str) -> FilingCondition | None:
        for condition in self.filing_conditions:
            if condition.code == code:
                return condition
        return None


@dataclass(frozen=True)
class EmergencyTask:
    """A pre-set task of an emergency package, filed as a case per street (or once)."""

    element: str
    title: str
    description: str
    per: str = "street"  # street | district


@dataclass(frozen=True)
class TaskPackage:
    code: str
    name: str
    hazards: tuple[str, ...]
    min_level: str
    tasks: tuple[EmergencyTask, ...]


@dataclass(frozen=True)
class EmergencyProfile:
    """The emergency profile (战平一体): warning levels (lowest first), the level that starts
    the mode, how deadlines tighten (an explicit class mapping wins over the factor) and the
    task packages dispatched when the mode starts."""

    levels: tuple[str, ...]
    trigger_level: str
    hazards: tuple[str, ...]
    deadline_factor: float
    min_deadline: timedelta
    deadline_classes: Mapping[str, str] = field(hash=False)
    task_packages: tuple[TaskPackage, ...] = ()

    def rank(self, level: str) -> int:
        """Position of ``level`` (-1 when unknown, so an unknown level never triggers)."""
        return self.levels.index(level) if level in self.levels else -1


@dataclass(frozen=True)
class Catalogue:
    """A loaded, validated catalogue. Mappings are read-only and keep file order."""

    version: str
    categories: Mapping[str, Category] = field(hash=False)
    scenes: Mapping[str, Scene] = field(hash=False)
    elements: Mapping[str, Element] = field(hash=False)
    deadline_classes: Mapping[str, DeadlineClass] = field(hash=False)
    departments: Mapping[str, DepartmentDef] = field(hash=False)
    emergency: EmergencyProfile | None = field(default=None, hash=False)

    def element(self, code: str) -> Element | None:
        return self.elements.get(code)

    def deadline(
        self, element: Element, step: Step, filing_condition: str | None = None
    ) -> DeadlineClass:
        """The deadline class of ``step`` for a case of ``element``.

        HANDLE uses the filing condition's deadline when one is given, else the element's
        HANDLE deadline; other steps ignore ``filing_condition``. An unknown filing condition
        raises :class:`KeyError` rather than silently falling back to a wrong deadline.
        """
        if step is Step.HANDLE and filing_condition is not None:
            condition = element.filing_condition(filing_condition)
            if condition is None:
                raise KeyError(
                    f"element {element.code} has no filing condition {filing_condition!r}"
                )
            return self.deadline_classes[condition.deadline]
        return self.deadline_classes[element.deadlines[step]]

    def is_urgent(self, element: Element, filing_condition: str | None = None) -> bool:
        """Whether the HANDLE step runs on the clock (under the given filing condition)."""
        return self.deadline(element, Step.HANDLE, filing_condition).is_urgent

    def elements_in_scene(self, scene_code: str) -> tuple[Element, ...]:
        return tuple(e for e in self.elements.values() if e.scene_code == scene_code)

    def scenes_in_category(self, category_code: str) -> tuple[Scene, ...]:
        return tuple(s for s in self.scenes.values() if s.category_code == category_code)

    def citizen_services(self) -> tuple[Element, ...]:
        """The elements offered to citizens (the future Open311 service list)."""
        return tuple(e for e in self.elements.values() if e.is_citizen_facing)
