"""Identity-number validators: property-style checks over codes computed here (no real people)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from civicloop.core.idcodes import (
    CREDIT_CODE_ALPHABET,
    check_credit_code,
    check_resident_id,
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_resident_id,
    resident_id_check_char,
)


def make_credit_code(rng: random.Random) -> str:
    head = rng.choice("123456789ABCDEFGNY") + rng.choice("123459")
    division = f"{rng.randrange(110000, 660000):06d}"
    org = "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    first17 = head + division + org
    return first17 + credit_code_check_char(first17)


def make_resident_id(rng: random.Random) -> str:
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 90))
    first17 = f"{rng.randrange(110000, 660000)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return first17 + resident_id_check_char(first17)


def test_standard_examples() -> None:
    # the sample code printed in GB 32100-2015 and the sample number of GB 11643-1999
    assert is_valid_credit_code("91350100M000100Y43")
    assert is_valid_resident_id("11010519491231002X")


def test_generated_codes_are_valid_and_any_single_change_is_caught() -> None:
    rng = random.Random(32100)
    for _ in range(300):
        code = make_credit_code(rng)
        assert check_credit_code(code).ok, code
        assert is_valid_credit_code(code.lower()) and is_valid_credit_code(
            f"{code[:6]} {code[6:12]} {code[12:]}"
        )
        pos = rng.randrange(18)
        other = rng.choice([c for c in CREDIT_CODE_ALPHABET if c != code[pos]])
        changed = code[:pos] + other + code[pos + 1 :]
        # mod 31 with weights coprime to 31 catches every single-character substitution
        if changed[2:8].isdigit():
            assert check_credit_code(changed).rule == "GB32100.check_character", changed
        else:
            assert check_credit_code(changed).rule == "GB32100.division_code"


def test_generated_id_numbers_are_valid_and_a_changed_digit_is_caught() -> None:
    rng = random.Random(11643)
    for _ in range(300):
        number = make_resident_id(rng)
        assert check_resident_id(number).ok, number
        pos = rng.choice([0, 1, 2, 3, 4, 5, 14, 15, 16])  # outside the birth date
        digit = rng.choice([d for d in "0123456789" if d != number[pos] and (pos or d != "0")])
        changed = number[:pos] + digit + number[pos + 1 :]
        assert check_resident_id(changed).rule == "GB11643.check_digit", changed


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("91350100M000100Y4", "GB32100.length"),
        ("91350100M000100Y433", "GB32100.length"),
        ("91350100M0001O0Y43", "GB32100.alphabet"),  # letter O is not in the alphabet
        ("913501I0M000100Y43", "GB32100.alphabet"),
        ("9135A100M000100Y43", "GB32100.division_code"),
        ("91350100M000100Y44", "GB32100.check_character"),
    ],
)
def test_credit_code_failures_name_the_rule(code: str, rule: str) -> None:
    got = check_credit_code(code)
    assert not got.ok and got.rule == rule and got.message


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("11010519491231002", "GB11643.length"),
        ("1101051949123100AX", "GB11643.format"),
        ("01010519491231002X", "GB11643.address_code"),
        ("110105194902300021", "GB11643.birth_date"),  # 30 February
        ("110105194912310021", "GB11643.check_digit"),
    ],
)
def test_resident_id_failures_name_the_rule(number: str, rule: str) -> None:
    got = check_resident_id(number)
    assert not got.ok and got.rule == rule
