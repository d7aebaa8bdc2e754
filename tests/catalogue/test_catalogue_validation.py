"""Every validation rule: a broken file is reported with its file name, path and rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from civicloop.catalogue.loader import load_catalogue, validate_catalogue
from civicloop.catalogue.model import ClockMode, Step
from civicloop.core.errors import CatalogueError

BASE: dict[str, Any] = {
    "version": "2026.1",
    "departments": [
        {"code": "cgzf", "name": "城管执法局", "name_en": "Enforcement", "kind": "bureau"},
        {"code": "water", "name": "自来水公司", "name_en": "Water", "kind": "utility"},
    ],
    "deadline_classes": [
        {"code": "urgent_2h", "name": "紧急2小时", "mode": "clock", "duration": "2h"},
        {"code": "work_30m", "name": "一般30分钟", "mode": "working", "duration": "30m"},
        {"code": "work_3d", "name": "一般3个工作日", "mode": "working", "duration": "3d"},
    ],
    "categories": [
        {"code": "facilities", "name": "市政设施", "name_en": "Facilities", "governance": "urban"}
    ],
    "scenes": [
        {"code": "manholes", "name": "窨井盖", "name_en": "Manholes", "category_code": "facilities"}
    ],
    "defaults": {
        "deadlines": {step.value: "work_30m" for step in Step},
        "loop_level": "medium",
    },
}

ELEMENT: dict[str, Any] = {
    "code": "C0101",
    "name": "上水井盖",
    "name_en": "Water supply manhole cover",
    "kind": "component",
    "scene_code": "manholes",
    "filing_conditions": [
        {"code": "01", "text": "井盖缺失", "deadline": "urgent_2h"},
        {"code": "02", "text": "井盖松动"},
    ],
    "closure_conditions": ["井盖已补装"],
    "deadlines": {"handle": "work_3d"},
    "lead_department": "water",
    "assist_departments": ["cgzf", "@street"],
    "keywords": ["井盖"],
    "examples": ["井盖不见了。"],
    "discovery": [{"kind": "patrol"}],
}


def element(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(ELEMENT)
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def write(root: Path, name: str, data: Any) -> Path:
    path = root / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    """A valid two-file catalogue in ``tmp_path/cat``: base.yaml and urban.yaml."""
    root = tmp_path / "cat"
    root.mkdir()
    write(root, "base.yaml", BASE)
    write(root, "urban.yaml", {"elements": [element()]})
    return root


def problems_with(root: Path, **elem: Any) -> list[str]:
    write(root, "urban.yaml", {"elements": [element(**elem)]})
    return validate_catalogue(root)


def one(problems: list[str], *parts: str) -> str:
    """The single problem containing every part; fails with the full list otherwise."""
    hits = [p for p in problems if all(part in p for part in parts)]
    assert len(hits) == 1, problems
    return hits[0]


def test_the_fixture_catalogue_is_valid(cat: Path) -> None:
    assert validate_catalogue(cat) == []
    catalogue = load_catalogue(cat)
    e = catalogue.elements["C0101"]
    assert e.class_code == "0101"
    assert e.governance == "urban"  # from the scene's category
    assert e.filing_conditions[1].deadline == "work_3d"  # the element's handle deadline
    assert e.deadlines[Step.ACCEPT] == "work_30m"  # from defaults
    assert catalogue.deadline_classes["work_3d"].duration.total_seconds() == 3 * 8 * 3600
    assert catalogue.deadline_classes["work_3d"].mode is ClockMode.WORKING
    assert e.needs_onsite_check is True and e.is_citizen_facing is False  # built-ins


def test_a_single_file_is_a_catalogue_too(tmp_path: Path) -> None:
    path = write(tmp_path, "one.yaml", {**BASE, "elements": [element()]})
    assert list(load_catalogue(path).elements) == ["C0101"]


def test_unknown_key_names_file_path_rule_and_suggestion(cat: Path) -> None:
    item = element()
    item["lead"] = item.pop("lead_department")
    write(cat, "urban.yaml", {"elements": [item]})
    problems = validate_catalogue(cat)
    message = one(problems, "cat/urban.yaml: elements[0].lead: unknown key 'lead'")
    assert "(rule: no unknown keys" in message and "did you mean 'lead_department'" in message
    one(problems, "elements[0].lead_department: missing required key", "(rule: required)")


def test_unknown_top_level_and_nested_keys(cat: Path) -> None:
    write(cat, "extra.yaml", {"element": [], "version_note": "x"})
    write(cat, "urban.yaml", {"elements": [element(discovery=[{"kind": "patrol", "x": 1}])]})
    problems = validate_catalogue(cat)
    assert "did you mean 'elements'" in one(problems, "cat/extra.yaml: element: unknown key")
    one(problems, "cat/extra.yaml: version_note: unknown key", "rule: no unknown keys")
    one(problems, "urban.yaml: elements[0].discovery[0].x: unknown key 'x'", "allowed: kind, note")


def test_wrong_types_are_reported_with_the_yaml_hint(cat: Path) -> None:
    item = element(class_code="@class", needs_verification="@bool", keywords="@keywords")
    text = yaml.safe_dump({"elements": [item]}, allow_unicode=True, sort_keys=False, width=999)
    # Unquoted 0101 is an integer in YAML (octal 65, even): codes must be quoted.
    text = text.replace("'@class'", "0101").replace("'@bool'", "maybe")
    text = text.replace("'@keywords'", "井盖")
    write(cat, "urban.yaml", text)
    lines = text.splitlines()
    line_of = {
        key: i + 1
        for i, line in enumerate(lines)
        for key in ("class_code", "needs_verif")
        if line.strip().startswith(key)
    }
    problems = validate_catalogue(cat)
    message = one(problems, "urban.yaml: elements[0].class_code: expected text, got int")
    assert "rule: must be a string; quote codes" in message
    assert message.endswith(f"[line {line_of['class_code']}]")
    message = one(problems, "elements[0].needs_verification:", "rule: must be true or false")
    assert message.endswith(f"[line {line_of['needs_verif']}]")
    one(problems, "elements[0].keywords:", "rule: must be a list")


def test_enum_value_outside_its_set(cat: Path) -> None:
    problems = problems_with(cat, kind="thing", loop_level="huge")
    one(problems, "elements[0].kind: 'thing' is not allowed", "rule: must be one of")
    one(problems, "elements[0].loop_level:", "'micro'")


def test_missing_required_field(cat: Path) -> None:
    problems = problems_with(cat, closure_conditions=None, name=None)
    one(problems, "urban.yaml: elements[0].closure_conditions: missing required key", "required")
    one(problems, "urban.yaml: elements[0].name: missing required key")


@pytest.mark.parametrize(
    ("changes", "path", "rule"),
    [
        ({"code": "X0101"}, "elements[0].code: bad code 'X0101'", "C (component) or E (event)"),
        ({"code": "C101"}, "elements[0].code: bad code 'C101'", "2-digit major class"),
        ({"code": "E0101"}, "elements[0].code: code 'E0101' starts with E", "code letter matches"),
        ({"code": "C0001", "class_code": None}, "elements[0].code: class 00", "numbered from 01"),
        ({"class_code": "0102"}, "elements[0].class_code: class_code '0102'", "4 digits"),
        (
            {"filing_conditions": [{"code": "1", "text": "x"}]},
            "elements[0].filing_conditions[0].code: bad code '1'",
            "two digits",
        ),
        (
            {"filing_conditions": [{"code": "01", "text": "a"}, {"code": "01", "text": "b"}]},
            "elements[0].filing_conditions[1].code: duplicate code '01'",
            "unique within the element",
        ),
    ],
)
def test_code_format(cat: Path, changes: dict[str, Any], path: str, rule: str) -> None:
    message = one(problems_with(cat, **changes), f"urban.yaml: {path}")
    assert f"(rule: {rule}" in message or rule in message


def test_slug_codes(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    base["departments"][0]["code"] = "CGZF"
    write(cat, "base.yaml", base)
    problems = validate_catalogue(cat)
    one(problems, "base.yaml: departments[0].code: bad code 'CGZF'", "lower-case")


def test_duplicate_code_across_two_files(cat: Path) -> None:
    write(cat, "more.yaml", {"elements": [element(name="重复")]})
    problems = validate_catalogue(cat)
    message = one(problems, "cat/urban.yaml: elements[0].code: duplicate code 'C0101'")
    assert "first defined at cat/more.yaml: elements[0]" in message
    assert "rule: elements codes are unique across all files" in message


def test_duplicate_department_in_another_file(cat: Path) -> None:
    write(cat, "z.yaml", {"departments": [BASE["departments"][0]]})
    one(validate_catalogue(cat), "cat/z.yaml: departments[0].code: duplicate code 'cgzf'")


def test_dangling_references(cat: Path) -> None:
    problems = problems_with(
        cat,
        scene_code="manhole",
        lead_department="watr",
        assist_departments=["cgzf", "police"],
        deadlines={"handle": "x", "verify": "work_30m"},
        filing_conditions=[{"code": "01", "text": "井盖缺失", "deadline": "urgent_3h"}],
    )
    message = one(problems, "urban.yaml: elements[0].scene_code: unknown scene 'manhole'")
    assert "(rule: must be one of scenes; did you mean 'manholes'?)" in message
    one(problems, "elements[0].lead_department: unknown department 'watr'", "one of departments")
    one(problems, "elements[0].assist_departments[1]: unknown department 'police'")
    one(
        problems,
        "urban.yaml: elements[0].deadlines.handle: unknown deadline class 'x'",
        "(rule: must be one of deadline_classes",
    )
    one(problems, "elements[0].filing_conditions[0].deadline: unknown deadline class 'urgent_3h'")


def test_dangling_category_and_defaults_references(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    base["scenes"][0]["category_code"] = "nowhere"
    base["defaults"]["deadlines"]["sign"] = "work_2h"
    write(cat, "base.yaml", base)
    problems = validate_catalogue(cat)
    one(problems, "base.yaml: scenes[0].category_code: unknown category 'nowhere'")
    one(problems, "base.yaml: defaults.deadlines.sign: unknown deadline class 'work_2h'")


def test_placeholders(cat: Path) -> None:
    problems = problems_with(cat, lead_department="@stret", assist_departments=["water"])
    message = one(problems, "elements[0].lead_department: unknown placeholder '@stret'")
    assert "did you mean '@street'" in message
    problems = problems_with(cat, assist_departments=["water", "cgzf", "cgzf"])
    one(problems, "elements[0].assist_departments[0]: 'water' is the lead")
    one(problems, "elements[0].assist_departments[2]: 'cgzf' given twice")


@pytest.mark.parametrize(
    "field", ["filing_conditions", "closure_conditions", "keywords", "examples", "discovery"]
)
def test_at_least_one(cat: Path, field: str) -> None:
    one(problems_with(cat, **{field: []}), f"elements[0].{field}: empty list", "at least one")


def test_empty_text_is_refused(cat: Path) -> None:
    one(problems_with(cat, closure_conditions=["  "]), "closure_conditions[0]: empty text")


@pytest.mark.parametrize("duration", ["2x", "0m", "h", "2 hours", "-1h"])
def test_bad_duration(cat: Path, duration: str) -> None:
    base = copy.deepcopy(BASE)
    base["deadline_classes"][1]["duration"] = duration
    write(cat, "base.yaml", base)
    message = one(validate_catalogue(cat), "base.yaml: deadline_classes[1].duration:")
    assert "rule: a positive duration like '30m', '2h', '3d'" in message


def test_durations_combine_and_days_depend_on_the_mode(tmp_path: Path) -> None:
    base = copy.deepcopy(BASE)
    base["deadline_classes"] += [
        {"code": "mixed", "name": "x", "mode": "working", "duration": "1d2h30m"},
        {"code": "clock_day", "name": "y", "mode": "clock", "duration": "1d"},
    ]
    path = write(tmp_path, "one.yaml", {**base, "elements": [element()]})
    classes = load_catalogue(path).deadline_classes
    assert classes["mixed"].duration.total_seconds() == (8 + 2.5) * 3600
    assert classes["clock_day"].duration.total_seconds() == 24 * 3600


def test_unknown_step_in_deadlines(cat: Path) -> None:
    problems = problems_with(cat, deadlines={"handel": "work_3d"})
    one(problems, "elements[0].deadlines.handel: unknown key 'handel'", "must be one of 'accept'")


def test_missing_step_deadline_without_defaults(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    del base["defaults"]["deadlines"]["follow_up"]
    write(cat, "base.yaml", base)
    message = one(validate_catalogue(cat), "elements[0].deadlines.follow_up: no deadline for step")
    assert "defaults.deadlines" in message


def test_missing_loop_level_without_defaults(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    del base["defaults"]["loop_level"]
    write(cat, "base.yaml", base)
    one(validate_catalogue(cat), "elements[0].loop_level: missing")


def test_dedupe_values_must_be_positive(cat: Path) -> None:
    one(problems_with(cat, dedupe_radius_m=0), "elements[0].dedupe_radius_m", "must be positive")


def test_version_rules(cat: Path) -> None:
    write(cat, "more.yaml", {"version": "2026.2"})
    message = one(validate_catalogue(cat), "cat/more.yaml: version: version given again")
    assert "required exactly once" in message
    (cat / "more.yaml").unlink()
    base = copy.deepcopy(BASE)
    del base["version"]
    write(cat, "base.yaml", base)
    one(validate_catalogue(cat), "cat: version: missing", "required exactly once")
    write(cat, "base.yaml", yaml.safe_dump({**base, "version": 2026.1}))
    one(validate_catalogue(cat), "base.yaml: version: expected text, got float", "quote it")


def test_defaults_at_most_once(cat: Path) -> None:
    write(cat, "more.yaml", {"defaults": {"loop_level": "small"}})
    one(validate_catalogue(cat), "cat/more.yaml: defaults: defaults given again", "at most once")


def test_yaml_syntax_error_names_file_and_line(cat: Path) -> None:
    write(cat, "broken.yaml", "elements:\n  - code: C0102\n    name: [井盖\n    kind: component\n")
    problems = validate_catalogue(cat)
    message = one(problems, "cat/broken.yaml: line ")
    assert "(rule: YAML syntax)" in message
    assert any(f"line {n}," in message for n in (3, 4, 5))


def test_duplicate_yaml_key_is_reported_not_silently_overwritten(cat: Path) -> None:
    write(cat, "dup.yaml", "scenes:\n  - code: a_scene\n    code: b_scene\n    name: x\n")
    message = one(validate_catalogue(cat), "cat/dup.yaml: scenes[0].code: duplicate key 'code'")
    assert "first at line 2" in message and "[line 3]" in message


def test_a_file_that_is_not_a_mapping(cat: Path) -> None:
    write(cat, "list.yaml", "- a\n- b\n")
    one(validate_catalogue(cat), "cat/list.yaml: <top level>:", "a file is a mapping")


def test_a_section_that_is_not_a_list(cat: Path) -> None:
    write(cat, "odd.yaml", {"scenes": {"code": "x"}})
    one(validate_catalogue(cat), "cat/odd.yaml: scenes: expected a list", "must be a list")


def test_empty_file_and_empty_section_are_harmless(cat: Path) -> None:
    write(cat, "empty.yaml", "")
    write(cat, "nothing.yaml", "elements:\n")
    assert validate_catalogue(cat) == []


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    assert "no such file or directory" in validate_catalogue(tmp_path / "nope")[0]
    assert "no .yaml files" in validate_catalogue(tmp_path)[0]


def test_a_broken_item_does_not_cascade_into_dangling_references(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    base["scenes"][0]["name"] = 404  # the scene fails its shape check …
    write(cat, "base.yaml", base)
    problems = validate_catalogue(cat)
    assert len(problems) == 1, problems  # … but the element that refers to it is not blamed
    one(problems, "base.yaml: scenes[0].name: expected text")


def test_an_item_with_an_unknown_key_is_still_checked_against_the_other_rules(cat: Path) -> None:
    problems = problems_with(cat, colour="red", scene_code="nowhere", lead_department="@home")
    assert len(problems) == 3, problems
    one(problems, "elements[0].colour: unknown key")
    one(problems, "elements[0].scene_code: unknown scene 'nowhere'")
    one(problems, "elements[0].lead_department: unknown placeholder '@home'")


def test_all_problems_across_files_are_reported_at_once(cat: Path) -> None:
    base = copy.deepcopy(BASE)
    base["deadline_classes"][0]["duration"] = "soon"
    write(cat, "base.yaml", base)
    write(cat, "urban.yaml", {"elements": [element(scene_code="x"), element(code="C0202", y=1)]})
    write(cat, "social.yaml", "elements: [\n")
    problems = validate_catalogue(cat)
    assert len(problems) >= 4, problems
    files = {p.split(":")[0] for p in problems}
    assert files == {"cat/base.yaml", "cat/urban.yaml", "cat/social.yaml"}
    one(problems, "elements[0].scene_code: unknown scene 'x'")
    one(problems, "elements[1].y: unknown key 'y'")


def test_load_catalogue_raises_catalogue_error_with_every_problem(cat: Path) -> None:
    write(cat, "urban.yaml", {"elements": [element(scene_code="x", lead_department="y")]})
    with pytest.raises(CatalogueError) as info:
        load_catalogue(cat)
    assert len(info.value.problems) == 2
    assert info.value.code == "catalogue.invalid" and info.value.status == 422
    assert str(info.value) == info.value.problems[0]
