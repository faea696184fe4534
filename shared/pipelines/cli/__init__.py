"""The ``pipelines`` command. Each module below registers its commands on the shared app;
commands only parse input, call the core and shape output."""

from __future__ import annotations

# Command modules (import for their registration side effect), one per command group.
# Add yours here, one line each.
import pipelines.cli.api_commands  # noqa: F401  (serve, schedules)
import pipelines.cli.cloud_commands  # noqa: F401  (asl, plan)
import pipelines.cli.run_commands  # noqa: F401  (run, retry, resume, stop, executions, steps, callback, models, experiments)
import pipelines.cli.definition_commands  # noqa: F401  (validate, graph)
from pipelines.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
