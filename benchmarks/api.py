"""API latency and throughput over local HTTP (``pipelines serve`` in-process, real boto3).

With 1,000 executions of 10 steps each in the SQLite store: p50/p99 of
DescribePipelineExecution and ListPipelineExecutionSteps, and StartPipelineExecution
throughput (each start hands a 10-step execution to the embedded driver).

    .venv/bin/python benchmarks/api.py [--executions 1000] [--samples 500] [--starts 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from pipelines.api.embedded import build_embedded_api
from pipelines.config import Config
from pipelines.engine.ids import execution_arn, new_execution_id
from pipelines.store import ExecutionRecord, StepRecord, StepWrite, Transition

STEPS = 10
ROLE = "arn:aws:iam::000000000000:role/bench"


def definition() -> str:
    steps = [
        {
            "Name": f"Check{i}",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [{"Type": "Equals", "LeftValue": i, "RightValue": i}],
                "IfSteps": [],
                "ElseSteps": [],
            },
        }
        for i in range(STEPS)
    ]
    return json.dumps({"Version": "2020-12-01", "Steps": steps})


def seed(store, pipeline_arn: str, text: str, count: int) -> list[str]:
    """Finished executions written straight through the Store protocol (fast, realistic rows)."""
    arns = []
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for n in range(count):
        execution_id = new_execution_id()
        moment = base + dt.timedelta(minutes=n)
        record = ExecutionRecord(
            execution_id=execution_id,
            execution_arn=execution_arn(pipeline_arn, execution_id),
            pipeline_name="bench",
            pipeline_arn=pipeline_arn,
            pipeline_version_id=1,
            definition=text,
            status="Succeeded",
            created_at=moment,
            modified_at=moment,
            ended_at=moment,
        )
        steps = [
            StepWrite(
                StepRecord(
                    execution_id=execution_id,
                    step_name=f"Check{i}",
                    step_type="Condition",
                    status="Succeeded",
                    started_at=moment,
                    first_started_at=moment,
                    ended_at=moment,
                    metadata={"Condition": {"Outcome": "True"}},
                ),
                None,
            )
            for i in range(STEPS)
        ]
        store.apply(Transition(execution=record, expected_version=None, steps=steps))
        arns.append(record.execution_arn)
    return arns


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:.2f} ms  p99 {p99 * 1000:.2f} ms  (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--starts", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pipelines-bench-"))
    api = build_embedded_api(Config(state_dir=root / "state", object_root=root / "objects"))
    with api.server("127.0.0.1", 0, run_scheduler=False, resume=False) as server:
        sm = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=BotoConfig(retries={"max_attempts": 1}),
        )
        text = definition()
        pipeline_arn = sm.create_pipeline(PipelineName="bench", PipelineDefinition=text, RoleArn=ROLE)[
            "PipelineArn"
        ]
        began = time.perf_counter()
        arns = seed(api.runtime.store, pipeline_arn, text, args.executions)
        print(f"seeded {len(arns)} executions x {STEPS} steps in {time.perf_counter() - began:.1f} s")

        rng = random.Random(7)
        for name, call in (
            (
                "DescribePipelineExecution",
                lambda arn: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
            ),
            (
                "ListPipelineExecutionSteps",
                lambda arn: sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, MaxResults=STEPS),
            ),
        ):
            call(arns[0])  # warm up
            samples = []
            for _ in range(args.samples):
                arn = rng.choice(arns)
                began = time.perf_counter()
                call(arn)
                samples.append(time.perf_counter() - began)
            print(f"{name:28s} {percentiles(samples)}")

        began = time.perf_counter()
        for _ in range(args.starts):
            sm.start_pipeline_execution(PipelineName="bench")
        elapsed = time.perf_counter() - began
        print(
            f"{'StartPipelineExecution':28s} {args.starts / elapsed:.1f} starts/s  ({args.starts} starts in {elapsed:.2f} s)"
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = api.runtime.store.list_unfinished_executions()
            if not running:
                break
            time.sleep(0.2)
        print(f"all started executions finished: {not api.runtime.store.list_unfinished_executions()}")


if __name__ == "__main__":
    main()
