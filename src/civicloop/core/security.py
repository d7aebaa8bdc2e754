"""Secrets and personal data: password hashing and masking for display.

Passwords are hashed with argon2id (memory-hard; OWASP ASVS 2.4). Phone and ID numbers and
personal names are masked server-side before they are serialised to anyone without a need to
see them (GB/T 35273-2020 display restriction): ``138****5678``, ``021-****1234``,
``310115********123X``, ``张*``. Which viewer sees what is described in docs/personal-data.md.

Masking in free text is deliberately conservative about what it calls personal data:

* an 18-character number is an ID number only when its GB 11643 check digit is right, so case
  numbers, order numbers and amounts survive;
* a mobile number is 11 digits starting 13–19 (optionally +86 and dashes or spaces between
  the 3-4-4 groups), bounded by non-digits; a landline needs its area code (``021-5888 1234``,
  ``(0571)88881234``) — a bare 8-digit number is too often something else;
* a name is masked where the text says it is a name: after 我叫 / 我的名字是 / 联系人 / 姓名 /
  来电人 …, or a full name before an honorific (张三先生). A surname with an honorific alone
  (张先生, 王女士) is already the masked form and is kept: it is how operators address people.

``MaskingFilter`` applies the same masking to log records, for any logger that might see text
typed by the public.
"""

from __future__ import annotations

import logging
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from civicloop.core.idcodes import is_valid_resident_id

# Low-cost parameters keep logins fast on a 2-core box while still memory-hard (19 MiB, the
# OWASP minimum for argon2id).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# Mobile: 1[3-9]x-xxxx-xxxx, optionally +86, with optional dash/space between the groups.
_PHONE = re.compile(r"(?<![\d+])((?:\+?86[- ]?)?1[3-9]\d)([- ]?)(\d{4})([- ]?)(\d{4})(?!\d)")
# Landline with an area code (010, 021, 0571 …): 021-5888 1234, (021)58881234, 0571 8888 1234.
_LANDLINE = re.compile(r"(?<![\d])([(（]?0[1-9]\d{1,2}[)）]?)([- ]?)(\d{3,4})([- ]?)(\d{4})(?!\d)")
# 18-character candidates; only those with a valid check digit are masked.
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")

# The ~120 commonest surnames cover well over 90% of people (2020 census); compound ones first.
_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|夏侯|令狐|"
    "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|冯|邓|"
    "曹|彭|曾|肖|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|钟|谭|陆|汪|"
    "范|金|石|廖|贾|夏|韦|付|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|段|雷|侯|龙|史|陶|黎|贺|顾|毛|"
    "郝|龚|邵|万|钱|严|覃|武|戴|莫|孔|向|汤|常|温|康|施|文|牛|樊|葛|邢|安|齐|易|乔|伍|庞|颜|"
    "倪|庄|聂|章|鲁|岳|翟|殷|詹|申|欧|耿|关|兰|焦|俞|左|柳|甘|祝|包|宁|尚|符|舒|阮|柯|纪|梅|"
    "童|凌|毕|单|季|裴|霍|涂|成|苗|谷|盛|曲|翁|冉|骆|蓝|路|游|辛|靳|管|柴|蒙|鲍|华|喻|祁|蒲|"
    "房|滕|屈|饶|解|牟|艾|尤|阳|时|穆|农|司|卓|古|吉|缪|简|车|项|连|芦|麦|褚|娄|窦|戚|岑|景|"
    "党|宫|费|卜|冷|晏|席|卫|米|柏|宗|瞿|桂|全|佟|应|臧|闵|苟|邬|边|卞|姬|师|和|仇|栾|隋|商|"
    "刁|沙|荣|巫|寇|桑|郎|甄|丛|仲|虞|敖|巩|明|佘|池|查|麻|苑|迟|邝"
)
# Characters that end a name rather than continue it (电话, 手机, 住在, 反映 …).
_NOT_GIVEN = "电手号联住在是的说反投家先女阿老师同大叔奶爷口上下里边楼区门路街室栋层和与跟"
_GIVEN = rf"(?:(?![{_NOT_GIVEN}])[\u4e00-\u9fff]){{1,2}}"
_HONORIFIC = r"先生|女士|小姐|阿姨|师傅|老师|同志|大爷|大妈|大叔|奶奶|爷爷|老伯"
# A name after a cue that says "this is a name".
_NAME_AFTER_CUE = re.compile(
    r"(我叫|我的名字[是叫]|本人|联系人|姓名|来电人|报告人|反映人|投诉人|举报人|申请人|法定代表人|法人代表)"
    r"([:：]?\s*)"
    rf"((?:{_SURNAMES})){_GIVEN}"
)
# A full name before an honorific: 张三先生 → 张*先生 (张先生 alone is kept).
_NAME_BEFORE_HONORIFIC = re.compile(rf"((?:{_SURNAMES})){_GIVEN}(?={_HONORIFIC})")


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str | None) -> str | None:
    """Keep the first character (the surname, or the first of a compound one): 张三 → 张*."""
    if not name:
        return name
    keep = 2 if len(name) > 2 and name[:2] in _SURNAMES.split("|") else 1
    return name[:keep] + "*" * (len(name) - keep)


def _id_sub(m: re.Match[str]) -> str:
    if not is_valid_resident_id(m.group(0)):
        return m.group(0)  # a case number or any other long number: not personal data
    return f"{m.group(1)}********{m.group(3)}"


def _phone_sub(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}****{m.group(4)}{m.group(5)}"


def _landline_sub(m: re.Match[str]) -> str:
    return f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}{m.group(5)}"


def _cue_sub(m: re.Match[str]) -> str:
    name = m.group(0)[len(m.group(1)) + len(m.group(2)) :]
    return f"{m.group(1)}{m.group(2)}{mask_name(name)}"


# A very common surname right before the honorific is the bare form (路口张师傅), not a given name.
_TOP_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹")


def _honorific_sub(m: re.Match[str]) -> str:
    if m.group(0)[-1] in _TOP_SURNAMES:
        return m.group(0)
    return mask_name(m.group(0)) or ""


def mask_text(text: str | None) -> str | None:
    """Mask phone numbers, checksum-valid ID numbers and cued personal names in free text."""
    if not text:
        return text
    text = _ID.sub(_id_sub, text)
    text = _PHONE.sub(_phone_sub, text)
    text = _LANDLINE.sub(_landline_sub, text)
    text = _NAME_AFTER_CUE.sub(_cue_sub, text)
    return _NAME_BEFORE_HONORIFIC.sub(_honorific_sub, text)


class MaskingFilter(logging.Filter):
    """Mask personal data in log records (message, string arguments, traceback) before writing.

    Install on a handler or logger that may see text typed by the public:
    ``logging.getLogger("civicloop").addFilter(MaskingFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg) or record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(
                (mask_text(a) or a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: (mask_text(v) or v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        # Tracebacks can quote user text (a driver error lists the SQL parameters): format
        # the exception here, masked; formatters reuse ``exc_text`` instead of formatting again.
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
