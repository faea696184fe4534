"""What the cloud runtime costs per step attempt and per 1,000 executions, measured in moto.

Runs, in moto 5.2.5 with the test-only patches of tests/cloud (our two state machines in
moto's interpreter, the engine Lambda handler in-process, DynamoDB on moto):

* the abalone example (the SDK's Processing -> Training -> evaluation -> Condition ->
  RegisterModel + Model + Transform pipeline from the corpus), and
* a 50-step DAG (5 layers of 10 Processing steps, each depending on two steps of the layer
  before).

For each it counts, per pipeline execution and per step attempt: Step Functions state
transitions (from the execution histories: every state entered, plus every Task retry), engine
Lambda invocations, other Lambda invocations, engine Lambda time, and DynamoDB request units
(estimated from the item sizes the store writes and reads: on-demand bills a write request unit
per 1 KB written, x2 inside a transaction, plus one write per GSI the item is projected into; a
read request unit per 4 KB read strongly consistently). It converts them to dollars per 1,000
executions at public us-east-1 prices (printed), and compares with a naive design in which one
state machine polls the engine in a Wait loop.

Targets: <= 10 state transitions and <= 3 engine invocations per step attempt.
Run: .venv/bin/python benchmarks/cloud_cost.py
"""

from __future__ import annotations

import json
import math
import sys
import time
import types
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "shared")]
_tests = types.ModuleType("tests")  # the repo's tests/ (a namespace package another install shadows)
_tests.__path__ = [str(REPO / "tests")]
sys.modules["tests"] = _tests

import pytest  # noqa: E402

from tests.cloud.harness import ENGINE_FUNCTION, Cloud, moto_cloud  # noqa: E402
from tests.cloud.moto_patches import Complete, JobOutcome  # noqa: E402
from tests.cloud.scenarios import pipeline, processing  # noqa: E402

CORPUS = REPO / ".." / "shared" / "corpus"
ABALONE = CORPUS / "aws__amazon-sagemaker-examples__abalone_batch_transform.json"

# Public on-demand prices, us-east-1 (AWS pricing pages).
PRICE_TRANSITION = 0.025 / 1000  # Step Functions Standard, per state transition
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_LAMBDA_GB_SECOND = 0.0000166667  # x86
ENGINE_MEMORY_GB = 0.5  # infra: handler_function memory_size=512
MIN_BILLED_MS = 1  # Lambda bills per 1 ms
PRICE_WRITE_UNIT = 1.25 / 1_000_000  # DynamoDB on-demand write request unit
PRICE_READ_UNIT = 0.25 / 1_000_000  # DynamoDB on-demand read request unit
ITEMS_IN_GSIS = 2  # execution items are projected (ALL) into gsi1 and gsi2

# The naive comparison: one state machine per execution loops Wait -> engine poll -> Choice.
NAIVE_POLL_SECONDS = 30
NAIVE_STEP_MINUTES = 10  # how long a typical job step runs (training/processing), for the poll count


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (UTF-8 strings, numbers ~ digits/2+1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            size += len(value["N"]) // 2 + 1
        else:
            size += len(json.dumps(value).encode())
    return size


@dataclass
class Meter:
    """Request units of every DynamoDB call made through the wrapped client."""

    client: Any
    write_units: float = 0.0
    read_units: float = 0.0
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            response = method(*args, **kwargs)
            self.calls[name] += 1
            self._account(name, kwargs, response)
            return response

        return call

    def _account(self, name: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        def writes(item: dict[str, Any], transactional: bool) -> float:
            units = math.ceil(item_size(item) / 1024) * (2 if transactional else 1)
            if "gsi1pk" in item or "gsi2pk" in item:
                units += math.ceil(item_size(item) / 1024) * sum(k in item for k in ("gsi1pk", "gsi2pk"))
            return float(units)

        def reads(items: list[dict[str, Any]], consistent: bool) -> float:
            units = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
            return units * (1.0 if consistent else 0.5)

        if name == "transact_write_items":
            for action in request["TransactItems"]:
                kind, body = next(iter(action.items()))
                item = body.get("Item") or body.get("Key")
                self.write_units += writes(item, True) if kind != "Update" else 2.0
        elif name in ("put_item", "update_item", "delete_item"):
            self.write_units += writes(request.get("Item") or request["Key"], False)
        elif name == "batch_write_item":
            for requests in request["RequestItems"].values():
                self.write_units += len(requests)
        elif name == "get_item":
            item = response.get("Item")
            self.read_units += reads([item] if item else [], bool(request.get("ConsistentRead")))
        elif name == "query":
            self.read_units += reads(response.get("Items", []), bool(request.get("ConsistentRead")))
        elif name == "batch_get_item":
            for items in response.get("Responses", {}).values():
                self.read_units += sum(reads([i], True) for i in items)


@dataclass
class Measured:
    name: str
    executions: int
    step_attempts: int
    transitions: int
    engine_invocations: int
    other_invocations: int
    engine_seconds: float
    write_units: float
    read_units: float
    wall_seconds: float

    def per_execution(self, value: float) -> float:
        return value / self.executions

    def dollars_per_1000(self) -> dict[str, float]:
        per = 1000 / self.executions
        lambda_gb_s = self.engine_seconds * ENGINE_MEMORY_GB
        return {
            "Step Functions": self.transitions * PRICE_TRANSITION * per,
            "Lambda requests": (self.engine_invocations + self.other_invocations)
            * PRICE_LAMBDA_REQUEST
            * per,
            "Lambda GB-s (engine)": lambda_gb_s * PRICE_LAMBDA_GB_SECOND * per,
            "DynamoDB writes": self.write_units * PRICE_WRITE_UNIT * per,
            "DynamoDB reads": self.read_units * PRICE_READ_UNIT * per,
        }


def transitions_of(cloud: Cloud, execution_id: str) -> int:
    """State transitions billed for the PipelineExecution run(s) and every StepRunner of it."""
    total = 0
    for machine in cloud.machines.values():
        for item in cloud.sfn.list_executions(stateMachineArn=machine)["executions"]:
            if not item["name"].startswith(execution_id):
                continue
            events = cloud.sfn.get_execution_history(executionArn=item["executionArn"])["events"]
            entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
            task_entries = sum(1 for e in events if e["type"] == "TaskStateEntered")
            scheduled = sum(1 for e in events if e["type"] == "TaskScheduled")
            total += entered + max(scheduled - task_entries, 0)  # a retry is another transition
    return total


def measure(
    cloud: Cloud,
    meter: Meter,
    name: str,
    pipeline_name: str,
    runs: int,
    decide: Callable[..., JobOutcome] | None,
) -> Measured:
    cloud.moto.jobs.decide = decide
    handler = cloud.moto.handlers[ENGINE_FUNCTION]
    engine_time = [0.0]

    def timed(event: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            engine_time[0] += time.perf_counter() - started

    cloud.moto.handlers[ENGINE_FUNCTION] = timed
    before = len(cloud.moto.invocations)
    meter.write_units = meter.read_units = 0.0
    started = time.perf_counter()
    finals = [cloud.run(pipeline_name, timeout=600) for _ in range(runs)]
    wall = time.perf_counter() - started
    cloud.moto.handlers[ENGINE_FUNCTION] = handler
    invocations = cloud.moto.invocations[before:]
    for final in finals:
        assert final.status == "Succeeded", (name, final.status, final.failure_reason)
    attempts = sum(len(cloud.runner_executions(final.execution_id)) for final in finals)
    return Measured(
        name=name,
        executions=runs,
        step_attempts=attempts,
        transitions=sum(transitions_of(cloud, f.execution_id) for f in finals),
        engine_invocations=sum(1 for fn, _ in invocations if fn == ENGINE_FUNCTION),
        other_invocations=sum(1 for fn, _ in invocations if fn != ENGINE_FUNCTION),
        engine_seconds=engine_time[0],
        write_units=meter.write_units,
        read_units=meter.read_units,
        wall_seconds=wall,
    )


def fifty_step_dag() -> dict[str, Any]:
    steps = []
    for layer in range(5):
        for i in range(10):
            depends = [f"L{layer - 1}S{i}", f"L{layer - 1}S{(i + 1) % 10}"] if layer else []
            steps.append(processing(f"L{layer}S{i}", **({"DependsOn": depends} if depends else {})))
    return pipeline(*steps)


def abalone_reports(kind: str, job_name: str, request: dict[str, Any]) -> JobOutcome:
    for output in request.get("processing_output_config", {}).get("Outputs", []):
        if output["OutputName"] == "evaluation":
            report = {"regression_metrics": {"mse": {"value": 4.2}}}
            return Complete({f"{output['S3Output']['S3Uri']}/evaluation.json": json.dumps(report).encode()})
    return Complete()


def naive(measured: Measured) -> dict[str, float]:
    """The same work orchestrated by polling: per step attempt, the job runs
    NAIVE_STEP_MINUTES and the loop polls every NAIVE_POLL_SECONDS (Wait, engine Task, Choice =
    3 transitions, 1 engine invocation and one state read per poll); steps of one layer overlap,
    so polls are counted per execution along its critical path of layers."""
    per_execution_attempts = measured.step_attempts / measured.executions
    layers = 5 if measured.name.startswith("50") else 6  # abalone's longest chain of job steps
    polls = layers * NAIVE_STEP_MINUTES * 60 / NAIVE_POLL_SECONDS
    reads_per_poll = measured.read_units / measured.engine_invocations  # a poll reads the whole state
    transitions = polls * 3 + per_execution_attempts * 2  # plus the typed Task and its report per step
    per = 1000
    return {
        "Step Functions": transitions * PRICE_TRANSITION * per,
        "Lambda requests": polls * PRICE_LAMBDA_REQUEST * per,
        "Lambda GB-s (engine)": polls
        * (measured.engine_seconds / measured.engine_invocations)
        * ENGINE_MEMORY_GB
        * PRICE_LAMBDA_GB_SECOND
        * per,
        "DynamoDB writes": measured.per_execution(measured.write_units) * PRICE_WRITE_UNIT * per,
        "DynamoDB reads": polls * reads_per_poll * PRICE_READ_UNIT * per,
    }


def report(measured: Measured) -> bool:
    attempts = measured.step_attempts
    per_attempt_transitions = measured.transitions / attempts
    per_attempt_invocations = measured.engine_invocations / attempts
    print(
        f"\n== {measured.name}: {measured.executions} execution(s), {attempts} step attempts "
        f"({measured.wall_seconds:.1f} s in moto)"
    )
    print(
        f"  state transitions      {measured.transitions:7d}   {per_attempt_transitions:6.2f} per step attempt"
    )
    print(
        f"  engine invocations     {measured.engine_invocations:7d}   {per_attempt_invocations:6.2f} per step attempt"
    )
    print(f"  other Lambda calls     {measured.other_invocations:7d}")
    print(
        f"  engine time (moto)     {measured.engine_seconds:7.2f} s {1000 * measured.engine_seconds / measured.engine_invocations:6.1f} ms per invocation"
    )
    print(
        f"  DynamoDB write units   {measured.write_units:7.0f}   {measured.write_units / attempts:6.1f} per step attempt"
    )
    print(
        f"  DynamoDB read units    {measured.read_units:7.0f}   {measured.read_units / attempts:6.1f} per step attempt"
    )
    ours = measured.dollars_per_1000()
    theirs = naive(measured)
    print(f"  $ per 1,000 executions {'event-driven':>14} {'naive polling':>14}")
    for key in ours:
        print(f"    {key:22} {ours[key]:14.4f} {theirs[key]:14.4f}")
    print(f"    {'total':22} {sum(ours.values()):14.4f} {sum(theirs.values()):14.4f}")
    ok_transitions = per_attempt_transitions <= 10
    ok_invocations = per_attempt_invocations <= 3
    print(
        f"  target <= 10 transitions per attempt: {'PASS' if ok_transitions else 'FAIL'}; "
        f"<= 3 engine invocations per attempt: {'PASS' if ok_invocations else 'FAIL'}"
    )
    return ok_transitions and ok_invocations


def main() -> int:
    print(
        "Prices (us-east-1, on demand): Step Functions Standard $0.025 per 1,000 state transitions; "
        "Lambda $0.20 per 1M requests + $0.0000166667 per GB-s (engine at 512 MB); "
        "DynamoDB $1.25 per 1M write request units, $0.25 per 1M read request units."
    )
    print(
        f"Naive design: a Wait({NAIVE_POLL_SECONDS} s) -> engine poll -> Choice loop per execution, "
        f"{NAIVE_STEP_MINUTES} min per job step along the critical path."
    )
    monkeypatch = pytest.MonkeyPatch()
    ok = True
    try:
        with moto_cloud(monkeypatch) as cloud:
            meter = Meter(cloud.store.client)
            cloud.store.client = meter
            cloud.s3.create_bucket(Bucket="sagemaker-us-west-2-000000000000")
            cloud.sagemaker.create_model_package_group(ModelPackageGroupName="AbaloneModelPackageGroupName")
            cloud.register(ABALONE.read_text(), "abalone")
            cloud.register(json.dumps(fifty_step_dag()), "dag50")
            measure(cloud, meter, "warm-up", "abalone", 1, abalone_reports)
            ok &= report(measure(cloud, meter, "abalone example", "abalone", 3, abalone_reports))
            ok &= report(measure(cloud, meter, "50-step DAG", "dag50", 1, None))
    finally:
        monkeypatch.undo()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
