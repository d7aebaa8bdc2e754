"""The shipped default catalogue: it loads, it is complete, and it covers what DESIGN.md names."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from civicloop.catalogue.loader import DEFAULT_CATALOGUE_DIR, default_catalogue, load_catalogue
from civicloop.catalogue.model import (
    COMMUNITY,
    PLACEHOLDERS,
    STREET,
    Catalogue,
    ClockMode,
    ElementKind,
    Governance,
    Step,
)
from civicloop.catalogue.schemas import CatalogueFile
from civicloop.org.model import LoopLevel

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def test_loads_with_enough_elements_scenes_and_categories(catalogue: Catalogue) -> None:
    assert catalogue.version == "2026.1"
    assert len(catalogue.elements) >= 45
    assert len(catalogue.scenes) >= 20
    assert len(catalogue.categories) == 10


def test_default_catalogue_is_cached_and_equal_to_a_fresh_load(catalogue: Catalogue) -> None:
    assert default_catalogue() is default_catalogue()
    assert default_catalogue().elements == catalogue.elements


def test_every_element_has_a_deadline_for_every_step(catalogue: Catalogue) -> None:
    for element in catalogue.elements.values():
        assert list(element.deadlines) == list(Step), element.code
        for step in Step:
            assert catalogue.deadline(element, step).duration.total_seconds() > 0
        for condition in element.filing_conditions:
            assert catalogue.deadline(element, Step.HANDLE, condition.code).code == (
                condition.deadline
            )


def test_covers_the_five_named_scenes_with_their_typical_elements(catalogue: Catalogue) -> None:
    named = {
        "garbage_sorting": {"垃圾满溢", "垃圾漏收", "投放点混投"},
        "elderly_care": {"独居老人用水异常", "老人紧急呼叫"},
        "smart_weather": {"气象预警响应", "道路积水", "树木倒伏"},
        "muck_trucks": {
            "渣土车未按核准路线行驶",
            "渣土车超时段运输",
            "建筑垃圾偷倒乱倒",
            "渣土车抛洒滴漏",
            "无证运输渣土",
        },
        "group_renting": {"群租居住人数超标", "群租违规分隔", "出租房屋消防隐患"},
    }
    for scene, names in named.items():
        assert scene in catalogue.scenes
        found = {e.name for e in catalogue.elements_in_scene(scene)}
        assert names <= found, (scene, names - found)


def test_covers_the_basic_gbt_components_and_events(catalogue: Catalogue) -> None:
    names = {e.name for e in catalogue.elements.values()}
    basic = {
        "上水井盖", "污水井盖", "电力井盖", "路灯", "交通信号灯", "道路护栏", "废物箱",
        "公共厕所", "行道树", "公共绿地", "暴露垃圾", "道路不洁", "乱堆物堆料",
        "违规户外广告", "非法小广告", "施工扰民", "道路破损", "未经许可占掘路",
        "无照经营游商", "店外经营", "占道废品收购", "机动车乱停放", "非机动车乱停放",
        "露天烧烤", "路面塌陷", "自来水管爆裂", "燃气泄漏",
        # economic and social governance
        "企业用工诉求", "惠企政策咨询与兑现", "企业审批办理诉求", "无证无照经营",
        "食品安全问题", "价格欺诈", "安全生产隐患", "噪音扰民", "邻里纠纷", "不文明养犬",
        "消防通道占用", "电梯",
    }  # fmt: skip
    assert basic <= names, basic - names


def test_all_three_governances_are_covered(catalogue: Catalogue) -> None:
    counts = Counter(e.governance for e in catalogue.elements.values())
    assert set(counts) == set(Governance)
    assert min(counts.values()) >= 5


def test_codes_follow_gbt_classes(catalogue: Catalogue) -> None:
    for element in catalogue.elements.values():
        major = int(element.major_class)
        if element.kind is ElementKind.COMPONENT:
            assert element.code.startswith("C") and 1 <= major <= 6, element.code
        else:
            assert element.code.startswith("E") and major >= 1, element.code
    majors = {int(e.major_class) for e in catalogue.elements.values() if e.kind == "component"}
    assert majors == {1, 2, 3, 4, 5, 6}
    event_majors = {int(e.major_class) for e in catalogue.elements.values() if e.kind == "event"}
    assert {1, 2, 3, 4, 5} <= event_majors and max(event_majors) >= 6


def test_codes_are_unique_across_the_raw_files() -> None:
    # Loading would already refuse duplicates; this reads the files directly so the test
    # does not depend on the loader under test.
    codes: dict[str, list[str]] = {}
    for path in sorted(DEFAULT_CATALOGUE_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for section in ("departments", "deadline_classes", "categories", "scenes", "elements"):
            for item in data.get(section) or []:
                codes.setdefault(section, []).append(item["code"])
    for section, values in codes.items():
        duplicates = [code for code, n in Counter(values).items() if n > 1]
        assert not duplicates, (section, duplicates)
    assert len(codes["elements"]) >= 45


def test_every_file_matches_the_published_schema() -> None:
    for path in sorted(DEFAULT_CATALOGUE_DIR.glob("*.yaml")):
        CatalogueFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_keywords_and_examples_are_real_chinese_text(catalogue: Catalogue) -> None:
    for element in catalogue.elements.values():
        assert 3 <= len(element.keywords) <= 8, element.code
        assert 2 <= len(element.examples) <= 4, element.code
        for text in (*element.keywords, *element.examples, element.name):
            assert text.strip() and HAN.search(text), (element.code, text)
        assert element.name_en.isascii() and element.name_en.strip()
        assert 1 <= len(element.filing_conditions) <= 3
        assert element.closure_conditions and element.discovery


def test_departments_resolve_and_placeholders_match_loop_levels(catalogue: Catalogue) -> None:
    for element in catalogue.elements.values():
        for code in (element.lead_department, *element.assist_departments):
            assert code in catalogue.departments or code in PLACEHOLDERS, (element.code, code)
        if element.lead_department == COMMUNITY:
            assert element.loop_level is LoopLevel.MICRO, element.code
        if element.lead_department == STREET:
            assert element.loop_level is LoopLevel.SMALL, element.code


def test_urgent_conditions_keep_the_whole_front_of_the_loop_on_the_clock(
    catalogue: Catalogue,
) -> None:
    # A night-time report of a missing cover must not wait for office hours to be checked,
    # dispatched or signed for; otherwise its 2-hour clock deadline is meaningless.
    urgent_elements = 0
    for element in catalogue.elements.values():
        urgent = [
            c for c in element.filing_conditions if catalogue.deadline_classes[c.deadline].is_urgent
        ]
        if not urgent:
            continue
        urgent_elements += 1
        steps = [Step.DISPATCH, Step.SIGN] + ([Step.CHECK] if element.needs_onsite_check else [])
        for step in steps:
            assert catalogue.deadline(element, step).is_urgent, (element.code, step)
    assert urgent_elements >= 20


def test_life_safety_conditions_are_short_clock_deadlines(catalogue: Catalogue) -> None:
    def handle(code: str, condition: str = "01") -> tuple[ClockMode, float]:
        element = catalogue.elements[code]
        deadline = catalogue.deadline(element, Step.HANDLE, condition)
        return deadline.mode, deadline.duration.total_seconds() / 3600

    assert handle("E0403") == (ClockMode.CLOCK, 0.5)  # 燃气泄漏
    assert handle("C0101") == (ClockMode.CLOCK, 2)  # 上水井盖缺失
    assert handle("E0802") == (ClockMode.CLOCK, 0.5)  # 老人紧急呼叫
    assert handle("C0501") == (ClockMode.CLOCK, 0.5)  # 电梯困人
    assert handle("C0101", "03")[0] is ClockMode.WORKING  # a faded label is not urgent


def test_citizen_services_exclude_machine_and_enterprise_channels(catalogue: Catalogue) -> None:
    services = {e.code for e in catalogue.citizen_services()}
    assert "E0101" in services and "C0101" in services
    assert "E0406" not in services  # a weather warning is not reported by citizens
    assert "E1201" not in services  # enterprise demands have their own channel
