"""`civicloop nlp …` commands (filled in by the nlp work)."""

import typer

app = typer.Typer(help="nlp", no_args_is_help=True)
