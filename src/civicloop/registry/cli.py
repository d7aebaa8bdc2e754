"""`civicloop registry …` commands: import, export, generate, match addresses, group renting.

``import`` checks the whole file first and prints every problem by row and column; with
``--dry-run`` it stops there, otherwise a clean file is written in one transaction and a file
with any problem writes nothing (exit code 2).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from civicloop.cli_support import (
    DataDir,
    console,
    fail,
    progress_bar,
    require_database,
    settings_for,
)
from civicloop.core.errors import CivicError
from civicloop.runtime import Platform

app = typer.Typer(
    help="Registries: import, export, addresses, entity resolution, profiles.", no_args_is_help=True
)

KindArg = Annotated[str, typer.Argument(help="people | entities | rooms")]


def _open(data_dir: Path | None) -> Platform:
    settings = settings_for(data_dir)
    require_database(settings)
    return Platform.open(settings)


@app.command("import")
def import_(
    kind: KindArg,
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX; header row first")],
    data_dir: DataDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check and report only, write nothing")
    ] = False,
) -> None:
    """Import a registry file (rooms first, then people and entities: they match by address)."""
    from civicloop.registry.importer import import_file

    p = _open(data_dir)
    t0 = time.perf_counter()
    try:
        with progress_bar() as bar:
            task = bar.add_task(f"{kind}: checking", total=None)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(
                    task,
                    description=f"{kind}: {'checking' if stage == 'check' else 'writing'}",
                    completed=done,
                    total=total or None,
                )

            report = import_file(p, kind, file, dry_run=dry_run, progress=progress)
    except CivicError as exc:
        p.close()
        fail(exc)
    p.close()
    for problem in report.problems:
        print(problem.line())
    summary = {**report.summary(), "seconds": round(time.perf_counter() - t0, 2)}
    print(json.dumps(summary, ensure_ascii=False))
    if report.problems:
        console.print(f"[red]{len(report.problems)} problem(s)[/red]; nothing was imported")
        raise typer.Exit(2)


@app.command("export")
def export(
    kind: KindArg,
    file: Annotated[Path, typer.Argument(help=".csv or .xlsx")],
    data_dir: DataDir = None,
) -> None:
    """Export a registry in the import format."""
    from civicloop.registry.export import export_file

    p = _open(data_dir)
    try:
        n = export_file(p, kind, file)
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    print(f"{n} rows → {file}")


@app.command("generate")
def generate(
    out: Annotated[
        Path, typer.Option("--out", help="folder for rooms.csv, people.csv, entities.csv")
    ],
    data_dir: DataDir = None,
    people: Annotated[int, typer.Option(help="residents")] = 100_000,
    entities: Annotated[int, typer.Option(help="legal entities")] = 20_000,
    rooms: Annotated[int, typer.Option(help="rooms (flats, shops)")] = 50_000,
    seed: Annotated[int, typer.Option(help="same seed, same files")] = 7,
    bad_rows: Annotated[int, typer.Option("--bad-rows", help="faulty rows seeded per file")] = 0,
) -> None:
    """Write a reproducible synthetic registry over the stored district (needs its gazetteer)."""
    from civicloop.registry.generate import write_dataset

    p = _open(data_dir)
    try:
        with console.status("generating rooms, people and entities…"):
            counts = write_dataset(
                p, out, people=people, entities=entities, rooms=rooms, seed=seed, bad_rows=bad_rows
            )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    print(json.dumps(counts))


@app.command("match")
def match(
    text: Annotated[str, typer.Argument(help="an address")], data_dir: DataDir = None
) -> None:
    """Parse an address and match it to the building registry (prints JSON)."""
    from civicloop.registry import address
    from civicloop.registry.service import match_address

    p = _open(data_dir)
    hit = match_address(p, text)
    p.close()
    print(json.dumps({"parts": address.parse(text).as_dict(), "match": hit}, ensure_ascii=False))
    if hit is None:
        raise typer.Exit(1)


@app.command("group-renting")
def group_renting(
    data_dir: DataDir = None,
    min_area: Annotated[float, typer.Option(help="m² of floor per resident")] = 5.0,
    max_per_room: Annotated[int, typer.Option(help="hard cap per room")] = 12,
) -> None:
    """Run the group-renting detector: over-occupied rooms, signals, new data-rule cases."""
    from civicloop.registry.group_renting import detect_group_renting
    from civicloop.registry.model import GroupRentingRules

    p = _open(data_dir)
    try:
        results = detect_group_renting(
            p, rules=GroupRentingRules(min_area_per_person_m2=min_area, max_per_room=max_per_room)
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    alerted = sum(1 for r in results if r["outcome"] == "alerted")
    console.print(f"{len(results)} room(s) over their limit; {alerted} new alert(s) filed")
