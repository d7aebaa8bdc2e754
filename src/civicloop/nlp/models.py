"""Versioned model files: ``<data_dir>/models/<version>/{model.joblib, meta.json}``.

A trained classifier is a directory named by its version. ``meta.json`` records the label set
(with human-readable names), the training source, row counts, cross-validation scores, when it
was made and the sha256 of ``model.joblib``. The active version is ``Settings.nlp_model``; empty
means the newest directory (by ``created_at``), and with no directory at all the cold-start
router built from the catalogue (``nlp.service``) runs instead.

Security: a joblib file is a pickle, and unpickling runs code. We therefore load only from the
data directory and only after the file's sha256 matches the one written beside it at save
time; a mismatch (a file replaced or corrupted after training) is refused with
:class:`ModelFileError`. That protects against accidental or partial tampering of the model
file, not against someone who can rewrite both files — the data directory itself must be
writable only by the platform's operators.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from civicloop.core.errors import InputError, NotFoundError, UnavailableError

MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ModelFileError(UnavailableError):
    """A model directory that cannot be trusted or read (hash mismatch, missing files).

    The request was fine; the server's model is not, hence 503 rather than a 4xx.
    """

    code = "nlp.model_file"


@dataclass
class LoadedModel:
    """A fitted pipeline with what a caller needs to present its answers."""

    version: str
    pipeline: Any  # sklearn Pipeline with predict_proba
    names: dict[str, str]  # label → human-readable name
    meta: dict[str, Any] = field(default_factory=dict)

    scorer: Any = None  # features.FastScorer, built on first use

    @property
    def labels(self) -> list[str]:
        return [str(x) for x in self.pipeline.classes_]

    def probabilities(self, text: str) -> Any:
        """Class probabilities for one text, in the order of :attr:`labels`."""
        if self.scorer is None:
            from civicloop.nlp.features import FastScorer

            self.scorer = FastScorer(self.pipeline)
        return self.scorer.probabilities(text)


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def check_version_name(version: str) -> str:
    if not _VERSION.match(version):
        raise InputError(
            f"模型版本名只能包含字母、数字、点、下划线和连字符: {version!r}"
            " (version names are letters, digits, '.', '_' and '-')",
            field="version",
            rule="pattern",
        )
    return version


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(
    data_dir: Path, version: str, pipeline: Any, *, names: dict[str, str], meta: dict[str, Any]
) -> Path:
    """Write a new version directory; an existing version is never overwritten."""
    check_version_name(version)
    target = models_dir(data_dir) / version
    if target.exists():
        raise InputError(
            f"模型版本已存在: {version} (model version exists)", field="version", rule="unique"
        )
    target.mkdir(parents=True)
    write_model(target, pipeline, names=names, meta={**meta, "version": version})
    return target


def write_model(
    target: Path, pipeline: Any, *, names: dict[str, str], meta: dict[str, Any]
) -> None:
    """Write ``model.joblib`` and ``meta.json`` (with the model file's sha256) into ``target``."""
    # joblib: scikit-learn's own persistence (numpy arrays stored efficiently); comes with
    # sklearn. Imported here, not at module import, so importing the service stays cheap.
    import joblib

    model_path = target / MODEL_FILE
    joblib.dump(pipeline, model_path, compress=3)
    full = {
        **meta,
        "labels": {str(label): names.get(str(label), str(label)) for label in pipeline.classes_},
        "model_file": MODEL_FILE,
        "sha256": sha256_of(model_path),
    }
    (target / META_FILE).write_text(json.dumps(full, ensure_ascii=False, indent=2), "utf-8")


def read_meta(directory: Path) -> dict[str, Any]:
    try:
        meta: dict[str, Any] = json.loads((directory / META_FILE).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"模型元数据无法读取: {directory / META_FILE} (unreadable meta.json)",
        ) from exc
    return meta


def list_versions(data_dir: Path) -> list[dict[str, Any]]:
    """Every saved version's meta, oldest first (by created_at, then name)."""
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if child.is_dir() and (child / META_FILE).is_file():
            try:
                meta = read_meta(child)
            except ModelFileError:
                continue
            meta["version"] = child.name
            found.append(meta)
    return sorted(found, key=lambda m: (str(m.get("created_at", "")), m["version"]))


def resolve_directory(data_dir: Path, setting: str) -> Path | None:
    """The directory of the active model, or None for the cold-start router."""
    if setting:
        candidate = Path(setting)
        if candidate.name == MODEL_FILE:
            candidate = candidate.parent
        if not candidate.is_absolute() and not candidate.exists():
            candidate = models_dir(data_dir) / check_version_name(setting)
        if not (candidate / META_FILE).is_file():
            raise NotFoundError(f"找不到文本分类模型: {setting} (no such model version)")
        return candidate
    versions = list_versions(data_dir)
    return models_dir(data_dir) / versions[-1]["version"] if versions else None


_cache: dict[tuple[str, str], LoadedModel] = {}
_lock = threading.Lock()


def load_model(directory: Path) -> LoadedModel:
    """Load (once per process) a model directory after checking the model file's sha256."""
    meta = read_meta(directory)
    key = (str(directory.resolve()), str(meta.get("sha256", "")))
    hit = _cache.get(key)
    if hit is not None:
        return hit
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            return hit
        model_path = directory / str(meta.get("model_file", MODEL_FILE))
        if model_path.parent != directory or not model_path.is_file():
            raise ModelFileError(f"模型文件缺失: {model_path} (model file missing)")
        # Unpickling executes code: refuse any file whose hash differs from the one recorded
        # at save time, before joblib ever opens it.
        actual = sha256_of(model_path)
        if actual != meta.get("sha256"):
            raise ModelFileError(
                f"模型文件校验失败，拒绝加载: {model_path} (sha256 mismatch: the model file was"
                " changed after training)",
            )
        import joblib  # see write_model

        pipeline = joblib.load(model_path)
        names = {str(k): str(v) for k, v in dict(meta.get("labels", {})).items()}
        loaded = LoadedModel(directory.name, pipeline, names, meta)
        _cache[key] = loaded
        return loaded


def new_version_name(data_dir: Path, now: datetime) -> str:
    base = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = base, 1
    while (models_dir(data_dir) / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name
