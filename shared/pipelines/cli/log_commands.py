"""``pipelines logs``: the output of an execution's jobs, from their job logs.

Every job an execution ran (each attempt, and each tuning trial) has a log at
``<state_dir>/jobs/<job name>/job.log``; this prints them in start order, each line led by its
time and, when more than one job is shown, the step and job. ``--follow`` keeps printing new
lines (and new jobs) until the execution has ended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer

from pipelines.cli.app import ConfigOption, app
from pipelines.config import load_config

FOLLOW_POLL_SECONDS = 0.5
_ENDED = frozenset({"Succeeded", "Failed", "Stopped", "CompletedWithFailures"})
_JOB_ENDED = frozenset({"Completed", "Failed", "Stopped"})


@dataclass
class _Shown:
    """How many lines of each job's log were printed."""

    lines: dict[str, int] = field(default_factory=dict)


def _time(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, UTC).astimezone().strftime("%H:%M:%S")


@app.command("logs")
def logs_command(
    execution: Annotated[str, typer.Argument(help="Execution id or ARN, or 'latest'.")],
    step: Annotated[str | None, typer.Argument(help="Only this step's jobs.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until the execution ends.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the logs of an execution's jobs (Processing, Training, Transform, Tuning trials)."""
    from pipelines.cli.run_commands import _clean_errors, resolve_execution
    from pipelines.errors import ValidationError
    from pipelines.runners.jobs.joblog import job_log_path, read_job_log
    from pipelines.runners.jobs.records import JobRecords
    from pipelines.store.sqlite import open_store

    with _clean_errors():
        settings = load_config(config)
        store = open_store(settings)
        record = resolve_execution(store, execution)
        jobs = JobRecords.from_config(settings)
        if step is not None and step not in _step_names(record.definition):
            raise ValidationError(f"execution {record.execution_id} has no step {step!r}")
    shown = _Shown()
    while True:
        found = jobs.for_execution(record.execution_arn, step)
        several = len(found) > 1 or step is None
        for job in found:
            lines = read_job_log(job_log_path(settings, job.name))
            start = shown.lines.get(job.name, 0)
            lead = f"{job.step_name} {job.name} | " if several else ""
            for line in lines[start:]:
                typer.echo(f"{_time(line.timestamp)} {lead}{line.message}")
            shown.lines[job.name] = len(lines)
        if not follow:
            break
        current = store.get_execution(record.execution_id)
        ended = current is None or current.status in _ENDED
        if ended and all(j.status in _JOB_ENDED for j in jobs.for_execution(record.execution_arn, step)):
            break
        time.sleep(FOLLOW_POLL_SECONDS)
    if not shown.lines:
        typer.echo(
            f"no job logs for execution {record.execution_id}" + (f" step {step}" if step else ""), err=True
        )


def _step_names(definition: str) -> set[str]:
    from pipelines.definition import load_definition

    return {s.name for s in load_definition(definition).all_steps()}
