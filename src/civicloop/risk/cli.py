"""`civicloop risk …` commands: run the data loop, read scores and heat, draw inspections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from civicloop.cli_support import DataDir, fail, require_database, settings_for
from civicloop.core.errors import CivicError
from civicloop.runtime import Platform

app = typer.Typer(help="Risk and credit scorecards, inspection draws.", no_args_is_help=True)


def _open(data_dir: Path | None) -> Platform:
    settings = settings_for(data_dir)
    require_database(settings)
    return Platform.open(settings)


def _out(obj: object) -> None:
    """JSON on stdout (rich's console writes to stderr), so the output pipes into jq."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str, indent=2))


@app.command("update")
def update(data_dir: DataDir = None) -> None:
    """Apply the outcomes of cases closed (voided, reworked …) since the last run."""
    from civicloop.risk import service

    p = _open(data_dir)
    try:
        _out(service.consume(p))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("rescore")
def rescore(data_dir: DataDir = None) -> None:
    """Rescore every stored subject on the active scorecards (after a new version)."""
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.risk import service

    p = _open(data_dir)
    try:
        _out(service.rescore(p, SYSTEM_ACTOR, request_id="cli"))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("show")
def show(
    kind: Annotated[str, typer.Argument(help="enterprise | building | room | grid")],
    subject_id: Annotated[str, typer.Argument(help="credit code, building/room id, grid code")],
    data_dir: DataDir = None,
) -> None:
    """A subject's score with every indicator's contribution and its history."""
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.risk import service

    p = _open(data_dir)
    try:
        _out(service.read_score(p, SYSTEM_ACTOR, kind, subject_id))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("heat")
def heat(
    level: Annotated[str, typer.Option(help="grid | street")] = "street",
    data_dir: DataDir = None,
) -> None:
    """Risk heat per grid or street."""
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.risk import queries

    p = _open(data_dir)
    try:
        _out(queries.heat(p, SYSTEM_ACTOR, level))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("draw")
def draw(
    street: Annotated[str, typer.Argument(help="street code")],
    size: Annotated[int, typer.Option(help="how many objects to draw")] = 10,
    kind: Annotated[str, typer.Option(help="enterprise | building | room")] = "enterprise",
    seed: Annotated[int | None, typer.Option(help="reuse a seed to reproduce a draw")] = None,
    tilt: Annotated[float, typer.Option(help="0 = uniform; weight 1+tilt×score/100")] = 2.0,
    data_dir: DataDir = None,
) -> None:
    """双随机: draw objects to inspect in a street, tilted by risk, recorded in the ledger."""
    from civicloop.org.model import SYSTEM_ACTOR
    from civicloop.risk import draws

    p = _open(data_dir)
    try:
        _out(
            draws.draw(
                p,
                SYSTEM_ACTOR,
                street_code=street,
                subject_kind=kind,
                size=size,
                seed=seed,
                tilt=tilt,
                request_id="cli",
            )
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
