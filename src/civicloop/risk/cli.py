"""`civicloop risk …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Risk and credit scorecards, inspection draws.", no_args_is_help=True)
