"""Chaos: ``pipelines run``, ``pipelines resume`` and ``pipelines serve`` killed at random, 30
times, over executions of jobs and Lambda steps; then one last ``resume`` finishes everything.

Counted from the step processes' own log (tests/faults/project.py), not from the store:

* overlapping attempts: two processes of the same step of the same execution alive at once
  (a later attempt starting before an earlier one's last sign of life);
* finished steps rerun: a process of a step starting after the store recorded that step
  Succeeded.

Both must be 0, and every execution must end Succeeded. And no status event is lost however
the processes die (the transactional outbox): every execution's start and end and every
step's success is in the events file at least once, a change is published twice only when a
process was killed after sending it and before forgetting it, and no event is left unpublished.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipelines.events import read_events
from pipelines.store import ListQuery
from pipelines.store.sqlite import SQLiteStore

from tests.faults.project import Project, kill_leftovers, make_project

KILLS = 30
SEED = int(os.environ.get("CHAOS_SEED", "20261206"))
SIGNALS = [signal.SIGKILL] * 6 + [signal.SIGTERM] * 2


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = make_project(tmp_path)
    yield project
    kill_leftovers(project)


def chaos_definition(project: Project) -> Path:
    """A diamond: job A, then Lambda B and job C side by side, then job D. B and C run longer
    than a new driver takes to start, so a process that outlived its driver would still be
    running when the next attempt starts."""
    return project.write_definition(
        "chaos",
        [
            project.job_step("A", seconds=0.3),
            project.lambda_step("B", seconds=3) | {"DependsOn": ["A"]},
            project.job_step("C", seconds=3, DependsOn=["A"]),
            project.job_step("D", seconds=0.3, DependsOn=["B", "C"]),
        ],
    )


def unfinished(project: Project) -> bool:
    store = SQLiteStore(project.root / "state" / "pipelines.sqlite")
    try:
        return bool(store.list_unfinished_executions())
    finally:
        store.close()


def wait_for_activity(project: Project, process: subprocess.Popen[str], *, since: float) -> None:
    """Until a step process reports after ``since`` (bounded: a resume may find nothing to do)."""
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and process.poll() is None:
        if any(e["t"] > since for e in project.events()[-5:]):
            return
        time.sleep(0.05)


def overlaps(events: list[dict[str, Any]]) -> list[str]:
    """Pairs of processes of one step of one execution whose lifetimes overlap."""
    lives: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    for event in events:
        if event.get("role") == "child":
            continue
        key = (event["execution"], event["step"])
        span = lives[key].setdefault(event["id"], [event["t"], event["t"]])
        span[0], span[1] = min(span[0], event["t"]), max(span[1], event["t"])
    found = []
    for (execution, step), processes in lives.items():
        spans = sorted(processes.values())
        for before, after in itertools.pairwise(spans):
            if after[0] <= before[1]:
                found.append(f"{execution}/{step}: {before} overlaps {after}")
    return found


def test_random_kills_leave_no_overlapping_attempts_and_rerun_no_finished_step(project: Project) -> None:
    definition = chaos_definition(project)
    rng = random.Random(SEED)
    kills = 0
    kills_mid_step = 0  # kills that found a step process alive (it ticks every 0.05 s; last tick under 0.5 s old, as a loaded machine delays ticks)
    rounds = 0
    while kills < KILLS:
        rounds += 1
        assert rounds < KILLS * 4, "the processes kept ending before they could be killed"
        # a new execution only when none is left over, so the final resume has little to do
        mode = rng.choice(["resume", "serve"]) if unfinished(project) else "run"
        args = {"run": ["run", str(definition)], "resume": ["resume"], "serve": ["serve", "--port", "0"]}[
            mode
        ]
        launched = time.time()
        process = project.start(*args)
        if rng.random() < 0.7:  # at a random moment while a step process runs
            wait_for_activity(project, process, since=launched)
            delay = rng.uniform(0.0, 1.5)
        else:  # at any moment: start-up, engine decisions, between steps
            delay = rng.uniform(0.5, 6.0)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(rng.choice(SIGNALS))
            kills += 1
            now = time.time()
            kills_mid_step += any(now - e["t"] < 0.5 for e in project.events()[-20:])
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    final = project.cli("resume", timeout=180)
    assert final.returncode == 0, final.stdout + final.stderr

    store = SQLiteStore(project.root / "state" / "pipelines.sqlite")
    try:
        executions = store.list_executions(None, ListQuery(limit=1000)).items
        assert executions, "no execution was started"
        assert {e.status for e in executions} == {"Succeeded"}
        finished_at = {
            (e.execution_id, s.step_name): s.ended_at.timestamp()
            for e in executions
            for s in store.list_steps(e.execution_id, ListQuery(limit=100)).items
            if s.status == "Succeeded" and s.ended_at is not None
        }
        left_unpublished = store.list_outbox(None)
    finally:
        store.close()

    events = project.events()
    starts = [e for e in events if e["event"] == "start" and e.get("role") is None]
    reruns = [
        f"{e['execution']}/{e['step']} started at {e['t']} after it finished"
        for e in starts
        if e["t"] > finished_at.get((e["execution"], e["step"]), float("inf"))
    ]
    attempts_per_step = len(starts) / max(len(finished_at), 1)
    print(
        f"chaos: {kills} kills ({kills_mid_step} mid-step) in {rounds} rounds, {len(executions)} executions, {len(starts)} step "
        f"processes for {len(finished_at)} finished steps ({attempts_per_step:.2f} per step), "
        f"{len(overlaps(events))} overlapping, {len(reruns)} finished steps rerun"
    )
    assert kills_mid_step >= KILLS // 3, "too few kills hit a running step to show anything"
    assert overlaps(events) == []
    assert reruns == []

    published = read_events(project.root / "state" / "events" / "status-changes.jsonl")
    seen = {(str(e["detail"]["pipelineExecutionArn"]), *announced(e)) for e in published}  # type: ignore[index]
    for execution in executions:
        arn = execution.execution_arn
        assert (arn, None, None, "Executing") in seen, f"{arn}: its start was never announced"
        assert (arn, None, "Executing", "Succeeded") in seen, f"{arn}: its end was never announced"
        for step in ("A", "B", "C", "D"):
            assert (arn, step, "Executing", "Succeeded") in seen, f"{arn}: {step}'s success never announced"
    assert left_unpublished == []
    repeats = len(published) - len({e["id"] for e in published})
    print(f"chaos: {len(published)} status events, {repeats} repeated (a kill after sending)")


def announced(event: dict[str, Any]) -> tuple[str | None, str | None, str]:
    """(step or None for the execution, previous status, status) of a status event."""
    detail = event["detail"]
    if "stepName" in detail:
        return detail["stepName"], detail.get("previousStepStatus"), detail["currentStepStatus"]
    return None, detail.get("previousPipelineExecutionStatus"), detail["currentPipelineExecutionStatus"]
