"""`civicloop registry …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Registries: import, export, addresses, entity resolution, profiles.", no_args_is_help=True
)
