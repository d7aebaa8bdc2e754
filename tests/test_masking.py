"""Masking of personal data in free text and in log records (core.security)."""

from __future__ import annotations

import logging

import pytest

from civicloop.core.idcodes import resident_id_check_char
from civicloop.core.security import MaskingFilter, mask_name, mask_phone, mask_text

# An ID number computed here (address 310115, born 1980-07-15), not a real person's.
ID17 = "31011519800715123"
ID = ID17 + resident_id_check_char(ID17)
BAD_ID = ID17 + ("0" if ID[-1] != "0" else "1")  # same shape, wrong check digit


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("手机 138-1234-5678 找我", "手机 138-****-5678 找我"),
        ("+86 139 1234 5678", "+86 139 **** 5678"),
        ("座机021-5888 1234", "座机021-**** 1234"),
        ("办公室(0571)88881234", "办公室(0571)****1234"),
        ("我叫张三，住3号楼", "我叫张*，住3号楼"),
        ("联系人：李四，电话13812345678", "联系人：李*，电话138****5678"),
        ("姓名 王五", "姓名 王*"),
        ("本人欧阳小明反映", "本人欧阳**反映"),
        ("楼上王小红女士家漏水", "楼上王**女士家漏水"),
        ("张先生和王女士反映，李阿姨也知道", "张先生和王女士反映，李阿姨也知道"),
        ("路口张师傅", "路口张师傅"),
    ],
)
def test_mask_text(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_id_numbers_are_masked_only_when_their_check_digit_is_valid() -> None:
    assert mask_text(f"身份证{ID}。") == f"身份证{ID[:6]}********{ID[-4:]}。"
    assert mask_text(f"编号{BAD_ID}") == f"编号{BAD_ID}"  # an ordinary long number survives


def test_ordinary_numbers_and_text_survive() -> None:
    for text in (
        "案件号 C0120261127000123 已受理",
        "2026年11月27日下午3点，金额12345678元",
        "小区门口有人占道经营，已持续三天",
        "我是业主，住在3号楼502室",
        "订单号 202611271234567890",
    ):
        assert mask_text(text) == text
    assert mask_text(None) is None and mask_text("") == ""


def test_mask_phone_and_name_keep_their_shape() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone(None) is None
    assert mask_name("张三") == "张*" and mask_name("李小龙") == "李**"
    assert mask_name("欧阳小明") == "欧阳**"


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("civicloop.test_masking")
    log.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="civicloop.test_masking"):
            log.info("report from %s: %s", "13812345678", f"我叫张三 身份证{ID}")
            log.info("caller %(phone)s", {"phone": "13912345678"})
            try:
                raise ValueError(f"[parameters: ('13712345678', '{ID}')]")
            except ValueError:
                log.exception("request crashed")
    finally:
        log.filters.clear()
    text = caplog.text
    assert "13812345678" not in text and "13912345678" not in text and ID not in text
    assert "13712345678" not in text and "137****5678" in text and "ValueError" in text
    assert "138****5678" in text and "我叫张*" in text
