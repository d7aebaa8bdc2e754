"""`civicloop links …`: entity resolution runs and the review queue (filled in as it grows)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Entity resolution: link, review, merge, unmerge.", no_args_is_help=True)
