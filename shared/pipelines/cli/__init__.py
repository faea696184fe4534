"""The ``pipelines`` command. Each module below registers its commands on the shared app;
commands only parse input, call the core and shape output."""

from __future__ import annotations

# Command modules (import for their registration side effect), one per command group.
# Add yours here, one line each.
from pipelines.cli import api_commands as api_commands  # serve, schedules
from pipelines.cli import cloud_commands as cloud_commands  # asl, plan
from pipelines.cli import definition_commands as definition_commands  # validate, graph

# run_commands: run, retry, resume, stop, executions, steps, callback, models, experiments
from pipelines.cli import run_commands as run_commands
from pipelines.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
