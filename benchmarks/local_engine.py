"""What the engine and the embedded driver cost per step, on the SQLite store.

(a) Overhead per step: 500 independent no-op steps at MaxParallelExecutionSteps 32, with a
    trivial runner; wall time / 500. Target: < 2 ms per step.
(b) Parallel speed-up: 50 steps that each sleep 0.2 s, at parallelism 50 and at 1.
    Target: speed-up >= 0.8 of the ideal 50x.
(c) Cost of retries: a 200-step DAG (layers of 20) where 10% of the steps fail once with
    Step.SERVICE_FAULT and are retried by the default policy, against the same DAG without
    failures. The backoff waits on a fake clock, so the figure is pure engine cost.
(d) Against the SageMaker SDK's local mode (issue 15): the same SDK-generated definition, a chain
    of Condition steps (each depends on the one before and tests a parameter), at 200 and 800
    steps, run in this one process by the SDK v2's ``LocalPipelineSession`` (in memory,
    sequential, not durable: ``Pipeline.start()`` after ``create()``) and by our engine on SQLite
    (``EmbeddedRuntime.run`` after ``register``, every decision durably written and published).
    The figure is the marginal CPU cost per step, (cost at 800 - cost at 200) / 600, so start-up
    and fixed costs cancel; each cost is the best of several interleaved runs. Registration
    (our validation) is shown apart, as is the SDK's ``create()``. Target: ours <= 1.0x the SDK's.

Run: .venv/bin/python benchmarks/local_engine.py [--only d]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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
from pipelines.store.base import ListQuery  # noqa: E402

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


SDK_SIZES = (200, 800)
SDK_REPEATS = 5
TARGET_SDK_RATIO = 1.0
_SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def condition_chain(count: int, session: Any) -> Any:
    """An SDK ``Pipeline`` of ``count`` Condition steps, each depending on the one before."""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals
    from sagemaker.workflow.parameters import ParameterInteger
    from sagemaker.workflow.pipeline import Pipeline

    threshold = ParameterInteger(name="Threshold", default_value=1)
    steps: list[Any] = []
    for index in range(count):
        steps.append(
            ConditionStep(
                name=f"C{index}",
                conditions=[ConditionEquals(left=threshold, right=1)],
                if_steps=[],
                else_steps=[],
                depends_on=[steps[-1]] if steps else None,
            )
        )
    return Pipeline(name=f"chain{count}", parameters=[threshold], steps=steps, sagemaker_session=session)


def sdk_local_cost(count: int, session: Any) -> tuple[float, float, str]:
    """(create CPU s, start CPU s, status) of one SDK local-mode run."""
    pipeline = condition_chain(count, session)
    cpu = time.process_time()
    pipeline.create(role_arn="arn:aws:iam::000000000000:role/Bench")
    created = time.process_time()
    execution = pipeline.start()
    ran = time.process_time()
    steps = execution.list_steps()["PipelineExecutionSteps"]
    status = execution.describe()["PipelineExecutionStatus"]
    return created - cpu, ran - created, f"{status}, {len(steps)} steps"


def our_cost(text: str) -> tuple[float, float, str]:
    """(register CPU s, run CPU s, status) of one run on a fresh SQLite store."""
    with tempfile.TemporaryDirectory() as folder:
        config = Config(state_dir=Path(folder) / "state", object_root=Path(folder) / "objects")
        runtime = EmbeddedRuntime(config)
        cpu = time.process_time()
        runtime.register("chain", text)
        registered = time.process_time()
        execution = runtime.run(None, StartRequest(pipeline_name="chain"))
        ran = time.process_time()
        steps = runtime.store.list_steps(execution.execution_id, ListQuery(limit=1000)).items
        runtime.close()
        return registered - cpu, ran - registered, f"{execution.status}, {len(steps)} steps"


def against_sdk_local_mode() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker").setLevel(logging.ERROR)
    from sagemaker.workflow.pipeline_context import LocalPipelineSession

    session = LocalPipelineSession()
    session.sagemaker_config = _SDK_CONFIG  # no telemetry calls (offline)
    texts = {count: condition_chain(count, session).definition() for count in SDK_SIZES}
    sdk: dict[int, list[tuple[float, float, str]]] = {count: [] for count in SDK_SIZES}
    ours: dict[int, list[tuple[float, float, str]]] = {count: [] for count in SDK_SIZES}
    for count in SDK_SIZES:  # warm both (imports, caches) before measuring
        sdk_local_cost(count, session)
        our_cost(texts[count])
    for _ in range(SDK_REPEATS):
        for count in SDK_SIZES:
            sdk[count].append(sdk_local_cost(count, session))
            ours[count].append(our_cost(texts[count]))

    def best(runs: list[tuple[float, float, str]], part: int) -> float:
        return min(float(run[part]) for run in runs) * 1000

    small, large = SDK_SIZES
    span = large - small
    for name, runs, first, second in (
        ("SDK local mode", sdk, "create", "start"),
        ("ours", ours, "register", "run"),
    ):
        print(
            f"(d) {name}: "
            + "; ".join(
                f"{count} steps [{runs[count][0][2]}] {first} {best(runs[count], 0):.1f} ms, "
                f"{second} {best(runs[count], 1):.1f} ms CPU"
                for count in SDK_SIZES
            )
        )
    sdk_marginal = (best(sdk[large], 1) - best(sdk[small], 1)) / span
    our_marginal = (best(ours[large], 1) - best(ours[small], 1)) / span
    sdk_with_create = (
        best(sdk[large], 0) + best(sdk[large], 1) - best(sdk[small], 0) - best(sdk[small], 1)
    ) / span
    our_with_register = (
        best(ours[large], 0) + best(ours[large], 1) - best(ours[small], 0) - best(ours[small], 1)
    ) / span
    print(
        f"(d) marginal CPU per step: SDK start {sdk_marginal * 1000:.1f} us, ours run {our_marginal * 1000:.1f} us; "
        f"with create/register: SDK {sdk_with_create * 1000:.1f} us, ours {our_with_register * 1000:.1f} us"
    )
    ratio = our_marginal / sdk_marginal if sdk_marginal > 0 else float("inf")
    verdict = "OK" if ratio <= TARGET_SDK_RATIO else "MISSED"
    print(
        f"local_engine: {ratio:.2f}x the SDK local mode's marginal cost per Condition step "
        f"({our_marginal * 1000:.1f} vs {sdk_marginal * 1000:.1f} us CPU) (target <= {TARGET_SDK_RATIO}x): {verdict}"
    )


PARTS = {"a": overhead_per_step, "b": parallel_speedup, "c": retry_cost, "d": against_sdk_local_mode}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(PARTS), action="append", help="run only these parts")
    for part in parser.parse_args().only or sorted(PARTS):
        PARTS[part]()
