"""`civicloop kpi …` commands: consume the ledger, recompute, read numbers, write reports."""

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
    open_platform,
    require_database,
    settings_for,
)
from civicloop.core.errors import CivicError

app = typer.Typer(help="KPIs: rollups, recompute, rankings, reports.", no_args_is_help=True)


@app.command()
def consume(data_dir: DataDir = None) -> None:
    """Apply new ledger entries to the KPI rollups (what the server does periodically)."""
    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        from civicloop.evaluation import service

        t = time.perf_counter()
        n = service.consume(p)
        console.print(f"applied {n} ledger entries in {time.perf_counter() - t:.2f} s")
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command()
def recompute(
    data_dir: DataDir = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="consume first, then say whether a rebuild changes anything"),
    ] = False,
) -> None:
    """Rebuild case facts and every rollup from scratch (identical to the incremental state)."""
    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        from civicloop.evaluation import service

        before = None
        if check:
            service.consume(p)
            before = service.rollup_snapshot(p)
        t = time.perf_counter()
        r = service.recompute(p)
        console.print(
            f"recomputed {r.cases} cases into {r.cells} cells up to ledger seq {r.cursor}"
            f" in {time.perf_counter() - t:.2f} s"
        )
        if before is not None:
            same = before == service.rollup_snapshot(p)
            console.print("incremental rollups identical: " + ("yes" if same else "NO"))
            if not same:
                raise typer.Exit(1)
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command()
def show(
    indicator: str,
    period: Annotated[str, typer.Option("--period", help="YYYY-MM, YYYY-Www, YYYY-MM-DD …")],
    level: Annotated[str, typer.Option("--level")] = "district",
    code: Annotated[str | None, typer.Option("--code")] = None,
    data_dir: DataDir = None,
) -> None:
    """Print one indicator (JSON) for an object or every object of a level."""
    p = open_platform(data_dir)
    try:
        from civicloop.evaluation import reading
        from civicloop.org.model import SYSTEM_ACTOR

        print(json.dumps(reading.values(p, SYSTEM_ACTOR, indicator, period, level, code),
                         ensure_ascii=False, indent=1))  # fmt: skip
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command()
def rank(
    period: Annotated[str, typer.Option("--period")],
    composite: Annotated[str, typer.Option("--composite")] = "street",
    data_dir: DataDir = None,
) -> None:
    """Print a ranking by composite score (JSON)."""
    p = open_platform(data_dir)
    try:
        from civicloop.evaluation import reading
        from civicloop.org.model import SYSTEM_ACTOR

        got = reading.rankings(p, SYSTEM_ACTOR, period, composite)
        for item in got["items"]:
            print(f"{item['rank']:>3}  {item['code']:<24} {item['score']!s:>7}  {item['grade']}")
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command()
def report(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    out: Annotated[Path, typer.Option("--out", help="FILE.html or FILE.pdf")],
    data_dir: DataDir = None,
) -> None:
    """Write the monthly evaluation report (HTML with SVG charts, or PDF)."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("html", "pdf"):
        console.print("[red]error[/red] --out must end in .html or .pdf")
        raise typer.Exit(2)
    require_database(settings_for(data_dir))
    p = open_platform(data_dir)
    try:
        from civicloop.evaluation import report as rep
        from civicloop.evaluation import service
        from civicloop.org.model import SYSTEM_ACTOR

        service.consume(p)
        out.write_bytes(rep.monthly_report(p, SYSTEM_ACTOR, month, fmt))
        console.print(f"wrote {out}")
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
