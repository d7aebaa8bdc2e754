"""`civicloop evaluation …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(help="KPIs: rollups, recompute, rankings, reports.", no_args_is_help=True)
