"""What a ForEach costs per iteration, against the same work as plain steps (issue 14).

A ForEach of 100 Lambda iterations (IterableItems a literal list of 100 items, MaxConcurrency
10) against 100 independent plain Lambda steps at MaxParallelExecutionSteps 10, both through
the embedded runtime on the SQLite store with a no-op Lambda runner, so the figures are the
engine's and the driver's cost. Each shape runs ``--repeat`` times; medians are compared.
Printed: wall and CPU time of each shape, and the overhead per iteration (ForEach minus plain,
divided by 100), in CPU time (what the engine spends, whatever the machine's load) and wall.
Target: the ForEach costs at most 1 ms of CPU more per iteration than a plain step.

Run: .venv/bin/python benchmarks/for_each.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from pipelines.config import Config  # noqa: E402
from pipelines.definition.models import Step  # noqa: E402
from pipelines.engine import StartRequest  # noqa: E402
from pipelines.runners.base import RunContext, StepRequest, StepResult  # noqa: E402
from pipelines.runners.registry import RunnerRegistry  # noqa: E402
from pipelines.runtime.embedded import EmbeddedRuntime  # noqa: E402

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:noop"
COUNT = 100
CONCURRENCY = 10
TARGET_CPU_MS = 1.0


class NoopLambda:
    step_type: ClassVar[str] = "Lambda"

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        return StepResult(
            properties={"OutputParameters": [{"Name": "n", "Value": request.arguments.get("n")}]}
        )


def lambda_step(name: str, value: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Lambda", "FunctionArn": FUNCTION, "Arguments": {"n": value}}


def definition(steps: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2020-12-01", "PipelineExperimentConfig": None, "Steps": steps})


PLAIN = definition([lambda_step(f"Step{i}", i) for i in range(COUNT)])
FOR_EACH = definition(
    [
        {
            "Name": "Each",
            "Type": "ForEach",
            "Arguments": {
                "IterableItems": list(range(COUNT)),
                "MaxConcurrency": CONCURRENCY,
                "ForEachBody": [lambda_step("Item", {"Get": "ForEach.CurrentItem"})],
            },
        }
    ]
)


def timed(text: str, parallelism: int | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, steps listed) of one run on a fresh state directory."""
    with tempfile.TemporaryDirectory() as folder:
        config = Config(state_dir=Path(folder) / "state", object_root=Path(folder) / "objects")
        runtime = EmbeddedRuntime(config, registry=RunnerRegistry([NoopLambda()]))
        runtime.register("bench", text)
        started, cpu = time.perf_counter(), time.process_time()
        execution = runtime.run(None, StartRequest(pipeline_name="bench", parallelism=parallelism))
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        steps = len(runtime.store.load_state(execution.execution_id).steps)  # type: ignore[union-attr]
        runtime.close()
        if execution.status != "Succeeded":
            raise SystemExit(f"the benchmark pipeline ended {execution.status}: {execution.failure_reason}")
        return wall, used, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    timed(PLAIN, CONCURRENCY)  # warm the imports and the definition parser
    plain = [timed(PLAIN, CONCURRENCY) for _ in range(args.repeat)]
    for_each = [timed(FOR_EACH, None) for _ in range(args.repeat)]
    assert {p[2] for p in plain} == {COUNT} and {f[2] for f in for_each} == {COUNT + 1}
    plain_wall, plain_cpu = (statistics.median(p[i] for p in plain) for i in (0, 1))
    each_wall, each_cpu = (statistics.median(f[i] for f in for_each) for i in (0, 1))
    print(
        f"{COUNT} plain Lambda steps (parallelism {CONCURRENCY}): wall {plain_wall * 1000:.0f} ms, CPU {plain_cpu * 1000:.0f} ms"
    )
    print(
        f"ForEach of {COUNT} Lambda iterations (MaxConcurrency {CONCURRENCY}): wall {each_wall * 1000:.0f} ms, CPU {each_cpu * 1000:.0f} ms"
    )
    per_cpu = (each_cpu - plain_cpu) / COUNT * 1000
    per_wall = (each_wall - plain_wall) / COUNT * 1000
    print(
        f"overhead per iteration: CPU {per_cpu:+.2f} ms, wall {per_wall:+.2f} ms (medians of {args.repeat})"
    )
    verdict = "OK" if per_cpu <= TARGET_CPU_MS else "MISSED"
    print(
        f"for_each_overhead_per_iteration_cpu: {per_cpu:.2f} ms (target <= {TARGET_CPU_MS:g} ms): {verdict}"
    )


if __name__ == "__main__":
    main()
