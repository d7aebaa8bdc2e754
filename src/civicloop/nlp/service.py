"""The text classifier's service: suggest elements for a message, learn from corrections.

This is the interface intake codes against:

* :func:`classify` — the top suggestions (label, name, probability) for a free text, from the
  active model: ``Settings.nlp_model``, else the newest saved version, else the **cold-start
  router** trained in memory from the catalogue (element names, keywords, example sentences and
  templated sentences made from them; labels are element codes);
* :func:`record_correction` — store an operator's choice inside the caller's transaction;
* :func:`train_router` — a new saved version from the catalogue plus every stored correction
  (corrections weigh :data:`CORRECTION_WEIGHT` times a catalogue sentence), so the router learns;
* :func:`train_labels` — a new saved version from a deployment's own labelled history.

Models are cached per process (``nlp.models``), so a prediction costs one vectorisation and
one matrix product (well under 10 ms; see ``benchmarks/nlp.py``). The cold-start router is
built once per catalogue and kept as a model file under ``<data_dir>/models/coldstart/`` (with
its sha256, like any model), so later processes load it instead of training it again.

scikit-learn and jieba (``nlp.features``) are imported inside the functions that train or
score, not at module import: intake imports this module, and the web app should not pay
~2.5 s of scikit-learn import before it serves its first request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from civicloop.core.errors import InputError
from civicloop.nlp import models
from civicloop.nlp.store import classifier_corrections

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from civicloop.catalogue.model import Catalogue
    from civicloop.runtime import Platform

# A stored correction counts as this many catalogue sentences: an operator's judgement on a
# real message is stronger evidence than a sentence we wrote ourselves.
CORRECTION_WEIGHT = 8.0
COLD_START = "coldstart"
# The router learns from short sentences (names, keywords, one-line examples), where word pairs
# and character trigrams still carry signal and the margin can be wider than for long letters.
# Its softmax temperature is fixed rather than fitted: fitting it costs three more SVM fits
# (~10 s) in every process that builds the cold start; fitted on out-of-fold scores of the
# packaged catalogue's ~3,800 sentences it came out at 6.85, so 7 is used. The solver's
# tolerance 1e-2 (instead of 1e-4) stops ~1.5× sooner; the fitted router agrees with the
# tightly solved one on 99.8 % of its training sentences and on every test sentence.
ROUTER_FEATURES: dict[str, Any] = {
    "c": 1.0,
    "word_ngrams": (1, 2),
    "char_ngrams": (1, 3),
    "temperature": 7.0,
    "tol": 1e-2,
}
# Bump when catalogue_sentences or the router's features change: part of the cold-start file key.
ROUTER_RECIPE = 2
log = logging.getLogger(__name__)

# Sentences built around an element's name and keywords, as citizens phrase reports.
_TEMPLATES = (
    "{kw}",
    "{kw}了",
    "这里{kw}，请处理",
    "反映{kw}的问题",
    "{kw}，希望尽快解决",
    "我要投诉{kw}",
)


@dataclass(frozen=True)
class Suggestion:
    label: str  # for the router model: an element code of the active catalogue
    name: str  # human-readable label (element name for element codes)
    confidence: float  # probability in [0, 1]


def catalogue_sentences(catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """Training sentences and element codes from the catalogue (the cold start)."""
    texts: list[str] = []
    labels: list[str] = []
    for element in catalogue.elements.values():
        seen: set[str] = set()
        phrases = [element.name, *element.keywords]
        sentences = [t.format(kw=p) for p in phrases for t in _TEMPLATES]
        sentences += [f"{element.name}：{k}" for k in element.keywords]
        sentences += list(element.examples)
        for condition in element.filing_conditions:
            sentences.append(condition.text)
        for s in sentences:
            if s and s not in seen:
                seen.add(s)
                texts.append(s)
                labels.append(element.code)
    return texts, labels


def _router_pipeline() -> Any:
    from civicloop.nlp import features  # scikit-learn + jieba: see the module docstring

    return features.build_pipeline(**ROUTER_FEATURES)


def _cold_key(texts: Sequence[str], labels: Sequence[str]) -> str:
    """A digest of everything the cold-start router is trained from (and how)."""
    import sklearn  # its version decides whether a pickled pipeline is valid

    digest = hashlib.sha256()
    recipe = [ROUTER_RECIPE, repr(sorted(ROUTER_FEATURES.items())), sklearn.__version__]
    for part in (recipe, list(texts), list(labels)):
        digest.update(json.dumps(part, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


# Per process, keyed by the catalogue (not the data directory: the router is the same wherever
# it is kept; only the first data directory that needs it gets the file).
_cold: dict[tuple[str, int], models.LoadedModel] = {}
_cold_lock = threading.Lock()


def _cold_start(catalogue: Catalogue, data_dir: Path) -> models.LoadedModel:
    key = (catalogue.version, hash(tuple(sorted(catalogue.elements))))
    hit = _cold.get(key)
    if hit is None:
        with _cold_lock:
            hit = _cold.get(key)
            if hit is None:
                texts, labels = catalogue_sentences(catalogue)
                digest = _cold_key(texts, labels)
                hit = _load_or_build_cold(catalogue, data_dir, texts, labels, digest)
                _cold[key] = hit
    return hit


def _load_or_build_cold(
    catalogue: Catalogue, data_dir: Path, texts: list[str], labels: list[str], digest: str
) -> models.LoadedModel:
    version = f"{COLD_START}-{catalogue.version}"
    directory = models.models_dir(data_dir) / COLD_START / digest
    if (directory / models.META_FILE).is_file():
        try:
            # The same sha256 check as every model file before joblib unpickles it.
            stored = models.load_model(directory)
            return models.LoadedModel(version, stored.pipeline, stored.names, stored.meta)
        except models.ModelFileError as exc:
            log.warning("cold-start model file refused, training it again: %s", exc)
    pipeline = _router_pipeline().fit(texts, labels)
    names = {code: e.name for code, e in catalogue.elements.items()}
    meta = {"kind": "router", "source": "catalogue", "rows": len(texts), "key": digest}
    _persist_cold(directory, pipeline, names, {**meta, "version": version})
    return models.LoadedModel(version, pipeline, names, meta)


def _persist_cold(
    directory: Path, pipeline: Any, names: dict[str, str], meta: dict[str, Any]
) -> None:
    """Keep the built router for later processes: written aside, then renamed into place, so
    a concurrent reader never sees half a file. Failing to write (read-only data directory, a
    concurrent writer won) costs only the next process a rebuild."""
    if (directory / models.META_FILE).is_file():
        return
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent)
        try:
            models.write_model(Path(staging), pipeline, names=names, meta=meta)
            Path(staging).rename(directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        log.info("cold-start model not kept on disk (%s): %s", directory, exc)


# Which model is active is looked up on disk at most this often per data directory: a
# classify call should not list and parse every meta.json. A model trained in this process is
# seen at once (training clears the table); one trained by another process within this time.
ACTIVE_CACHE_SECONDS = 5.0
_active: dict[tuple[str, str], tuple[float, models.LoadedModel | None]] = {}


def active_model(p: Platform) -> models.LoadedModel:
    key = (str(p.settings.data_dir), p.settings.nlp_model)
    now = time.monotonic()
    hit = _active.get(key)
    if hit is None or now - hit[0] > ACTIVE_CACHE_SECONDS:
        directory = models.resolve_directory(p.settings.data_dir, p.settings.nlp_model)
        hit = (now, None if directory is None else models.load_model(directory))
        _active[key] = hit
    return hit[1] if hit[1] is not None else _cold_start(p.catalogue, p.settings.data_dir)


def active_version(p: Platform) -> str:
    """The version name of the model :func:`classify` uses now."""
    return active_model(p).version


def check_text(p: Platform, text: str, *, field: str = "text") -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("文本不能为空 (text is empty)", field=field, rule="required")
    if len(text) > p.settings.max_text_length:
        raise InputError(
            f"文本过长，最多 {p.settings.max_text_length} 字 (text too long)",
            field=field,
            rule="max_length",
        )
    return text.strip()


def suggest(
    model: models.LoadedModel, text: str, catalogue: Catalogue, top: int
) -> list[Suggestion]:
    probabilities = model.probabilities(text)
    order = probabilities.argsort()[::-1][: max(1, top)]
    labels = model.pipeline.classes_
    out = []
    for i in order:
        label = str(labels[i])
        element = catalogue.elements.get(label)
        name = element.name if element is not None else model.names.get(label, label)
        out.append(Suggestion(label, name, float(probabilities[i])))
    return out


def classify(p: Platform, text: str, *, top: int = 3) -> list[Suggestion]:
    """The ``top`` most likely labels for ``text``, best first.

    Raises :class:`InputError` (field ``text``) for an empty or over-long text, and
    :class:`~civicloop.nlp.models.ModelFileError` when the configured model file fails its hash
    check.
    """
    return suggest(active_model(p), check_text(p, text), p.catalogue, top)


def record_correction(
    conn: Connection,
    *,
    text: str,
    predicted: str | None,
    chosen: str,
    actor_id: str,
    at: datetime,
    model_version: str,
) -> None:
    """Store one operator correction, inside the caller's write transaction.

    The caller (intake's confirm step) writes the ledger entry for the decision itself; this
    row is the classifier's own training material.
    """
    if not text.strip():
        raise InputError("文本不能为空 (text is empty)", field="text", rule="required")
    if not chosen:
        raise InputError("必须选择类别 (chosen label is empty)", field="chosen", rule="required")
    conn.execute(
        insert(classifier_corrections).values(
            text=text.strip(),
            predicted_label=predicted,
            chosen_label=chosen,
            actor_id=actor_id,
            at=at,
            model_version=model_version[:64],
        )
    )


def list_corrections(p: Platform) -> list[dict[str, Any]]:
    with p.db.engine.connect() as conn:
        rows = conn.execute(select(classifier_corrections).order_by(classifier_corrections.c.id))
        return [dict(r._mapping) for r in rows]


def train_router(p: Platform, *, version: str | None = None) -> models.LoadedModel:
    """Save a new router version trained on the catalogue plus every stored correction.

    Corrections naming an element the active catalogue no longer has are skipped.
    """
    texts, labels = catalogue_sentences(p.catalogue)
    weights = [1.0] * len(texts)
    used = 0
    for row in list_corrections(p):
        if row["chosen_label"] in p.catalogue.elements:
            texts.append(row["text"])
            labels.append(row["chosen_label"])
            weights.append(CORRECTION_WEIGHT)
            used += 1
    pipeline = _router_pipeline().fit(texts, labels, clf__sample_weight=weights)
    names = {code: e.name for code, e in p.catalogue.elements.items()}
    meta = {
        "kind": "router",
        "source": "catalogue+corrections",
        "catalogue_version": p.catalogue.version,
        "rows": len(texts),
        "corrections": used,
    }
    return _save(p, version, pipeline, names, meta)


def train_labels(
    p: Platform,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    source: str,
    version: str | None = None,
    cv_scores: dict[str, float] | None = None,
    prior: tuple[Sequence[str], Sequence[str]] | None = None,
) -> models.LoadedModel:
    """Save a new version trained on a deployment's own labelled messages.

    ``prior`` adds label-description sentences (e.g. a taxonomy's sub-category names, see
    ``evaluate.read_taxonomy``) to the training rows.
    """
    from civicloop.nlp import features  # scikit-learn + jieba: see the module docstring

    try:
        features.check_training_set(texts, labels)
    except ValueError as exc:
        raise InputError(f"训练数据不可用: {exc}", field="labels", rule="training_set") from exc
    all_texts, all_labels = list(texts), list(labels)
    if prior is not None:
        all_texts += list(prior[0])
        all_labels += list(prior[1])
    pipeline = features.build_pipeline().fit(all_texts, all_labels)
    meta: dict[str, Any] = {
        "kind": "labels",
        "source": source,
        "rows": len(texts),
        "prior_rows": len(all_texts) - len(texts),
        "cv": cv_scores or {},
    }
    return _save(p, version, pipeline, {}, meta)


def _save(
    p: Platform, version: str | None, pipeline: Any, names: dict[str, str], meta: dict[str, Any]
) -> models.LoadedModel:
    now = p.clock.now()
    union = pipeline["features"]
    data_dir = p.settings.data_dir
    name = version or models.new_version_name(data_dir, now)
    meta = {
        **meta,
        "created_at": now.isoformat(),
        "features": {
            "word_ngrams": list(union["words"].ngram_range),
            "char_ngrams": list(union["chars"].ngram_range),
            "model": "LinearSVC + softmax temperature",
            "C": pipeline["clf"].c,
            "temperature": pipeline["clf"].temperature_,
        },
        "n_labels": len(pipeline.classes_),
    }
    directory = models.save_model(data_dir, name, pipeline, names=names, meta=meta)
    _active.clear()
    return models.load_model(directory)
