"""A generated linkage data set with KNOWN truth, for the fusion benchmark and tests.

Why: precision and recall need to know which records really are one object. Real registries do
not say; so this builds enterprises (one registry record each, with a valid GB 32100 credit
code) and the other sources' records about them — permits, cases, enterprise demands, device
owners — with the variants people produce: 有限公司/有限责任公司, ``(上海)`` inserted, the city
prefix, abbreviations, full-width characters, one-character typos, Chinese numerals and 号楼/幢
in addresses, and missing fields. Distinct enterprises share brand words and roads, so a
matcher that only looks at "similar names" is punished. Reproducible from a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from civicloop.core.idcodes import CREDIT_CODE_ALPHABET, credit_code_check_char
from civicloop.registry.resolution_model import Record

_BRAND = (
    "浦江宏达华信金桥陆家嘴张江东方明珠申城海纳百川远航恒泰鑫源瑞丰嘉禾新元盛世同创锦程亿联天润汇通"
    "安博诚德富康光辉国际和美佳园凯旋蓝天利民龙腾美华宁远启明荣昌尚品思源腾飞万象祥和兴业雅致永安"
)
_INDUSTRY = (
    "科技发展",
    "信息技术",
    "网络科技",
    "贸易发展",
    "实业发展",
    "物业管理",
    "餐饮管理",
    "建设工程",
    "电子商务",
    "生物医药",
    "文化传媒",
    "物流",
    "环保工程",
    "机械制造",
)
_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
_ROADS = ("浦东南路", "张杨路", "世纪大道", "东方路", "峨山路", "崂山路", "浦电路", "杨高南路",
          "锦绣路", "龙阳路", "川沙路", "金科路", "祖冲之路", "碧波路", "蔡伦路")  # fmt: skip
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
_CN = "〇一二三四五六七八九"
_SOURCES = ("permit", "case", "demand", "device")
# typo pairs that people really confuse (similar shape or sound)
_TYPO = {"达": "大", "华": "化", "信": "新", "金": "今", "江": "疆", "源": "原", "丰": "风",
         "泰": "太", "通": "同", "联": "连", "润": "闰", "程": "成", "盛": "胜", "海": "每"}  # fmt: skip


@dataclass
class Synth:
    records: list[Record]
    truth: dict[str, str]  # record key → object id


def _credit_code(rnd: random.Random) -> str:
    body = "91" + "310115" + "".join(rnd.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return body + credit_code_check_char(body)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _cn_digits(n: int) -> str:
    return "".join(_CN[int(d)] for d in str(n))


def _address(rnd: random.Random, road: str, no: int, building: int) -> str:
    return f"上海市浦东新区{road}{no}弄{building}号楼"


def _address_variant(rnd: random.Random, road: str, no: int, building: int) -> str | None:
    pick = rnd.random()
    if pick < 0.08:
        return None  # missing
    form = rnd.choice(("号楼", "幢", "号", "栋"))
    n = _cn_digits(no) if rnd.random() < 0.25 else str(no)
    b = str(building)
    text = f"{road}{n}弄{b}{form}"
    if rnd.random() < 0.5:
        text = rnd.choice(("上海市浦东新区", "浦东新区", "上海浦东")) + text
    if rnd.random() < 0.3:
        text = _full_width(text)
    return text


def _name_variant(rnd: random.Random, brand: str, industry: str, form: str) -> str:
    core = brand + industry
    r = rnd.random()
    if r < 0.2:  # abbreviation: 科技发展 → 科技
        for long, short in (("科技发展", "科技"), ("信息技术", "信息"), ("贸易发展", "贸易"),
                            ("实业发展", "实业"), ("物业管理", "物业"), ("电子商务", "电商")):  # fmt: skip
            core = core.replace(long, short)
    if rnd.random() < 0.15:  # one-character typo in the brand
        i = rnd.randrange(len(brand))
        if brand[i] in _TYPO:
            core = core.replace(brand[i], _TYPO[brand[i]], 1)
    f = form
    if rnd.random() < 0.4:
        f = {"有限公司": "有限责任公司", "有限责任公司": "有限公司"}.get(form, form)
    if rnd.random() < 0.1 and f != "股份有限公司":
        f = "公司"
    text = core + f
    where = rnd.random()
    if where < 0.25:
        text = core + "(上海)" + f
    elif where < 0.5:
        text = "上海" + text
    elif where < 0.6:
        text = core + "（上海）" + f
    if rnd.random() < 0.1:
        text = _full_width(text)
    return text


def generate(objects: int = 2000, *, seed: int = 11) -> Synth:
    """``objects`` enterprises, each with a registry record and 0–4 records in other sources."""
    rnd = random.Random(seed)
    used: set[str] = set()
    records: list[Record] = []
    truth: dict[str, str] = {}
    for i in range(objects):
        while True:
            brand = rnd.choice(_BRAND[::2]) + rnd.choice(_BRAND[1::2])
            industry = rnd.choice(_INDUSTRY)
            if brand + industry not in used:
                used.add(brand + industry)
                break
        form = rnd.choices(_FORMS, weights=(6, 3, 1))[0]
        road, no, building = rnd.choice(_ROADS), rnd.randint(1, 2000), rnd.randint(1, 30)
        code = _credit_code(rnd)
        rep = (
            rnd.choice(_SURNAMES)
            + rnd.choice(_GIVEN)
            + (rnd.choice(_GIVEN) if rnd.random() < 0.6 else "")
        )
        obj = f"E{i:06d}"
        reg = Record("registry", obj, "enterprise", name=f"上海{brand}{industry}{form}",
                     credit_code=code, address=_address(rnd, road, no, building),
                     representative=rep)  # fmt: skip
        records.append(reg)
        truth[reg.key] = obj
        for j in range(rnd.choices((0, 1, 2, 3, 4), weights=(2, 4, 3, 2, 1))[0]):
            source = _SOURCES[j % len(_SOURCES)]
            rec = Record(
                source,
                f"{obj}-{j}",
                "enterprise",
                name=_name_variant(rnd, brand, industry, form),
                credit_code=code if rnd.random() < 0.2 else None,
                address=_address_variant(rnd, road, no, building),
                representative=rep if rnd.random() < 0.4 else None,
            )
            records.append(rec)
            truth[rec.key] = obj
    rnd.shuffle(records)
    return Synth(records=records, truth=truth)
