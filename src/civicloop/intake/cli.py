"""`civicloop intake …` commands: build and import the district's gazetteer.

``gazetteer generate`` lays the demo gazetteer over the stored district; ``gazetteer import``
checks a CSV (dry run by default, every problem named by row and column) and with ``--apply``
writes all of it or nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicloop.cli_support import DataDir, console, fail, settings_for
from civicloop.core.errors import CivicError
from civicloop.runtime import Platform

app = typer.Typer(help="intake", no_args_is_help=True)
gazetteer_app = typer.Typer(help="The district's gazetteer (地名地址库).", no_args_is_help=True)
app.add_typer(gazetteer_app, name="gazetteer")


def _open(data_dir: Path | None) -> Platform:
    settings = settings_for(data_dir)
    if settings.is_sqlite and not (settings.data_dir / "civicloop.db").exists():
        console.print(
            f"[red]error[/red] no civicloop database in {settings.data_dir} "
            "(run `civicloop init` or `civicloop demo` first)"
        )
        raise typer.Exit(2)
    return Platform.open(settings)


@gazetteer_app.command("generate")
def generate(
    data_dir: DataDir = None,
    seed: Annotated[int, typer.Option(help="same seed, same gazetteer")] = 20261127,
) -> None:
    """Generate the demo gazetteer (real Pudong roads, compounds, landmarks) for the district."""
    from civicloop.intake.gazetteer import count_entries, seed_gazetteer

    p = _open(data_dir)
    try:
        n = seed_gazetteer(p, seed=seed)
    except CivicError as exc:
        fail(exc)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(count_entries(p).items()))
    print(f"gazetteer: {n} entries generated ({kinds})")
    p.close()


@gazetteer_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV: name, kind, lon, lat[, aliases, line, number_max]")
    ],
    data_dir: DataDir = None,
    apply: Annotated[bool, typer.Option("--apply", help="write (default: only check)")] = False,
) -> None:
    """Check a gazetteer CSV and report every bad row and column; with --apply, write it all."""
    from civicloop.intake.gazetteer import import_csv

    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]error[/red] cannot read {file}: {exc}")
        raise typer.Exit(2) from exc
    p = _open(data_dir)
    try:
        report = import_csv(p, content, apply=False)
        for row, column, message in report.problems:
            console.print(f"row {row}, column {column}: {message}")
        if report.problems:
            console.print(f"[red]{len(report.problems)} problem(s); nothing written[/red]")
            raise typer.Exit(1)
        if not apply:
            print(
                f"{file}: {len(report.rows)} rows are valid ({len(report.replaced)} replace "
                "existing names); dry run, nothing written (use --apply)"
            )
            return
        report = import_csv(p, content, apply=True)
        print(f"{file}: {len(report.rows)} rows imported ({len(report.replaced)} replaced)")
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("geocode")
def geocode_text(
    text: Annotated[str, typer.Argument(help="Chinese free text, e.g. 张杨路1500号门口")],
    data_dir: DataDir = None,
) -> None:
    """Print where a text says a place is (JSON), or exit 1 when it names no known place."""
    import json
    from dataclasses import asdict

    from civicloop.intake.geocoder import geocode

    p = _open(data_dir)
    match = geocode(p, text)
    p.close()
    if match is None:
        console.print("no place of the gazetteer found in the text")
        raise typer.Exit(1)
    print(json.dumps(asdict(match), ensure_ascii=False))
