"""The ``pipelines`` command. Each module below registers its commands on the shared app;
commands only parse input, call the core and shape output."""

from __future__ import annotations

import sys

import typer

# Command modules (import for their registration side effect), one per command group.
# Add yours here, one line each.
from pipelines.cli import api_commands as api_commands  # serve, schedules
from pipelines.cli import cloud_commands as cloud_commands  # asl, plan
from pipelines.cli import definition_commands as definition_commands  # validate, graph
from pipelines.cli import endpoint_commands as endpoint_commands  # endpoints (list, delete)
from pipelines.cli import lineage_commands as lineage_commands  # lineage
from pipelines.cli import log_commands as log_commands  # logs

# run_commands: run, retry, resume, stop, executions, steps, callback, models, experiments
from pipelines.cli import run_commands as run_commands
from pipelines.cli.app import app


def main() -> None:
    """Run the app; a usage mistake (unknown option, missing argument) is one line on stderr
    and exit 2, like every other refusal, instead of click's framed box."""
    # Typer 0.2x vendors click as typer._click; older ones use the click package.
    try:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    except ImportError:  # pragma: no cover - Typer over click
        from click.exceptions import (  # type: ignore[assignment]
            ClickException,
            NoArgsIsHelpError,
            UsageError,
        )

    try:
        result = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        sys.stdout.write(exc.format_message() + "\n")
        sys.exit(0)
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "pipelines"
        sys.stderr.write(f"error: {exc.format_message()} (see '{command} --help')\n")
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


__all__ = ["app", "main"]
