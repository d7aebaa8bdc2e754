"""`civicloop ledger …`: verify the chain and the checkpoints, take checkpoints, print proofs."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress

from civicloop.cli_support import (
    DataDir,
    console,
    fail,
    open_platform,
    require_database,
    settings_for,
)
from civicloop.core.errors import CivicError

app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)


@app.command("verify")
def ledger_verify(data_dir: DataDir = None) -> None:
    """Recompute the hash chain, every checkpoint's root and signature; exit 1 and name the
    first bad entry or checkpoint if anything was rewritten."""
    from civicloop.core.db import Database
    from civicloop.ledger.checkpoints import verify_checkpoints
    from civicloop.ledger.service import verify
    from civicloop.ledger.signing import public_key_hex

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
    if not report.ok:
        print(f"ledger BROKEN at entry {report.bad_seq}: {report.reason}")
        db.dispose()
        raise typer.Exit(1)
    local = public_key_hex(settings.data_dir)[0] if (settings.data_dir / "keys").exists() else None
    cps = verify_checkpoints(db, local)
    db.dispose()
    for kid in cps.foreign_keys:
        console.print(f"[yellow]warning[/yellow] checkpoints signed by another key: {kid}")
    if cps.problems:
        for problem in cps.problems:
            print(f"checkpoint BROKEN: {problem}")
        raise typer.Exit(1)
    print(
        f"ledger ok: {report.entries} entries, chain intact;"
        f" {cps.checkpoints} checkpoints, roots and signatures valid"
    )


@app.command("checkpoint")
def ledger_checkpoint(data_dir: DataDir = None) -> None:
    """Sign a checkpoint of the ledger as it is now (no-op when nothing was appended)."""
    from civicloop.ledger.checkpoints import create_checkpoint

    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        cp = create_checkpoint(p)
    finally:
        p.close()
    if cp is None:
        print("the ledger is empty: no checkpoint")
        return
    print(json.dumps(cp.as_dict(), ensure_ascii=False, indent=2))


@app.command("prove")
def ledger_prove(
    seq: int,
    checkpoint: Annotated[
        int | None, typer.Option("--checkpoint", help="checkpoint id (default: latest)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print the inclusion proof of entry SEQ (JSON, as scripts/verify_inclusion.py reads it)."""
    from civicloop.core.db import Database
    from civicloop.ledger.checkpoints import prove_inclusion

    settings = settings_for(data_dir)
    require_database(settings)
    db = Database(settings)
    try:
        proof = prove_inclusion(db, seq, checkpoint)
    except CivicError as exc:
        fail(exc)
    finally:
        db.dispose()
    print(json.dumps(proof, ensure_ascii=False, indent=2))
    if not proof["verified"]:
        raise typer.Exit(1)


@app.command("consistency")
def ledger_consistency(first: int, second: int, data_dir: DataDir = None) -> None:
    """Print the consistency proof between checkpoints FIRST and SECOND; exit 1 if it fails."""
    from civicloop.core.db import Database
    from civicloop.ledger.checkpoints import prove_consistency

    settings = settings_for(data_dir)
    require_database(settings)
    db = Database(settings)
    try:
        proof = prove_consistency(db, first, second)
    except CivicError as exc:
        fail(exc)
    finally:
        db.dispose()
    print(json.dumps(proof, ensure_ascii=False, indent=2))
    if not proof["verified"]:
        raise typer.Exit(1)
