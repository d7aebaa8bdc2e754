"""`civicloop ledger …`: verify the hash chain (and, as they land, checkpoints and proofs)."""

from __future__ import annotations

import typer
from rich.progress import Progress

from civicloop.cli_support import DataDir, console, require_database, settings_for

app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)


@app.command("verify")
def ledger_verify(data_dir: DataDir = None) -> None:
    """Recompute the hash chain; exit 1 and name the first bad entry if anything was rewritten."""
    from civicloop.core.db import Database
    from civicloop.ledger.service import verify

    settings = settings_for(data_dir)
    require_database(settings)
    db = Database(settings)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("verifying the ledger", total=None)
        report = verify(
            db, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    for w in report.warnings:
        console.print(f"[yellow]warning[/yellow] {w}")
    if report.ok:
        print(f"ledger ok: {report.entries} entries, chain intact")
        db.dispose()
        return
    print(f"ledger BROKEN at entry {report.bad_seq}: {report.reason}")
    db.dispose()
    raise typer.Exit(1)
