"""Pure rules: row checks and the group-renting decision."""

from __future__ import annotations

from civicloop.core.idcodes import resident_id_check_char
from civicloop.registry.generate import _cn_number
from civicloop.registry.model import (
    GroupRentingRules,
    check_entity,
    check_person,
    check_room,
    judge_occupancy,
    residents_limit,
)


def _id(body: str) -> str:
    return body + resident_id_check_char(body)


def test_person_birth_date_and_sex_must_agree_with_the_id_number() -> None:
    idn = _id("31011519800101001")  # born 1980-01-01, odd sequence → male
    ok = check_person({"id_number": idn, "name": "王伟", "address": "x", "sex": "男"})
    assert ok.problems == [] and str(ok.values["birth_date"]) == "1980-01-01"
    bad = check_person(
        {"id_number": idn, "name": "王伟", "address": "x", "sex": "女", "birth_date": "1981-01-01"}
    )
    assert {rule for _, rule, _ in bad.problems} == {"date.matches_id", "sex.matches_id"}
    flags = check_person({"id_number": idn, "name": "王", "address": "x", "living_alone": "也许"})
    assert [(c, r) for c, r, _ in flags.problems] == [("living_alone", "bool")]


def test_entity_and_room_rules() -> None:
    bad = check_entity({"credit_code": "91310115MA1H7XXXX0", "name": "", "licence_status": "歇业"})
    rules = {rule for _, rule, _ in bad.problems}
    assert "required" in rules and "licence_status.value" in rules
    assert any(r.startswith("GB32100") for r in rules)
    room = check_room({"room_id": "R1", "address": "a", "use": "仓库", "area_m2": "-3", "lon": "1"})
    assert {c for c, _, _ in room.problems} == {"use", "area_m2", "lon"}


def test_limits_and_the_alert_decision() -> None:
    rules = GroupRentingRules()
    assert residents_limit(30, None, rules) == 6
    assert residents_limit(30, 3, rules) == 3
    assert residents_limit(500, None, rules) == rules.max_per_room
    assert not judge_occupancy("R", 5, 4, {"complaints": 0}, rules).should_alert
    assert judge_occupancy("R", 5, 4, {"complaints": 1}, rules).should_alert
    assert judge_occupancy("R", 8, 4, {"complaints": 0}, rules).should_alert  # twice the limit


def test_numbers_written_out() -> None:
    assert [_cn_number(n) for n in (7, 12, 500, 1203, 110)] == [
        "七",
        "十二",
        "五百",
        "一千二百零三",
        "一百一十",
    ]
