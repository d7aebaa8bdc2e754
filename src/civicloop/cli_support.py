"""What every ``civicloop`` command module shares: the data-dir option, opening a platform,
printing a platform error, progress bars.

Lives apart from :mod:`civicloop.cli` so the command groups of each context (``nlp``,
``intake`` …) can use it without importing the top-level command module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from civicloop.core.errors import CivicError
from civicloop.core.settings import Settings
from civicloop.runtime import Platform

console = Console(stderr=True)
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="CIVICLOOP_DATA_DIR", help="where the database and files live"
    ),
]


def settings_for(data_dir: Path | None, **extra: object) -> Settings:
    return Settings.from_env(data_dir=data_dir, **extra)


def open_platform(data_dir: Path | None, **extra: object) -> Platform:
    return Platform.open(settings_for(data_dir, **extra))


def fail(exc: CivicError) -> NoReturn:
    """Print a platform error (code, message, every problem) and exit 2."""
    console.print(f"[red]error[/red] {exc.code}: {exc.message}")
    for p in getattr(exc, "problems", [])[1:]:
        console.print(f"  {p}")
    raise typer.Exit(2)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def require_database(settings: Settings) -> None:
    """Refuse to work on a data directory that holds no platform (instead of creating one)."""
    if settings.is_sqlite and not (settings.data_dir / "civicloop.db").exists():
        console.print(
            f"[red]error[/red] no civicloop database in {settings.data_dir} "
            "(run `civicloop init` or `civicloop demo` first)"
        )
        raise typer.Exit(2)
