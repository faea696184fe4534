"""A step's processes never outlive their driver into a second attempt.

Real ``pipelines`` processes killed with real signals: a job or Lambda handler dies with the
``pipelines run`` that started it, and what survives the driver anyway (a child a handler
left in its session) is ended by ``pipelines stop`` or ``pipelines resume`` (SIGTERM first)
before they decide anything, so no attempt ever runs beside the next one.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.project import (
    Project,
    alive,
    kill_all,
    kill_leftovers,
    make_project,
    processes_with,
    wait_for,
)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = make_project(tmp_path)
    yield project
    kill_leftovers(project)


def started(project: Project, step: str, role: str | None = None) -> dict[str, object]:
    def find() -> dict[str, object] | None:
        return next(
            (
                e
                for e in project.events()
                if e["event"] == "start" and e["step"] == step and e.get("role") == role
            ),
            None,
        )

    return wait_for(find, timeout=60, what=f"{step} to start")


def kill_9(process: object) -> None:
    assert hasattr(process, "pid") and hasattr(process, "wait")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def test_a_job_dies_with_the_pipelines_run_that_started_it(project: Project) -> None:
    token = uuid.uuid4().hex
    definition = project.write_definition("job", [project.job_step("Work", seconds=60, token=token)])
    run = project.start("run", str(definition))
    try:
        started(project, "Work")
        assert processes_with(token), "the job runs"
        kill_9(run)
        wait_for(lambda: not processes_with(token), timeout=10, what="the job to die with its driver")
    finally:
        run.kill()
        kill_all(processes_with(token))


def test_a_lambda_handler_dies_with_the_pipelines_run_that_started_it(project: Project) -> None:
    definition = project.write_definition("fn", [project.lambda_step("Call", seconds=60)])
    run = project.start("run", str(definition))
    try:
        handler = started(project, "Call")
        assert alive(int(handler["pid"]))  # type: ignore[arg-type]
        kill_9(run)
        wait_for(
            lambda: not alive(int(handler["pid"])),  # type: ignore[arg-type]
            timeout=10,
            what="the handler to die with its driver",
        )
    finally:
        run.kill()


def crash_leaving_a_survivor(project: Project, **event: object) -> dict[str, object]:
    """``pipelines run`` a Lambda step whose handler leaves a child in its session, kill -9 the
    run: the handler dies with it, its child survives (the orphan a later driver must end)."""
    definition = project.write_definition("orphan", [project.lambda_step("Call", leave_child=True, **event)])
    run = project.start("run", str(definition))
    try:
        child = started(project, "Call", role="child")
        kill_9(run)
    finally:
        run.kill()
    assert alive(int(child["pid"])), "the child outlived the driver"  # type: ignore[arg-type]
    return child


def test_stop_after_a_crash_ends_the_surviving_process_with_sigterm(project: Project) -> None:
    child = crash_leaving_a_survivor(project)
    stopped = project.cli("stop", "latest", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["Execution"]["PipelineExecutionStatus"] == "Stopped"
    terms = [e for e in project.events() if e["event"] == "term" and e["id"] == child["id"]]
    assert len(terms) == 1, "the survivor got SIGTERM"
    assert not alive(int(child["pid"]))  # type: ignore[arg-type]


def test_resume_after_a_crash_ends_the_survivor_before_the_next_attempt_starts(project: Project) -> None:
    child = crash_leaving_a_survivor(project, once_marker=str(project.root / "once"))
    resumed = project.cli("resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    events = project.events()
    [term] = [e for e in events if e["event"] == "term" and e["id"] == child["id"]]
    last_of_survivor = max(e["t"] for e in events if e["id"] == child["id"])
    attempts = [e for e in events if e["event"] == "start" and e["step"] == "Call" and e.get("role") is None]
    assert len(attempts) == 2
    assert attempts[1]["t"] > last_of_survivor >= term["t"]
    assert not alive(int(child["pid"]))  # type: ignore[arg-type]
