"""Chinese text features and the linear model of the classifier (pure scikit-learn, no I/O).

A message is turned into two TF-IDF blocks, joined side by side:

* **words**: jieba's segmentation (unigrams and bigrams of words) — what the message is about;
* **characters**: character 1–3-grams — robust to segmentation errors, typos and the short
  keyword-only sentences of the cold-start catalogue.

Both use sublinear tf (a word said ten times is not ten times the evidence). On top sits a
linear SVM (:class:`CalibratedSVC`) with balanced class weights so rare labels are not
drowned. Its scores become probabilities by a softmax whose single temperature is fitted on
out-of-fold scores (temperature scaling, Guo et al. 2017): one number learned on held-out data,
so "0.9" means right about nine times in ten, at the prediction cost of one sparse dot product.
A multinomial logistic regression would give probabilities directly but trains 10–20× slower
on the cold-start set (80 labels), which every new process would pay.

The title of a message carries most of its meaning in few characters, and a long letter states
its matter at the start and then drifts into background, history and courtesies, so
:func:`compose` keeps the title and only the first :data:`DETAIL_CHARS` characters of the
detail (both tuned by cross-validation in ``benchmarks/nlp.py``: 249 real messages, 5 folds —
full detail 0.79, first 150 characters 0.83 accuracy).

The tokenizer is a module-level function so a fitted pipeline pickles by reference to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# jieba: the de-facto Chinese word segmenter, pure Python, dictionary shipped in the wheel.
import jieba

# numpy/scipy: the softmax and the one-dimensional temperature fit (scipy comes with sklearn).
import numpy as np
from scipy.optimize import minimize_scalar

# scikit-learn: TF-IDF, the linear model and cross-validation (see docs/nlp.md).
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

jieba.setLogLevel(60)  # jieba logs its dictionary load at INFO on stderr; not ours to show

_SPACE = re.compile(r"\s+")
# Excel exports of the public 12345 data carry literal "_x000D_" carriage-return escapes.
_EXCEL_CR = re.compile(r"_x000[dDaA]_")
# Digits and Latin letters in citizen messages are mostly house numbers, dates and district
# codes ("A3区"); they identify places, not problems, so they are folded to one symbol.
_DIGITS = re.compile(r"[0-9０-９]+")

TITLE_REPEAT = 1
DETAIL_CHARS = 150
WORD_NGRAMS = (1, 1)
CHAR_NGRAMS = (1, 2)
DEFAULT_C = 0.3
SEED = 0


def normalise(text: str) -> str:
    text = _EXCEL_CR.sub(" ", text)
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip().lower()


def compose(
    title: str,
    detail: str = "",
    *,
    title_repeat: int = TITLE_REPEAT,
    detail_chars: int | None = DETAIL_CHARS,
) -> str:
    """One text from a title and the start of a detail (``detail_chars=None``: all of it)."""
    parts = [title] * max(1, title_repeat) if title else []
    detail = normalise(detail) if detail else ""
    if detail:
        parts.append(detail[:detail_chars] if detail_chars else detail)
    return " 。".join(parts)


def words(text: str) -> list[str]:
    """jieba words of a normalised text, without whitespace and punctuation-only tokens."""
    return [w for w in jieba.lcut(normalise(text)) if w.strip() and not _is_punct(w)]


def _is_punct(token: str) -> bool:
    return all(not ch.isalnum() for ch in token)


def build_pipeline(
    *,
    c: float = DEFAULT_C,
    word_ngrams: tuple[int, int] = WORD_NGRAMS,
    char_ngrams: tuple[int, int] = CHAR_NGRAMS,
    class_weight: str | None = "balanced",
    min_df: int = 1,
    max_df: float = 1.0,
    calibrate: bool = True,
    temperature: float | None = None,
    tol: float = 1e-4,
) -> Pipeline:
    """The untrained feature + model pipeline; ``fit(texts, labels)`` trains it.

    ``calibrate=False`` skips the temperature fit (three extra SVM fits): for cross-validation,
    which only needs the predicted label. A given ``temperature`` is used as is, also without
    the fit. ``tol`` is the SVM solver's stopping tolerance (looser = fewer iterations).
    """
    union = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    tokenizer=words,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=word_ngrams,
                    sublinear_tf=True,
                    min_df=min_df,
                    max_df=max_df,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    preprocessor=normalise,
                    ngram_range=char_ngrams,
                    sublinear_tf=True,
                    min_df=min_df,
                    max_df=max_df,
                ),
            ),
        ]
    )
    model = CalibratedSVC(
        c=c, class_weight=class_weight, calibrate=calibrate, temperature=temperature, tol=tol
    )
    return Pipeline([("features", union), ("clf", model)])


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """A one-vs-rest linear SVM whose scores a fitted softmax temperature turns into probabilities."""

    def __init__(
        self,
        c: float = DEFAULT_C,
        class_weight: str | None = "balanced",
        calibrate: bool = True,
        temperature: float | None = None,
        tol: float = 1e-4,
    ) -> None:
        self.c = c
        self.class_weight = class_weight
        self.calibrate = calibrate
        self.temperature = temperature
        self.tol = tol

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.c, class_weight=self.class_weight, tol=self.tol, random_state=SEED)

    def fit(self, x: object, y: Sequence[str], sample_weight: object = None) -> CalibratedSVC:
        labels = np.asarray(y)
        self.svm_ = self._svm().fit(x, labels, sample_weight=sample_weight)
        self.classes_ = self.svm_.classes_
        self.temperature_ = self._fit_temperature(x, labels)
        return self

    def _fit_temperature(self, x: object, labels: np.ndarray) -> float:
        if self.temperature is not None:
            return float(self.temperature)
        smallest = int(np.unique(labels, return_counts=True)[1].min())
        folds = min(3, smallest)
        if folds < 2 or not self.calibrate:
            return 5.0  # too few rows per label to hold any out; a moderate default
        cv = StratifiedKFold(folds, shuffle=True, random_state=SEED)
        scores = cross_val_predict(self._svm(), x, labels, cv=cv, method="decision_function")
        if scores.ndim == 1:  # two labels: one margin, make it two columns
            scores = np.column_stack([-scores, scores])
        index = np.searchsorted(self.classes_, labels)

        def nll(t: float) -> float:
            p = _softmax(scores, t)[np.arange(len(labels)), index]
            return float(-np.log(np.clip(p, 1e-12, None)).mean())

        return float(minimize_scalar(nll, bounds=(0.1, 100.0), method="bounded").x)

    def decision_function(self, x: object) -> np.ndarray:
        scores = np.asarray(self.svm_.decision_function(x))
        return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores

    def predict_proba(self, x: object) -> np.ndarray:
        return _softmax(self.decision_function(x), self.temperature_)

    def predict(self, x: object) -> np.ndarray:
        return np.asarray(self.classes_[self.decision_function(x).argmax(axis=1)])


def check_training_set(texts: Sequence[str], labels: Sequence[str]) -> None:
    """Raise ValueError when a training set cannot make a classifier."""
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    if not texts:
        raise ValueError("no training rows")
    if len(set(labels)) < 2:
        raise ValueError("fewer than 2 distinct labels")


class FastScorer:
    """The fitted pipeline's probabilities for one text, without scikit-learn's per-call overhead.

    ``Pipeline.predict_proba`` on one message spends most of its time validating inputs and
    building sparse matrices (~10 ms here); the arithmetic is a few hundred multiply-adds. This
    repeats exactly what the fitted vectorisers and SVM compute — analyser, sublinear tf × idf,
    l2 norm per block, dot product with the coefficients, softmax with the fitted temperature —
    from their learned arrays (tests check it agrees with the pipeline).
    """

    def __init__(self, pipeline: Pipeline) -> None:
        union: FeatureUnion = pipeline["features"]
        clf: CalibratedSVC = pipeline["clf"]
        self.blocks = []
        offset = 0
        for _, vectoriser in union.transformer_list:
            vocabulary: dict[str, int] = vectoriser.vocabulary_
            self.blocks.append((vectoriser.build_analyzer(), vocabulary, vectoriser.idf_, offset))
            offset += len(vocabulary)
        coef = clf.svm_.coef_
        self.coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef)
        self.intercept = np.asarray(clf.svm_.intercept_)
        self.temperature = float(clf.temperature_)
        self.classes = clf.classes_

    def probabilities(self, text: str) -> np.ndarray:
        columns: list[int] = []
        values: list[float] = []
        for analyse, vocabulary, idf, offset in self.blocks:
            counts: dict[int, int] = {}
            for token in analyse(text):
                j = vocabulary.get(token)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(tf)) * idf[idx]
            weights /= np.sqrt(weights @ weights)
            columns.extend((idx + offset).tolist())
            values.extend(weights.tolist())
        scores = self.intercept.copy()
        if columns:
            scores += self.coef[:, columns] @ np.asarray(values)
        if scores.shape[0] == 1:  # two labels: one margin
            scores = np.array([-scores[0], scores[0]])
        return _softmax(scores[None, :], self.temperature)[0]
