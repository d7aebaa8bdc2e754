"""`civicloop discovery …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Discovery: devices, readings, rules, alerts, emergency mode.", no_args_is_help=True
)
rules_app = typer.Typer(help="Discovery rules: validate and test offline.", no_args_is_help=True)
