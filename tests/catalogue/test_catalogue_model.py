"""The pure catalogue model: durations, deadline look-up, immutability, purity of imports."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import FrozenInstanceError
from datetime import timedelta
from types import MappingProxyType

import pytest

from civicloop.catalogue.loader import default_catalogue
from civicloop.catalogue.model import (
    Catalogue,
    ClockMode,
    DeadlineClass,
    ElementKind,
    Step,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "mode", "hours"),
    [
        ("30m", ClockMode.CLOCK, 0.5),
        ("2h", ClockMode.CLOCK, 2),
        ("3d", ClockMode.CLOCK, 72),
        ("3d", ClockMode.WORKING, 24),
        ("1h30m", ClockMode.WORKING, 1.5),
        ("1d4h", ClockMode.WORKING, 12),
        (" 15m ", ClockMode.CLOCK, 0.25),
    ],
)
def test_parse_duration(text: str, mode: ClockMode, hours: float) -> None:
    assert parse_duration(text, mode) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "0h", "2", "h", "2 h", "1.5h", "2hours", "30m2h", "-1d"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text, ClockMode.CLOCK)


def test_step_order_is_the_loop_order() -> None:
    assert [s.value for s in Step] == [
        "accept", "check", "file", "dispatch", "sign", "handle", "verify", "close", "follow_up",
    ]  # fmt: skip
    assert ElementKind.COMPONENT.letter == "C" and ElementKind.EVENT.letter == "E"


def test_deadline_uses_the_filing_condition_only_for_handle() -> None:
    cat: Catalogue = default_catalogue()
    cover = cat.elements["C0101"]
    assert cat.deadline(cover, Step.HANDLE, "01").code == "urgent_2h"
    assert cat.deadline(cover, Step.HANDLE, "02").code == "work_1d"
    assert cat.deadline(cover, Step.HANDLE).code == "work_5d"  # the element's own (default)
    assert cat.deadline(cover, Step.CHECK, "02") == cat.deadline(cover, Step.CHECK)
    assert cat.is_urgent(cover, "01") and not cat.is_urgent(cover, "02")
    with pytest.raises(KeyError, match="no filing condition '09'"):
        cat.deadline(cover, Step.HANDLE, "09")
    assert cover.filing_condition("09") is None
    assert cat.element("C0101") is cover and cat.element("C9999") is None


def test_catalogue_is_immutable_and_elements_are_hashable() -> None:
    cat = default_catalogue()
    assert isinstance(cat.elements, MappingProxyType)
    with pytest.raises(TypeError):
        cat.elements["X"] = cat.elements["C0101"]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        cat.elements["C0101"].name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cat.elements["C0101"].deadlines[Step.HANDLE] = "x"  # type: ignore[index]
    assert len({*cat.elements.values()}) == len(cat.elements)
    assert DeadlineClass("a", "a", ClockMode.CLOCK, timedelta(1)).is_urgent


def test_scene_and_category_queries() -> None:
    cat = default_catalogue()
    assert {s.code for s in cat.scenes_in_category("construction")} == {
        "muck_trucks",
        "construction_sites",
    }
    assert all(e.scene_code == "manholes" for e in cat.elements_in_scene("manholes"))


def test_model_and_calendar_import_no_framework() -> None:
    code = (
        "import sys\n"
        "import civicloop.catalogue.model, civicloop.catalogue.calendar\n"
        "bad = {'pydantic', 'sqlalchemy', 'fastapi', 'starlette', 'yaml'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
