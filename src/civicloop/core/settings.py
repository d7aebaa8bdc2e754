"""Settings: read once from the environment (``CIVICLOOP_*``) and the command line.

Nothing is built at import time; ``create_app(settings)`` and the CLI build engines from a
:class:`Settings` value, so tests can run many isolated platforms in one process.
Every setting is documented in docs/configuration.md (tests/test_docs.py checks that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".civicloop"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CIVICLOOP_{name}", default)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    # Empty means: a SQLite file ``civicloop.db`` inside ``data_dir``.
    database_url: str = ""
    # WAL + NORMAL survives application crashes; FULL also survives power loss at the cost of
    # one fsync per commit (see docs/configuration.md for the measured difference).
    sqlite_synchronous: str = "NORMAL"
    # A directory or file with catalogue YAML; empty means the packaged default catalogue.
    catalogue_path: str = ""
    token_ttl_seconds: int = 12 * 3600
    # OWASP ASVS 2.2.1 allows at most 100 failures an hour; we lock far earlier.
    lockout_threshold: int = 5
    lockout_seconds: int = 15 * 60
    max_text_length: int = 5000
    # The in-process SLA sweeper; 0 turns it off (e.g. when a separate `civicloop sweep` runs).
    sweep_interval_seconds: int = 60
    # How often a served platform folds new ledger entries into the KPI rollups and the risk
    # scores (seconds; 0 turns the consumers off, e.g. when `civicloop kpi consume` runs apart).
    consumer_interval_seconds: int = 15
    # How often a served platform signs an RFC 6962 checkpoint of the ledger (0: never).
    checkpoint_interval_seconds: int = 3600
    # How often a served platform runs the registry's detectors over base data (group renting:
    # residents, complaints and meters per room); a full pass, so hours rather than seconds.
    detector_interval_seconds: int = 6 * 3600
    host: str = "127.0.0.1"
    port: int = 8000
    # The active text-classifier model: a version name under ``<data_dir>/models`` or a file
    # path; empty means the newest trained model there, else the cold-start model built from
    # the catalogue's keywords and example sentences.
    nlp_model: str = ""
    # Free-text reports whose element suggestion or location is less certain than this go to
    # the human triage queue instead of being proposed for one-step confirmation.
    triage_confidence: float = 0.6
    # A reporter may say "not fixed" this many days after closure; the case goes back into
    # rework. Later, the problem is reported anew.
    not_fixed_days: int = 7
    # Largest accepted upload (evidence photos, report images), in bytes.
    max_upload_bytes: int = 10 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        base = cls(
            data_dir=Path(_env("DATA_DIR", str(DEFAULT_DATA_DIR))),
            database_url=_env("DATABASE_URL", ""),
            sqlite_synchronous=_env("SQLITE_SYNCHRONOUS", "NORMAL").upper(),
            catalogue_path=_env("CATALOGUE", ""),
            token_ttl_seconds=int(_env("TOKEN_TTL_SECONDS", str(12 * 3600))),
            lockout_threshold=int(_env("LOCKOUT_THRESHOLD", "5")),
            lockout_seconds=int(_env("LOCKOUT_SECONDS", str(15 * 60))),
            max_text_length=int(_env("MAX_TEXT_LENGTH", "5000")),
            sweep_interval_seconds=int(_env("SWEEP_INTERVAL_SECONDS", "60")),
            consumer_interval_seconds=int(_env("CONSUMER_INTERVAL_SECONDS", "15")),
            checkpoint_interval_seconds=int(_env("CHECKPOINT_INTERVAL_SECONDS", "3600")),
            detector_interval_seconds=int(_env("DETECTOR_INTERVAL_SECONDS", str(6 * 3600))),
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8000")),
            nlp_model=_env("NLP_MODEL", ""),
            triage_confidence=float(_env("TRIAGE_CONFIDENCE", "0.6")),
            not_fixed_days=int(_env("NOT_FIXED_DAYS", "7")),
            max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        if "data_dir" in clean:
            clean["data_dir"] = Path(str(clean["data_dir"]))
        return replace(base, **clean)  # type: ignore[arg-type]

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'civicloop.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
