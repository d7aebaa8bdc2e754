"""Build and check the catalogue's emergency profile (战平一体) from its file section.

Kept apart from the loader (which it extends): the ``emergency`` section of a catalogue file
(``data/default/40-emergency.yaml``) says at which warning level emergency mode starts, how
deadlines tighten and which task packages are dispatched. Its references — deadline classes,
elements, levels — are checked here with the loader's problem format, so a typo is reported
like any other catalogue fault. Read by ``civicloop.discovery.emergency``.
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

from civicloop.catalogue.model import (
    ClockMode,
    DeadlineClass,
    EmergencyProfile,
    EmergencyTask,
    TaskPackage,
    parse_duration,
)

_DURATION_RULE = "a positive duration like '30m', '2h', '3d' or '1h30m'; a working day is 8h"


def build_profile(
    item: Any, classes: dict[str, DeadlineClass], elements: set[str], problems: list[str]
) -> EmergencyProfile:
    """The profile of one checked ``emergency`` item (the loader's ``_Item[EmergencyIn]``);
    every fault is appended to ``problems``."""
    e = item.value
    if e.trigger_level not in e.levels:
        problems.append(
            item.problem(("trigger_level",), f"unknown level {e.trigger_level!r}", "in levels")
        )
    try:
        min_deadline = parse_duration(e.min_deadline, ClockMode.CLOCK)
    except ValueError as exc:
        problems.append(item.problem(("min_deadline",), str(exc), _DURATION_RULE))
        min_deadline = timedelta(minutes=15)
    for src, dst in e.deadline_classes.items():
        for code in (src, dst):
            if code not in classes:
                problems.append(
                    item.problem(
                        ("deadline_classes", src),
                        f"unknown deadline class {code!r}",
                        "must be one of deadline_classes",
                    )
                )
    packages = []
    for i, pkg in enumerate(e.task_packages):
        if pkg.min_level not in e.levels:
            problems.append(
                item.problem(
                    ("task_packages", i, "min_level"),
                    f"unknown level {pkg.min_level!r}",
                    "in levels",
                )
            )
        for j, task in enumerate(pkg.tasks):
            if task.element not in elements:
                problems.append(
                    item.problem(
                        ("task_packages", i, "tasks", j, "element"),
                        f"unknown element {task.element!r}",
                        "must be an element of the catalogue",
                    )
                )
            if task.per not in ("street", "district"):
                problems.append(
                    item.problem(
                        ("task_packages", i, "tasks", j, "per"),
                        f"{task.per!r}",
                        "street or district",
                    )
                )
        packages.append(
            TaskPackage(
                code=pkg.code,
                name=pkg.name,
                hazards=tuple(pkg.hazards),
                min_level=pkg.min_level,
                tasks=tuple(
                    EmergencyTask(t.element, t.title, t.description, t.per) for t in pkg.tasks
                ),
            )
        )
    return EmergencyProfile(
        levels=tuple(e.levels),
        trigger_level=e.trigger_level,
        hazards=tuple(e.hazards),
        deadline_factor=float(e.deadline_factor),
        min_deadline=min_deadline,
        deadline_classes=MappingProxyType(dict(e.deadline_classes)),
        task_packages=tuple(packages),
    )
