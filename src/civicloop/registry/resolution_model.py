"""Entity resolution, the computation: records in, scored pairs and clusters out.

Why: one enterprise appears as 上海浦江科技有限公司 in the legal-entity registry, 浦江科技(上海)有限
责任公司 on a permit and 浦江科技公司 in a complaint; one building as 浦东南路１２３弄５号 and 浦东南路
123弄5号楼. The profile (一企一档, 一房一档) and the risk of an object are only right when these
records are one object. This module decides which records are one, without touching storage:

1. **Normalise** every record (:func:`normalise_name`, :func:`normalise_address`): full/half
   width (NFKC), Chinese numerals, region prefixes and bracketed places ``(上海)``, legal forms
   (有限责任公司/股份有限公司/有限公司 → one ``legal_form``), common abbreviations.
2. **Exact keys first**: records sharing a credit code (GB 32100) or an ID number (GB 11643) are
   the same object, probability 1.
3. **Probabilistic linkage** (Fellegi–Sunter, splink on an in-memory DuckDB): blocking rules
   pick candidate pairs, comparisons on the normalised name, address, phone and representative
   give each pair a match probability. ``m`` and ``u`` are stated priors, not trained:
   enterprise names are unique within a registration authority, so chance agreement on a
   normalised name or a full address is far rarer than a random sample of a few thousand
   pairs can measure (splink's random-sampling estimate of ``u`` found no chance agreements,
   fell back to defaults and cost 9 points of recall on the benchmark).
4. **Decide**: ≥ ``high`` → auto-link; between ``low`` and ``high`` → the review queue; below →
   nothing. Auto-links form clusters (union–find); each cluster is one real-world object.

It imports no SQLAlchemy or FastAPI; ``resolution.py`` stores what this decides.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = ("enterprise", "person", "building")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+")
_PLACES = ("中华人民共和国", "中国", "上海市", "上海", "浦东新区", "浦东")
_BRACKETED = re.compile(r"\(([^)]{0,12})\)")
# Longest first: 股份有限公司 must win over 有限公司.
_LEGAL_FORMS = (
    ("股份有限公司", "股份"),
    ("有限责任公司", "有限"),
    ("集团有限公司", "有限"),
    ("有限公司", "有限"),
    ("集团公司", "公司"),
    ("分公司", "分公司"),
    ("公司", "公司"),
    ("合伙企业", "合伙"),
    ("个体工商户", "个体"),
    ("工作室", "个体"),
)
# Words people drop or shorten when they write a company's name from memory.
_ABBREVIATIONS = (
    ("科技发展", "科技"),
    ("信息技术", "信息"),
    ("网络科技", "网络"),
    ("技术服务", "技术"),
    ("贸易发展", "贸易"),
    ("实业发展", "实业"),
    ("物业管理", "物业"),
    ("餐饮管理", "餐饮"),
    ("建设工程", "建设"),
    ("建筑工程", "建筑"),
    ("电子商务", "电商"),
)
_ADDRESS_WORDS = (
    ("号楼", "号"),
    ("幢", "号"),
    ("栋", "号"),
    ("大道", "路"),
    ("公路", "路"),
    ("支弄", "支"),
    ("室", ""),
    ("号房", ""),
)
_ROAD_START = re.compile(r"^(南路|北路|东路|西路|中路|大道|路|街|大街|新路)")
_NOISE = re.compile(r"[\s·•,，。.、\-—_/\\'\"“”‘’]+")


def _cn_to_int(text: str) -> int:
    """一百二十三 → 123, 十五 → 15, 二〇二 → 202 (digit by digit when there is no unit)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c == "百":
            total += (current or 1) * 100
            current = 0
        elif c == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[c]
    return total + current


def width_fold(text: str) -> str:
    """Full-width to half-width and compatibility forms folded (NFKC); upper-case Latin."""
    return unicodedata.normalize("NFKC", text or "").upper()


def normalise_name(raw: str | None) -> tuple[str, str]:
    """An organisation name → (core, legal_form).

    ``上海浦江科技发展有限责任公司`` and ``浦江科技(上海)有限公司`` both give ``("浦江科技", "有限")``.
    """
    text = _NOISE.sub("", width_fold(raw or ""))
    # a bracketed place or note, (上海) or (集团), is dropped; other brackets keep their words
    text = _BRACKETED.sub(lambda m: "" if _is_place_or_note(m.group(1)) else m.group(1), text)
    text = text.replace("(", "").replace(")", "")
    form = ""
    for suffix, canonical in _LEGAL_FORMS:
        if text.endswith(suffix):
            text, form = text[: -len(suffix)], canonical
            break
    text = strip_places(text)
    for place in ("市", "区"):
        if text.startswith(place):
            text = text[1:]
    for long, short in _ABBREVIATIONS:
        text = text.replace(long, short)
    return text, form


def strip_places(text: str) -> str:
    """Drop leading country, city and district names (上海市浦东新区…), but not the 浦东 of
    浦东南路 or 浦东大道: a road named after a place keeps its name."""
    changed = True
    while changed:
        changed = False
        for place in _PLACES:
            rest = text[len(place) :]
            if text.startswith(place) and len(rest) > 1 and not _ROAD_START.match(rest):
                text, changed = rest, True
    return text


def _is_place_or_note(inner: str) -> bool:
    return (
        inner in _PLACES
        or inner in ("集团", "中国", "普通合伙", "有限合伙")
        or inner.endswith(("市", "区", "省"))
    )


def normalise_person_name(raw: str | None) -> str:
    return _NOISE.sub("", width_fold(raw or ""))


def normalise_address(raw: str | None) -> str:
    """A Chinese address folded for comparison: widths, numerals, places, building words.

    ``上海市浦东新区浦东南路一二三弄５号楼２０１室`` → ``浦东南路123弄5号201``.
    """
    text = _NOISE.sub("", width_fold(raw or ""))
    text = strip_places(text)
    text = _CN_NUMBER.sub(lambda m: str(_cn_to_int(m.group(0))), text)
    for long, short in _ADDRESS_WORDS:
        text = text.replace(long, short)
    return text.replace("(", "").replace(")", "")


def address_road(norm_address: str) -> str:
    """The road part of a normalised address (up to the first digit): a blocking key."""
    m = re.match(r"\D+", norm_address)
    return m.group(0) if m else ""


def address_head(norm_address: str) -> str:
    """Road and first number (``浦东南路123``): a tighter blocking key than the road alone."""
    m = re.match(r"\D+\d+", norm_address)
    return m.group(0) if m else ""


@dataclass(frozen=True)
class Record:
    """One source's record about an object. ``key`` is ``source:record_id``."""

    source: str
    record_id: str
    kind: str
    name: str | None = None
    credit_code: str | None = None
    id_number: str | None = None
    address: str | None = None
    phone: str | None = None
    representative: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.record_id}"


@dataclass(frozen=True)
class Pair:
    """A candidate match between two records with its probability and how it was found."""

    left: str
    right: str
    probability: float
    method: str  # exact_credit_code | exact_id_number | probabilistic | manual
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Thresholds:
    high: float = 0.95  # at or above: auto-link
    low: float = 0.6  # from here up to high: review queue


@dataclass
class Resolution:
    links: list[Pair]
    reviews: list[Pair]
    clusters: list[list[str]]
    compared_pairs: int = 0


def _row(r: Record) -> dict[str, Any]:
    if r.kind == "enterprise":
        core, form = normalise_name(r.name)
    else:
        core, form = normalise_person_name(r.name), ""
    addr = normalise_address(r.address)
    return {
        "unique_id": r.key,
        "name_core": core or None,
        "name_prefix": core[:2] or None,
        # a bare 公司 is how people shorten any form: it says nothing either way
        "legal_form": form if form and form != "公司" else None,
        "address_norm": addr or None,
        "address_road": address_road(addr) or None,
        "address_head": address_head(addr) or None,
        "phone": (re.sub(r"\D", "", r.phone or "") or None),
        "representative": normalise_person_name(r.representative) or None,
        "credit_code": (r.credit_code or "").strip().upper() or None,
        "id_number": (r.id_number or "").strip().upper() or None,
    }


class UnionFind:
    def __init__(self, items: Iterable[str] = ()) -> None:
        self.parent: dict[str, str] = {}
        for i in items:
            self.parent[i] = i

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> list[list[str]]:
        out: dict[str, list[str]] = {}
        for x in self.parent:
            out.setdefault(self.find(x), []).append(x)
        return sorted(sorted(g) for g in out.values())


def exact_pairs(records: Sequence[Record]) -> list[Pair]:
    """Pairs that share a credit code or an ID number: the same object by law."""
    pairs: list[Pair] = []
    for attr, method in (("credit_code", "exact_credit_code"), ("id_number", "exact_id_number")):
        by: dict[str, list[str]] = {}
        for r in records:
            value = (getattr(r, attr) or "").strip().upper()
            if value:
                by.setdefault(value, []).append(r.key)
        for keys in by.values():
            for other in keys[1:]:
                pairs.append(Pair(keys[0], other, 1.0, method))
    return pairs


def _settings(kind: str) -> Any:
    """Splink settings per kind of object: blocking rules and comparisons with m priors."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.JaroWinklerAtThresholds("name_core", [0.92, 0.8]).configure(
        m_probabilities=[0.7, 0.18, 0.08, 0.04], u_probabilities=[1e-5, 5e-4, 0.01, 0.98949]
    )
    address = cl.JaroWinklerAtThresholds("address_norm", [0.95, 0.85]).configure(
        m_probabilities=[0.75, 0.12, 0.08, 0.05], u_probabilities=[1e-4, 1e-3, 0.03, 0.9689]
    )
    comparisons: list[Any] = [name, address]
    blocking: list[Any] = [block_on("name_core"), block_on("name_prefix", "address_road")]
    if kind == "enterprise":
        comparisons.append(
            cl.ExactMatch("legal_form").configure(
                m_probabilities=[0.85, 0.15], u_probabilities=[0.6, 0.4]
            )
        )
        comparisons.append(
            cl.ExactMatch("representative").configure(
                m_probabilities=[0.95, 0.05], u_probabilities=[0.002, 0.998]
            )
        )
        blocking.append(block_on("address_norm"))
    elif kind == "person":
        comparisons.append(
            cl.ExactMatch("phone").configure(
                m_probabilities=[0.9, 0.1], u_probabilities=[1e-4, 0.9999]
            )
        )
        # common names (王伟, 李娜) would make a name-only block quadratic: pair it with the road
        blocking = [block_on("name_core", "address_road"), block_on("phone")]
    else:
        # buildings: same road and first number, or the same whole address
        blocking = [block_on("address_head"), block_on("address_norm")]
        comparisons = [address]
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        # buildings: a registry rarely lists one twice, but two records with one normalised
        # address are the same building far more often than two names are one enterprise
        probability_two_random_records_match=0.01 if kind == "building" else 0.0005,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def probabilistic_pairs(records: Sequence[Record], floor: float, *, seed: int = 1) -> list[Pair]:
    """Splink's scored candidate pairs at or above ``floor`` (one kind of object at a time)."""
    if len(records) < 2:
        return []
    kinds = {r.kind for r in records}
    if len(kinds) != 1:
        raise ValueError("probabilistic_pairs compares one kind of object at a time")
    import duckdb
    import pyarrow as pa  # splink's DuckDB backend takes Arrow tables (no pandas needed)
    from splink import DuckDBAPI, Linker

    logging.getLogger("splink").setLevel(logging.WARNING)
    rows = [_row(r) for r in records]
    table = pa.Table.from_pylist(rows)
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(connection=con)
        sdf = db_api.register(table)
        linker = Linker(sdf, _settings(kinds.pop()), log_level=logging.WARNING)
        result = linker.inference.predict(threshold_match_probability=floor)
        out = result.as_record_list()
    finally:
        con.close()
    pairs: list[Pair] = []
    for row in out:
        left, right = sorted((str(row["unique_id_l"]), str(row["unique_id_r"])))
        pairs.append(
            Pair(
                left,
                right,
                round(float(row["match_probability"]), 6),
                "probabilistic",
                {"match_weight": round(float(row["match_weight"]), 3)},
            )
        )
    return pairs


def resolve(
    records: Sequence[Record],
    thresholds: Thresholds | None = None,
    *,
    rejected: Iterable[tuple[str, str]] = (),
    seed: int = 1,
) -> Resolution:
    """Link ``records`` (any kinds): exact keys first, then splink per kind; cluster the links.

    ``rejected`` pairs (a reviewer said "not the same") are never linked or queued again.
    """
    t = thresholds or Thresholds()
    no = {tuple(sorted(p)) for p in rejected}
    links: list[Pair] = []
    reviews: list[Pair] = []
    compared = 0
    exact = [p for p in exact_pairs(records) if (p.left, p.right) not in no]
    links.extend(exact)
    uf = UnionFind(r.key for r in records)
    for p in exact:
        uf.union(p.left, p.right)
    by_key = {r.key: r for r in records}
    for kind in KINDS:
        group = [r for r in records if r.kind == kind]
        scored = probabilistic_pairs(group, t.low, seed=seed)
        compared += len(scored)
        for p in scored:
            if (p.left, p.right) in no or _keys_conflict(by_key[p.left], by_key[p.right]):
                continue
            if p.probability >= t.high:
                links.append(p)
                uf.union(p.left, p.right)
            else:
                reviews.append(p)
    # a review pair already joined through other links needs no human
    reviews = [p for p in reviews if uf.find(p.left) != uf.find(p.right)]
    return Resolution(links=links, reviews=reviews, clusters=uf.groups(), compared_pairs=compared)


def _keys_conflict(a: Record, b: Record) -> bool:
    """Two different credit codes (or ID numbers) are two objects, however alike the names."""
    for attr in ("credit_code", "id_number"):
        x, y = (getattr(a, attr) or "").strip().upper(), (getattr(b, attr) or "").strip().upper()
        if x and y and x != y:
            return True
    return False


def pairwise_scores(
    predicted: Iterable[Sequence[str]], truth: dict[str, str]
) -> tuple[float, float, int, int, int]:
    """Pairwise precision and recall of clusters against ``truth`` (record key → object id).

    Returns (precision, recall, true positives, predicted pairs, true pairs).
    """
    pred_pairs: set[tuple[str, str]] = set()
    for cluster in predicted:
        members = sorted(cluster)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pred_pairs.add((a, b))
    by_obj: dict[str, list[str]] = {}
    for key, obj in truth.items():
        by_obj.setdefault(obj, []).append(key)
    true_pairs: set[tuple[str, str]] = set()
    for members in by_obj.values():
        ms = sorted(members)
        for i, a in enumerate(ms):
            for b in ms[i + 1 :]:
                true_pairs.add((a, b))
    tp = len(pred_pairs & true_pairs)
    precision = tp / len(pred_pairs) if pred_pairs else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    return precision, recall, tp, len(pred_pairs), len(true_pairs)
