"""Identity numbers: the unified social credit code and the resident ID number.

Why here: enterprises are identified by their credit code (a mistyped code must be refused at
registration, not discovered when a department calls back), and personal-data masking must
tell a real ID number from any other 18-digit number (a case number, an amount) — both need
the check characters the national standards define.

* 统一社会信用代码, GB 32100-2015: 18 characters from the 31-character code alphabet (digits and
  the capitals without I, O, Z, S, V). Characters 1–2 are the registration authority and the
  organisation category, 3–8 the administrative division code (digits), 9–17 the
  organisation code, 18 the check character: weights ``3**i mod 31`` over characters 1–17,
  check value ``31 − (Σ mod 31)`` (31 → 0).
* 公民身份号码, GB 11643-1999: 17 digits (6 address code, 8 birth date ``YYYYMMDD``, 3 sequence)
  and a check character by ISO 7064 MOD 11-2 (weights ``2**(17−i) mod 11``; 10 is written X).

Each validator returns an ``IdCheck`` saying which rule failed, so an API can answer with the
field and the rule; ``is_valid_*`` are the yes/no forms used by masking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_INDEX = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, …
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, …
_ID_CHECK = "10X98765432"  # check character for Σ mod 11 = 0 … 10
_SPACES = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class IdCheck:
    """The outcome of a check: ``ok``, else the failed ``rule`` and a message (Chinese first)."""

    ok: bool
    value: str
    rule: str | None = None
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _fail(value: str, rule: str, message: str) -> IdCheck:
    return IdCheck(ok=False, value=value, rule=rule, message=message)


def normalise_credit_code(raw: str) -> str:
    """Upper case without spaces or dashes (people type codes in groups)."""
    return _SPACES.sub("", raw or "").upper()


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (already valid alphabet)."""
    total = sum(_CREDIT_INDEX[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(raw: str) -> IdCheck:
    """Validate a unified social credit code (GB 32100-2015)."""
    code = normalise_credit_code(raw)
    if len(code) != 18:
        return _fail(
            code,
            "GB32100.length",
            f"统一社会信用代码应为18位（收到{len(code)}位） / must be 18 characters",
        )
    bad = sorted({c for c in code if c not in _CREDIT_INDEX})
    if bad:
        return _fail(
            code,
            "GB32100.alphabet",
            f"统一社会信用代码含非法字符 {''.join(bad)}（不使用 I、O、Z、S、V） / "
            "characters outside the code alphabet",
        )
    if not code[2:8].isdigit():
        return _fail(
            code,
            "GB32100.division_code",
            "第3–8位应为行政区划代码（数字） / characters 3–8 must be the division code",
        )
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return _fail(
            code,
            "GB32100.check_character",
            f"统一社会信用代码校验位不符（应为{expected}） / check character does not match",
        )
    return IdCheck(ok=True, value=code)


def is_valid_credit_code(raw: str) -> bool:
    return check_credit_code(raw).ok


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_resident_id(raw: str) -> IdCheck:
    """Validate an 18-character resident ID number (GB 11643-1999)."""
    value = _SPACES.sub("", raw or "").upper()
    if len(value) != 18:
        return _fail(
            value,
            "GB11643.length",
            f"身份证号应为18位（收到{len(value)}位） / must be 18 characters",
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return _fail(
            value, "GB11643.format", "前17位应为数字，末位为数字或X / 17 digits then a digit or X"
        )
    if value[0] == "0":
        return _fail(value, "GB11643.address_code", "地址码首位不能为0 / address code starts 1–9")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _fail(value, "GB11643.birth_date", "出生日期无效 / the birth date is not a date")
    if not 1850 <= born.year <= 2100:
        return _fail(
            value, "GB11643.birth_date", "出生年份超出范围 / the birth year is implausible"
        )
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        return _fail(
            value,
            "GB11643.check_digit",
            f"身份证号校验位不符（应为{expected}） / check digit does not match",
        )
    return IdCheck(ok=True, value=value)


def is_valid_resident_id(raw: str) -> bool:
    return check_resident_id(raw).ok
