"""Crash safety: a driver process killed with SIGKILL mid-run leaves consistent records, and
resume finishes the execution without rerunning any step that had finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pipelines.config import Config
from pipelines.runners.registry import RunnerRegistry
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.sqlite import SQLiteStore

from .fakes import AppendingRunner, definition, processing_step

REPO = Path(__file__).resolve().parents[2]
SECONDS = {"A": 0.0, "B": 0.0, "C": 30.0, "D": 0.0, "E": 0.0}
TEXT = definition(
    processing_step("A"),
    processing_step("B", DependsOn=["A"]),
    processing_step("C", DependsOn=["B"]),
    processing_step("D", DependsOn=["C"]),
    processing_step("E", DependsOn=["B"]),
)

DRIVER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {fakes_dir!r})
    from fakes import AppendingRunner
    from pipelines.config import Config
    from pipelines.engine import StartRequest
    from pipelines.runners.registry import RunnerRegistry
    from pipelines.runtime.embedded import EmbeddedRuntime

    config = Config(state_dir={state!r}, object_root={objects!r})
    runtime = EmbeddedRuntime(config, registry=RunnerRegistry([AppendingRunner({log!r}, {seconds!r})]))
    runtime.run({text!r}, StartRequest(pipeline_name="crashy"))
    """
)


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the driver process did not get there in time")
        time.sleep(0.02)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics")
def test_kill_9_mid_run_then_resume(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects")
    log = tmp_path / "runs.log"
    script = tmp_path / "driver.py"
    script.write_text(
        DRIVER.format(
            fakes_dir=str(Path(__file__).parent),
            state=str(config.state_dir),
            objects=str(config.object_root),
            log=str(log),
            seconds=SECONDS,
            text=TEXT,
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    process = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path)
    try:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        wait_for(config.database_path.exists)
        observer = SQLiteStore(config.database_path)

        def c_running() -> bool:
            executions = observer.list_unfinished_executions()
            if not executions:
                return False
            steps = observer.load_state(executions[0].execution_id).steps
            return (
                steps.get("C") is not None
                and steps["C"].status == "Executing"
                and steps.get("E") is not None
                and steps["E"].status == "Succeeded"
            )

        wait_for(c_running)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    (execution,) = observer.list_unfinished_executions()
    before = observer.load_state(execution.execution_id)
    assert {n: s.status for n, s in before.steps.items()} == {
        "A": "Succeeded",
        "B": "Succeeded",
        "C": "Executing",
        "E": "Succeeded",
    }
    assert sorted(log.read_text().split()) == ["A", "B", "E"]

    runner = AppendingRunner(str(log), {**SECONDS, "C": 0.0})
    runtime = EmbeddedRuntime(config, registry=RunnerRegistry([runner]))
    assert not runtime.driver_alive(execution.execution_id)  # its owner process is gone
    (finished,) = runtime.resume()
    assert finished.status == "Succeeded"
    runs = log.read_text().split()
    assert sorted(runs) == ["A", "B", "C", "D", "E"]  # every step ran to the end exactly once
    after = runtime.engine.state(execution.execution_id).steps
    assert after["C"].attempt == 2  # the interrupted run counts as an attempt
    assert (after["A"].attempt, after["D"].attempt) == (1, 1)
    observer.close()
    runtime.close()
