"""The root ``pipelines`` Typer app; command modules attach their commands to it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pipelines.config import Config

app = typer.Typer(
    name="pipelines",
    help="Self-hosted SageMaker Pipelines: validate, graph, run and serve pipeline definitions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_REFUSED = 2

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="pipelines.toml to use (default: $PIPELINES_CONFIG, then ./pipelines.toml)."
    ),
]
"""Every command takes ``--config``, so one script line can pass it to any command."""


def checked_config(path: Path | None) -> Config:
    """The config a command was given, loaded and checked: a missing or malformed file is one
    line on stderr and exit 2, as for every command that runs anything."""
    from pipelines.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from exc
