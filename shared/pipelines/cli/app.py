"""The root ``pipelines`` Typer app; command modules attach their commands to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="pipelines",
    help="Self-hosted SageMaker Pipelines: validate, graph, run and serve pipeline definitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
