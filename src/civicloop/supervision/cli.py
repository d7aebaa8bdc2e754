"""`civicloop supervision …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Supervision orders and the status board.", no_args_is_help=True)
