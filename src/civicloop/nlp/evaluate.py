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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

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


def cross_validate(data: Dataset, *, folds: int = 5, seed: int = features.SEED) -> CVResult:
    """Stratified k-fold predictions of the classifier; every row predicted once, unseen."""
    k = usable_folds(data.labels, folds)
    cv = StratifiedKFold(k, shuffle=True, random_state=seed)
    y = np.asarray(data.labels)
    predicted = cross_val_predict(
        features.build_pipeline(calibrate=False), np.asarray(data.texts, dtype=object), y, cv=cv
    )
    labels = sorted(set(data.labels))
    return CVResult(
        folds=k,
        accuracy=float(accuracy_score(y, predicted)),
        macro_f1=float(f1_score(y, predicted, average="macro")),
        labels=labels,
        confusion=confusion_matrix(y, predicted, labels=labels).tolist(),
    )
