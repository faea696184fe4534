"""What the engine and the embedded driver cost per step, on the SQLite store.

(a) Overhead per step: 500 independent no-op steps at MaxParallelExecutionSteps 32, with a
    trivial runner; wall time / 500. Target: < 2 ms per step.
(b) Parallel speed-up: 50 steps that each sleep 0.2 s, at parallelism 50 and at 1.
    Target: speed-up >= 0.8 of the ideal 50x.
(c) Cost of retries: a 200-step DAG (layers of 20) where 10% of the steps fail once with
    Step.SERVICE_FAULT and are retried by the default policy, against the same DAG without
    failures. The backoff waits on a fake clock, so the figure is pure engine cost.

Run: .venv/bin/python benchmarks/local_engine.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from pipelines.config import Config  # noqa: E402
from pipelines.definition.models import Step  # noqa: E402
from pipelines.engine import StartRequest  # noqa: E402
from pipelines.engine.clock import Clock, FakeClock  # noqa: E402
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult  # noqa: E402
from pipelines.runners.registry import RunnerRegistry  # noqa: E402
from pipelines.runtime.embedded import EmbeddedRuntime  # noqa: E402

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:noop"


class BenchRunner:
    """A Lambda-type runner that sleeps ``seconds`` and fails the first attempt of chosen steps."""

    step_type: ClassVar[str] = "Lambda"

    def __init__(self, seconds: float = 0.0, fail_once: set[str] | None = None) -> None:
        self.seconds = seconds
        self.fail_once = fail_once or set()
        self.lock = threading.Lock()
        self.failed: set[str] = set()

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if self.seconds:
            time.sleep(self.seconds)
        with self.lock:
            if request.step_name in self.fail_once and request.step_name not in self.failed:
                self.failed.add(request.step_name)
                raise StepFailed("We encountered an internal error", error_code="ServiceUnavailable")
        return StepResult(properties={"OutputParameters": {}})


def lambda_step(name: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"Name": name, "Type": "Lambda", "FunctionArn": FUNCTION, "Arguments": {}}
    if depends_on:
        step["DependsOn"] = depends_on
    return step


def definition(steps: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"Version": "2020-12-01", "Parameters": [], "PipelineExperimentConfig": None, "Steps": steps}
    )


def layered(total: int, width: int) -> list[dict[str, Any]]:
    """``total`` steps in layers of ``width``; each step waits for two steps of the layer above."""
    steps = []
    for index in range(total):
        layer, position = divmod(index, width)
        parents = (
            []
            if layer == 0
            else [f"S{(layer - 1) * width + position}", f"S{(layer - 1) * width + (position + 1) % width}"]
        )
        steps.append(lambda_step(f"S{index}", parents))
    return steps


@dataclass
class Timing:
    wall: float  # seconds
    cpu: float  # seconds of CPU used by this process (all threads): the cost, whatever the machine load
    status: str


def timed_run(text: str, runner: BenchRunner, parallelism: int | None, clock: Clock | None = None) -> Timing:
    with tempfile.TemporaryDirectory() as folder:
        config = Config(state_dir=Path(folder) / "state", object_root=Path(folder) / "objects")
        runtime = EmbeddedRuntime(config, registry=RunnerRegistry([runner]), clock=clock)
        runtime.register("bench", text)
        started, cpu = time.perf_counter(), time.process_time()
        execution = runtime.run(None, StartRequest(pipeline_name="bench", parallelism=parallelism))
        timing = Timing(time.perf_counter() - started, time.process_time() - cpu, execution.status)
        runtime.close()
        return timing


def overhead_per_step() -> None:
    count = 500
    run = timed_run(definition([lambda_step(f"S{i}") for i in range(count)]), BenchRunner(), 32)
    wall, cpu = run.wall / count * 1000, run.cpu / count * 1000
    verdict = "OK" if wall < 2.0 else "ABOVE TARGET"
    print(
        f"(a) {count} no-op steps, parallelism 32 [{run.status}]: {wall:.2f} ms/step wall, {cpu:.2f} ms/step CPU "
        f"(target < 2 ms wall: {verdict})"
    )


def parallel_speedup() -> None:
    count, seconds = 50, 0.2
    text = definition([lambda_step(f"S{i}") for i in range(count)])
    wide = timed_run(text, BenchRunner(seconds), count)
    narrow = timed_run(text, BenchRunner(seconds), 1)
    speedup = narrow.wall / wide.wall
    ratio = speedup / count
    verdict = "OK" if ratio >= 0.8 else "BELOW TARGET"
    print(
        f"(b) {count} x {seconds} s steps: parallelism {count} {wide.wall:.2f} s, parallelism 1 {narrow.wall:.2f} s; "
        f"speed-up {speedup:.1f}x = {ratio:.2f} of ideal (target >= 0.8: {verdict}); "
        f"engine CPU {wide.cpu / count * 1000:.2f} ms/step"
    )


def retry_cost() -> None:
    total, width = 200, 20
    text = definition(layered(total, width))
    flaky = {f"S{i}" for i in range(0, total, 10)}
    clean = timed_run(text, BenchRunner(), None, FakeClock())
    runner = BenchRunner(fail_once=flaky)
    retried = timed_run(text, runner, None, FakeClock())
    extra = (retried.cpu - clean.cpu) / len(flaky) * 1000
    print(
        f"(c) {total}-step DAG: no failures {clean.wall:.2f} s wall / {clean.cpu:.2f} s CPU [{clean.status}]; "
        f"{len(runner.failed)} steps failing once with Step.SERVICE_FAULT, retried by default: "
        f"{retried.wall:.2f} s wall / {retried.cpu:.2f} s CPU [{retried.status}]; {extra:.2f} ms CPU per retry"
    )


if __name__ == "__main__":
    overhead_per_step()
    parallel_speedup()
    retry_cost()
