"""Reply quality (答复质量): does a department's reply answer what the citizen asked?

A qualitative input to evaluation beside the quantitative KPIs. For one (request, reply) pair:

* **relevance** — do they talk about the same thing: the share of the request's key nouns (jieba
  TF-IDF keywords, nouns and place names only) that the reply mentions, blended with the cosine
  similarity of their jieba word TF-IDF vectors (jieba's own IDF table, so no corpus is needed
  and one pair scores the same whatever else is in the database);
* **completeness** — does it answer each point a reply owes (GB/T-style 时间 time, 地点 place,
  措施 action, 结果 result), found by small lexicons and patterns;
* **timeliness** — from the dates: within the deadline scores 1, then it decays.

A reply whose relevance is below :data:`DIFFERENT_QUESTION_THRESHOLD` is flagged as answering a
different question. The weights and threshold were tuned on
``shared/data/citizen_messages_with_replies.csv`` (true pairs vs shuffled pairs; see
docs/supervision.md and tests/supervision/test_reply_quality.py, which recompute the AUC).
Pure functions: no database, no web framework.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

# jieba: Chinese word segmentation, POS tags and its TF-IDF keyword table (already used by nlp/)
import jieba

with warnings.catch_warnings():
    # jieba.analyse reads its IDF table with an unclosed open(); not ours, and harmless
    warnings.simplefilter("ignore", ResourceWarning)
    import jieba.analyse
    import jieba.posseg

KEY_POS = ("n", "nr", "ns", "nt", "nz", "vn", "nrt", "nw")
TOP_KEYWORDS = 12
RELEVANCE_KEYWORD_WEIGHT = 0.6  # the rest is the TF-IDF cosine
DIFFERENT_QUESTION_THRESHOLD = 0.1
WEIGHTS = {"relevance": 0.5, "completeness": 0.3, "timeliness": 0.2}
# timeliness when no deadline is known: full marks within this many days, zero at the second
ON_TIME_DAYS, LATE_DAYS = 15, 60

# Boilerplate every reply carries; it says nothing about the question.
_STOP_TEXT = (
    "网友 您好 你好 感谢 关注 支持 留言 反映 问题 情况 回复 答复 如下 现将 来信 收悉 平台 "
    "栏目 工作 我们 有关 相关 部门 谢谢 市民 同志 领导 信任 监督 调查 处理 核实 现回复"
)
_STOP = frozenset(_STOP_TEXT.split(" "))
_TIME = re.compile(
    r"\d{4}\s*年|\d{1,2}\s*月\s*\d{0,2}|\d{1,2}\s*日|\d{1,2}\s*[:：]\d{2}|目前|近日|近期|"
    r"日前|今年|明年|本月|下月|年底|月底|上旬|中旬|下旬|预计|计划于|已于|将于|工作日|天内"
)
_PLACE = re.compile(
    r"[区县市镇乡村街路巷弄道号栋楼]|小区|社区|街道|广场|公园|学校|医院|现场|周边|沿线|路段"
)
_ACTION = re.compile(
    r"调查|核实|核查|处理|整改|协调|责令|清理|清除|维修|修复|查处|安排|督促|约谈|巡查|检查|"
    r"执法|拆除|疏通|更换|安装|立案|处罚|查处|组织|召开|走访|联系|沟通|答复|落实|制定|出台"
)
_RESULT = re.compile(
    r"已完成|已解决|已整改|已修复|已清理|已恢复|已拆除|已处理|已办结|已落实|完工|通车|恢复|"
    r"解决|办结|到位|目前已|现已|已经|将于|预计|计划|正在|完成"
)
POINTS = {"time": _TIME, "place": _PLACE, "action": _ACTION, "result": _RESULT}


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    tfidf = jieba.analyse.default_tfidf
    return tfidf.idf_freq, tfidf.median_idf


def _words(text: str) -> list[str]:
    return [
        w for w in jieba.lcut(text) if len(w) > 1 and w not in _STOP and any(c.isalnum() for c in w)
    ]


@lru_cache(maxsize=4096)
def keywords(text: str, top: int = TOP_KEYWORDS) -> tuple[str, ...]:
    """The request's key nouns and place names (jieba TF-IDF, POS-filtered), best first.

    Cached: POS tagging is the slow part, and one request is scored against its reply again
    whenever a board or a rollup asks."""
    tags = jieba.analyse.extract_tags(text, topK=top * 2, allowPOS=KEY_POS)
    return tuple([t for t in tags if t not in _STOP and len(t) > 1][:top])


def cosine(a: str, b: str) -> float:
    """Cosine similarity of the jieba word TF-IDF vectors of two texts."""
    idf, median = _idf()
    va, vb = Counter(_words(a)), Counter(_words(b))
    if not va or not vb:
        return 0.0
    wa = {w: c * idf.get(w, median) for w, c in va.items()}
    wb = {w: c * idf.get(w, median) for w, c in vb.items()}
    dot = sum(v * wb[w] for w, v in wa.items() if w in wb)
    na = math.sqrt(sum(v * v for v in wa.values()))
    nb = math.sqrt(sum(v * v for v in wb.values()))
    return dot / (na * nb) if na and nb else 0.0


def keyword_overlap(request: str, reply: str) -> tuple[float, list[str], list[str]]:
    """(share of the request's keywords found in the reply, found, missing)."""
    keys = keywords(request)
    if not keys:
        return 0.0, [], []
    found = [k for k in keys if k in reply]
    return len(found) / len(keys), found, [k for k in keys if k not in reply]


def relevance(request: str, reply: str) -> float:
    overlap, _, _ = keyword_overlap(request, reply)
    return RELEVANCE_KEYWORD_WEIGHT * overlap + (1 - RELEVANCE_KEYWORD_WEIGHT) * cosine(
        request, reply
    )


def completeness(reply: str) -> tuple[float, dict[str, bool]]:
    """(share of the points a reply owes that it covers, point → covered)."""
    covered = {name: bool(rx.search(reply)) for name, rx in POINTS.items()}
    return sum(covered.values()) / len(covered), covered


def timeliness(
    asked_at: datetime | None, replied_at: datetime | None, due_at: datetime | None = None
) -> float | None:
    """1 when replied by the deadline (or within ON_TIME_DAYS when none is known), decaying
    linearly to 0 at as long again past it (or at LATE_DAYS); None without dates."""
    if asked_at is None or replied_at is None:
        return None
    if due_at is not None and due_at > asked_at:
        allowed = due_at - asked_at
        late = replied_at - due_at
        if late <= timedelta(0):
            return 1.0
        return max(0.0, 1.0 - late / allowed)
    days = (replied_at - asked_at).total_seconds() / 86400
    if days <= ON_TIME_DAYS:
        return 1.0
    return max(0.0, 1.0 - (days - ON_TIME_DAYS) / (LATE_DAYS - ON_TIME_DAYS))


@dataclass(frozen=True)
class ReplyScore:
    relevance: float
    completeness: float
    timeliness: float | None
    score: float
    answers_different_question: bool
    keywords_found: list[str] = field(default_factory=list)
    keywords_missing: list[str] = field(default_factory=list)
    points: dict[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "relevance": round(self.relevance, 3),
            "completeness": round(self.completeness, 3),
            "timeliness": None if self.timeliness is None else round(self.timeliness, 3),
            "score": round(self.score, 3),
            "answers_different_question": self.answers_different_question,
            "keywords_found": self.keywords_found,
            "keywords_missing": self.keywords_missing,
            "points": self.points,
        }


def score_reply(
    request: str,
    reply: str,
    *,
    asked_at: datetime | None = None,
    replied_at: datetime | None = None,
    due_at: datetime | None = None,
) -> ReplyScore:
    """Score one reply; the overall score re-weights over the parts that are known."""
    overlap, found, missing = keyword_overlap(request, reply)
    rel = RELEVANCE_KEYWORD_WEIGHT * overlap + (1 - RELEVANCE_KEYWORD_WEIGHT) * cosine(
        request, reply
    )
    comp, points = completeness(reply)
    timely = timeliness(asked_at, replied_at, due_at)
    parts = {"relevance": rel, "completeness": comp}
    if timely is not None:
        parts["timeliness"] = timely
    total = sum(WEIGHTS[k] * v for k, v in parts.items()) / sum(WEIGHTS[k] for k in parts)
    return ReplyScore(
        relevance=rel,
        completeness=comp,
        timeliness=timely,
        score=total,
        answers_different_question=rel < DIFFERENT_QUESTION_THRESHOLD,
        keywords_found=found,
        keywords_missing=missing,
        points=points,
    )


def auc(positives: list[float], negatives: list[float]) -> float:
    """Area under the ROC curve: P(a positive outscores a negative), ties counting half."""
    if not positives or not negatives:
        return float("nan")
    wins = 0.0
    for p in positives:
        for n in negatives:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positives) * len(negatives))
