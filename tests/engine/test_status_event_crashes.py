"""Status events survive a process killed between the store write and the publish (the
transactional outbox, pipelines.events.outbox): a real driver process is SIGKILLed at the chosen
point, then ``resume`` (what ``pipelines serve`` runs at start-up) publishes what it left.
Each change is published exactly once; a change the killed process never committed is never
published."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from pipelines.config import Config
from pipelines.events import events_path, read_events
from pipelines.runners.registry import RunnerRegistry
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store import ListQuery
from pipelines.store.sqlite import SQLiteStore

from .fakes import AppendingRunner, definition, processing_step

REPO = Path(__file__).resolve().parents[2]
TEXT = definition(processing_step("A"), processing_step("B", DependsOn=["A"]))

# The driver kills itself (SIGKILL: nothing after this point runs) at ``CRASH``:
#   "after-write": in the runtime's announce of the call that wrote the execution's Succeeded,
#                  i.e. after the commit and before any publish;
#   "before-write": in the store's apply of that transition, before it commits.
DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {fakes_dir!r})
    from fakes import AppendingRunner
    from pipelines.config import Config
    from pipelines.engine import StartRequest
    from pipelines.runners.registry import RunnerRegistry
    from pipelines.runtime.embedded import EmbeddedRuntime
    from pipelines.store.sqlite import SQLiteStore

    CRASH = {crash!r}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class DyingStore(SQLiteStore):
        def apply(self, transition):
            if CRASH == "before-write" and transition.execution.status == "Succeeded":
                die()
            return super().apply(transition)

    class DyingRuntime(EmbeddedRuntime):
        def announce(self, outcome):
            ended = any(c.step_name is None and c.new_status == "Succeeded" for c in outcome.changes)
            if CRASH == "after-write" and ended:
                die()
            return super().announce(outcome)

    config = Config(state_dir={state!r}, object_root={objects!r})
    runtime = DyingRuntime(
        config,
        store=DyingStore(config.database_path),
        registry=RunnerRegistry([AppendingRunner({log!r}, {{}})]),
    )
    runtime.run({text!r}, StartRequest(pipeline_name="crashy"))
    """
)


def killed_driver(tmp_path: Path, crash: str) -> Config:
    """Run the pipeline in a driver process that SIGKILLs itself at ``crash``; the config of
    its state once it is dead."""
    config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects")
    script = tmp_path / "driver.py"
    script.write_text(
        DRIVER.format(
            fakes_dir=str(Path(__file__).parent),
            state=str(config.state_dir),
            objects=str(config.object_root),
            log=str(tmp_path / "runs.log"),
            text=TEXT,
            crash=crash,
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    process = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, timeout=120)
    assert process.returncode == -signal.SIGKILL, "the driver was to die at the crash point"
    return config


def changes(config: Config) -> list[tuple[str | None, str | None, str]]:
    """(step or None for the execution, previous status, status) of each published event."""
    found = []
    for event in read_events(events_path(config)):
        detail = event["detail"]
        assert isinstance(detail, dict)
        if "stepName" in detail:
            found.append((detail["stepName"], detail.get("previousStepStatus"), detail["currentStepStatus"]))
        else:
            found.append(
                (
                    None,
                    detail.get("previousPipelineExecutionStatus"),
                    detail["currentPipelineExecutionStatus"],
                )
            )
    return found


def ran(name: str) -> list[tuple[str | None, str | None, str]]:
    return [(name, None, "Starting"), (name, "Starting", "Executing"), (name, "Executing", "Succeeded")]


def resume(config: Config, tmp_path: Path) -> None:
    runtime = EmbeddedRuntime(
        config, registry=RunnerRegistry([AppendingRunner(str(tmp_path / "runs.log"), {})])
    )
    try:
        runtime.resume()
    finally:
        runtime.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
def test_events_committed_by_a_killed_process_are_published_once_by_the_restart(tmp_path: Path) -> None:
    config = killed_driver(tmp_path, "after-write")
    store = SQLiteStore(config.database_path)
    [execution] = store.list_executions(None, ListQuery()).items
    assert execution.status == "Succeeded"  # committed, then the process died before publishing
    assert (None, "Executing", "Succeeded") not in changes(config)
    assert len(store.list_outbox(execution.execution_id)) == 1  # the lost publish, kept

    resume(config, tmp_path)  # what `pipelines serve` does at start-up

    published = changes(config)
    expected = [(None, None, "Executing"), *ran("A"), *ran("B"), (None, "Executing", "Succeeded")]
    assert Counter(published) == Counter(expected)  # every change once: none lost, none twice
    ids = [event["id"] for event in read_events(events_path(config))]
    assert len(set(ids)) == len(ids)
    assert store.list_outbox(None) == []
    assert (tmp_path / "runs.log").read_text().split() == ["A", "B"]  # nothing ran again

    resume(config, tmp_path)  # a second restart publishes nothing more
    assert changes(config) == published


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
def test_a_change_the_killed_process_never_committed_is_never_published(tmp_path: Path) -> None:
    config = killed_driver(tmp_path, "before-write")
    store = SQLiteStore(config.database_path)
    [execution] = store.list_executions(None, ListQuery()).items
    assert execution.status == "Executing"  # the Succeeded transition never committed
    assert (None, "Executing", "Succeeded") not in changes(config)
    assert store.list_outbox(None) == []  # and left no events behind
    died_at = changes(config)

    resume(config, tmp_path)  # B's report was lost with the process: B runs again, then it ends

    published = changes(config)
    assert published[: len(died_at)] == died_at
    assert published.count((None, "Executing", "Succeeded")) == 1
    assert Counter(published[len(died_at) :]) == Counter(
        [
            ("B", "Executing", "Starting"),
            ("B", "Starting", "Executing"),
            ("B", "Executing", "Succeeded"),
            (None, "Executing", "Succeeded"),
        ]
    )
    ids = [event["id"] for event in read_events(events_path(config))]
    assert len(set(ids)) == len(ids)
