"""`civicloop links …`: entity resolution runs, the review queue, merge and unmerge.

``links run`` links the registries, the platform's own sources (permits, enterprises and their
demands, device owners, cases of the last ``--case-days``; ``--no-platform-sources`` reuses the
last run's instead) and, with ``--file``, a CSV of other sources' records (columns source,
record_id, kind, name, credit_code, id_number, address, phone, representative), and prints the
summary; ``links review`` lists uncertain pairs; ``links
decide ID accept|reject``; ``links merge`` / ``links unmerge`` with a reason.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer

from civicloop.cli_support import DataDir, fail, require_database, settings_for
from civicloop.core.errors import CivicError
from civicloop.org.model import SYSTEM_ACTOR
from civicloop.runtime import Platform

app = typer.Typer(help="Entity resolution: link, review, merge, unmerge.", no_args_is_help=True)


def _open(data_dir: Path | None) -> Platform:
    settings = settings_for(data_dir)
    require_database(settings)
    return Platform.open(settings)


def _out(obj: object) -> None:
    """JSON on stdout (rich's console writes to stderr), so the output pipes into jq."""
    typer.echo(json.dumps(obj, ensure_ascii=False, default=str, indent=2))


@app.command("run")
def run(
    file: Annotated[Path | None, typer.Option(help="CSV of other sources' records")] = None,
    high: Annotated[float, typer.Option(help="auto-link at or above")] = 0.95,
    low: Annotated[float, typer.Option(help="review queue from here up to high")] = 0.6,
    platform_sources: Annotated[
        bool,
        typer.Option(
            "--platform-sources/--no-platform-sources",
            help="gather permits, enterprises, demands, device owners and cases",
        ),
    ] = True,
    case_days: Annotated[int, typer.Option(help="read cases reported in the last N days")] = 365,
    max_cases: Annotated[int, typer.Option(help="read at most this many cases (newest)")] = 20000,
    data_dir: DataDir = None,
) -> None:
    """Link every record: exact keys, then splink; store clusters and queue reviews."""
    from civicloop.registry import resolution
    from civicloop.registry.resolution_model import Thresholds
    from civicloop.registry.resolution_sources import SourceLimits

    p = _open(data_dir)
    try:
        external = None
        if file is not None:
            with file.open(encoding="utf-8-sig", newline="") as fh:
                external = resolution.parse_external(csv.DictReader(fh))
        _out(
            resolution.run_linkage(
                p,
                SYSTEM_ACTOR,
                external=external,
                thresholds=Thresholds(high=high, low=low),
                platform_sources=platform_sources,
                limits=SourceLimits(case_days=case_days, max_cases=max_cases),
                request_id="cli",
            )
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("review")
def review(
    status: Annotated[str, typer.Option(help="pending | accepted | rejected")] = "pending",
    limit: int = 50,
    data_dir: DataDir = None,
) -> None:
    """List review items with both records."""
    from civicloop.registry import resolution

    p = _open(data_dir)
    try:
        _out(resolution.list_reviews(p, SYSTEM_ACTOR, status=status, limit=limit))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("decide")
def decide(
    review_id: str,
    decision: Annotated[str, typer.Argument(help="accept | reject")],
    note: str = "",
    data_dir: DataDir = None,
) -> None:
    """Accept (merge) or reject a review item."""
    from civicloop.registry import resolution

    if decision not in ("accept", "reject"):
        raise typer.BadParameter("accept or reject")
    p = _open(data_dir)
    try:
        _out(
            resolution.decide_review(
                p, SYSTEM_ACTOR, review_id, accept=decision == "accept", note=note, request_id="cli"
            )
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("merge")
def merge(golden_id: str, other_golden_id: str, reason: str, data_dir: DataDir = None) -> None:
    """Merge OTHER_GOLDEN_ID into GOLDEN_ID."""
    from civicloop.registry import resolution

    p = _open(data_dir)
    try:
        _out(
            resolution.merge(
                p, SYSTEM_ACTOR, golden_id, other_golden_id, reason=reason, request_id="cli"
            )
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("unmerge")
def unmerge(record_key: str, reason: str, data_dir: DataDir = None) -> None:
    """Take RECORD_KEY (source:record_id) out of its cluster."""
    from civicloop.registry import resolution

    p = _open(data_dir)
    try:
        _out(resolution.unmerge(p, SYSTEM_ACTOR, record_key, reason=reason, request_id="cli"))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()


@app.command("show")
def show(golden_id: str, data_dir: DataDir = None) -> None:
    """A golden id's members and merge history."""
    from civicloop.registry import resolution

    p = _open(data_dir)
    try:
        _out(resolution.read_cluster(p, SYSTEM_ACTOR, golden_id))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
