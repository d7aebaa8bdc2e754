"""Labelled CSV files and cross-validation for the text classifier (used by the CLI and the
benchmark).

A deployment's history is a CSV with one or more text columns and a label column. The first
text column is taken as the title and weighted (``features.compose``); the others are
appended as the detail. Every problem with the file is an :class:`InputError` naming the
column or the rule, so ``civicloop nlp train`` can say exactly what is wrong.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold

from civicloop.core.errors import InputError
from civicloop.nlp import features


@dataclass(frozen=True)
class Dataset:
    texts: list[str]
    labels: list[str]


@dataclass(frozen=True)
class CVResult:
    folds: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    confusion: list[list[int]]  # rows: true label, columns: predicted label


def read_csv(path: Path, text_cols: Sequence[str], label_col: str) -> Dataset:
    """Texts and labels from a CSV (UTF-8, with or without BOM); rows without a label or text
    are skipped."""
    if not text_cols:
        raise InputError("至少需要一个文本列 (give --text-col)", field="text_col", rule="required")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            if not header:
                raise InputError(
                    f"CSV 文件为空: {path} (empty file)", field="csv", rule="not_empty"
                )
            for col in [*text_cols, label_col]:
                if col not in header:
                    raise InputError(
                        f"CSV 缺少列 {col!r} (missing column; the file has: {', '.join(header)})",
                        field=col,
                        rule="missing_column",
                    )
            texts, labels = [], []
            for row in reader:
                label = (row.get(label_col) or "").strip()
                parts = [(row.get(c) or "").strip() for c in text_cols]
                if not label or not any(parts):
                    continue
                texts.append(features.compose(parts[0], " 。".join(p for p in parts[1:] if p)))
                labels.append(label)
    except OSError as exc:
        raise InputError(f"无法读取 CSV: {path} ({exc})", field="csv", rule="readable") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"CSV 不是 UTF-8 编码: {path}", field="csv", rule="utf-8") from exc
    if not texts:
        raise InputError(
            f"CSV 没有可用的数据行: {path} (no rows with text and {label_col!r})",
            field="csv",
            rule="not_empty",
        )
    if len(set(labels)) < 2:
        raise InputError(
            f"列 {label_col!r} 至少需要 2 个不同的类别 (fewer than 2 labels)",
            field=label_col,
            rule="min_labels",
        )
    return Dataset(texts, labels)


def usable_folds(labels: Sequence[str], wanted: int, label_col: str = "label") -> int:
    """The number of folds every label can fill (at most ``wanted``); at least 2."""
    smallest = min(Counter(labels).values())
    folds = min(wanted, smallest)
    if folds < 2:
        rare = sorted(k for k, v in Counter(labels).items() if v < 2)
        raise InputError(
            f"列 {label_col!r} 中这些类别只有 1 行，无法交叉验证: {', '.join(rare[:10])}",
            field=label_col,
            rule="min_rows_per_label",
        )
    return folds


def read_taxonomy(path: Path, labels: Sequence[str] | None = None) -> Dataset:
    """Label-description sentences from a taxonomy CSV: the first column is the label, the
    other columns (sub-category names …) joined make the sentence. Rows whose label is not in
    ``labels`` (when given) are left out: they would add classes the data never has."""
    keep = set(labels) if labels is not None else None
    texts, out = [], []
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)  # header
            for row in reader:
                if len(row) < 2 or not row[0].strip():
                    continue
                label = row[0].strip()
                if keep is not None and label not in keep:
                    continue
                texts.append(" ".join(c.strip() for c in row[1:] if c.strip()))
                out.append(label)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"无法读取分类体系文件: {path} ({exc})", field="taxonomy", rule="readable"
        ) from exc
    return Dataset(texts, out)


def cross_validate(
    data: Dataset,
    *,
    folds: int = 5,
    seed: int = features.SEED,
    prior: Dataset | None = None,
    pipeline: Callable[[], Any] | None = None,
) -> CVResult:
    """Stratified k-fold predictions; every row predicted once by a model that never saw it.

    ``prior`` rows (taxonomy sentences) join every training fold and are never predicted.
    """
    k = usable_folds(data.labels, folds)
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    x = np.asarray(data.texts, dtype=object)
    y = np.asarray(data.labels)
    make = pipeline or (lambda: features.build_pipeline(calibrate=False))
    predicted = np.empty(len(y), dtype=object)
    for train, test in cv.split(x, y):
        tx, ty = list(x[train]), list(y[train])
        if prior is not None:
            tx += prior.texts
            ty += prior.labels
        predicted[test] = make().fit(tx, ty).predict(x[test])
    labels = sorted(set(data.labels))
    return CVResult(
        folds=k,
        accuracy=float(accuracy_score(y, predicted.astype(str))),
        macro_f1=float(f1_score(y, predicted.astype(str), average="macro")),
        labels=labels,
        confusion=confusion_matrix(y, predicted.astype(str), labels=labels).tolist(),
    )
