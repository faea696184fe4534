"""What the cloud runtime costs per step attempt, measured in moto.

Runs, in moto 5.2.5 with the test-only patches of tests/cloud (our two state machines in
moto's interpreter, the engine Lambda handler in-process fed by the engine's FIFO queue as
Lambda's event source mapping feeds it, DynamoDB on moto):

* abalone: the SDK's Processing -> Training -> evaluation -> Condition -> RegisterModel +
  Model + Transform example from the corpus (3 executions after a warm-up);
* dag50: 5 layers of 10 Processing steps, each depending on two steps of the layer before;
* wide500: 500 independent Processing steps.

Per step attempt it counts Step Functions state transitions (every state entered, plus every
Task retry), engine Lambda invocations (API-originated and queue batches alike), DynamoDB write
request units (estimated from the item sizes the store writes: a unit per KB, x2 inside a
transaction, plus one per GSI the item is written to; an update counts as the item it writes:
its key and every value it sets, where DynamoDB bills the larger of the item before and after,
which differs when the execution item still holds status events of an earlier decision: about
0.1 unit per attempt in abalone, see docs/dynamodb.md), conditional writes lost to a racing
writer, and engine time: the CPU time of the engine invocations' own threads, which includes
moto's in-process handling of the engine's DynamoDB, SQS and Step Functions calls but not the
waits for a core (the wall time is printed beside it). It also counts StartExecution calls per
StepRunner: exactly one each, since a repeat (refused with ExecutionAlreadyExists, so nothing
runs twice) still costs a call and means the engine carried out a launch twice. It prints one
``cloud_cost:`` line per case, then its engine wall time, StartExecution calls and the median
time from a job's end (its StepRunner's end) to its successor's StepRunner start, and one line
per target.

Run: .venv/bin/python benchmarks/cloud_cost.py [--by-item] [--cases abalone,dag50,wide500]

``--by-item`` adds, per case, the write units per step attempt of each kind of item (execution,
step, definition snapshot, run, ...), split into the item's own units and its index entries,
with how many such items were written per execution and how many of those writes were
transactional: what the ``ddb_writes`` figure is made of.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
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
from pipelines.store.base import StaleWrite  # noqa: E402
from pipelines.store.dynamodb import DynamoDBStore  # noqa: E402

from tests.cloud.harness import ENGINE_FUNCTION, Cloud, moto_cloud  # noqa: E402
from tests.cloud.moto_patches import Complete, JobOutcome  # noqa: E402
from tests.cloud.scenarios import pipeline, processing  # noqa: E402

CORPUS = REPO / ".." / "shared" / "corpus"
ABALONE = CORPUS / "aws__amazon-sagemaker-examples__abalone_batch_transform.json"

TARGETS = {  # per step attempt, in every case
    "lost_writes/attempt": 0.0,
    "engine_ms/attempt": 100.0,
    "ddb_writes/attempt": 10.0,
    "transitions/attempt": 6.0,
    "invocations/attempt": 1.2,
    "start_calls/attempt": 1.0,
}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (UTF-8 strings, numbers ~ digits/2+1)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "B" in value:
            size += len(value["B"])
        elif "N" in value:
            size += len(value["N"]) // 2 + 1
        else:
            size += len(json.dumps(value).encode())
    return size


def written_item(request: dict[str, Any]) -> dict[str, Any]:
    """What a write request writes, as an item: a Put's item; a Delete's key; an Update's key
    plus every value it sets, under the attribute names it sets them to (so an update that
    sets index keys counts its index writes, as a Put does)."""
    if "Item" in request:
        return dict(request["Item"])
    item = dict(request["Key"])
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    expression = request.get("UpdateExpression", "")
    for target, placeholder in _ASSIGNMENT.findall(expression.split(" REMOVE ")[0]):
        if placeholder in values:
            item[names.get(target, target)] = values[placeholder]
    return item


def item_kind(item: dict[str, Any], in_cache_table: bool) -> str:
    """The kind of item a key names (the layout of pipelines.store.dynamodb)."""
    if in_cache_table:
        return "cache entry"
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    prefix = pk.split("#", 1)[0]
    if prefix == "EXECUTION":
        if sk.startswith("STEP#"):
            return "step"
        if sk.startswith("RUN#"):
            return "PipelineExecution run"
        return {"#META": "execution", "#LISTING": "execution listing entry"}.get(sk, f"execution {sk}")
    if prefix in ("TRIAL", "EXPERIMENT") and sk.startswith("COMPONENT#"):
        return "run (trial component)"
    if prefix in ("TRIAL", "EXPERIMENT", "DEFINITION"):
        return {"TRIAL": "trial", "EXPERIMENT": "experiment", "DEFINITION": "definition"}[prefix]
    if prefix == "PIPELINE":
        return {"#META": "pipeline", "#LAST_RUN": "pipeline last run"}.get(sk, "pipeline version")
    return {"ACTIVE_EXECUTIONS": "active marker", "TRIAL_COMPONENT": "run (trial component)"}.get(
        prefix, prefix.lower().replace("_", " ")
    )


_ASSIGNMENT = re.compile(r"([#\w]+) = (?:if_not_exists\([#\w]+, )?(:\w+)")


@dataclass
class Meter:
    """Request units of every DynamoDB call made through the wrapped client."""

    client: Any
    cache_table: str
    write_units: float = 0.0
    read_units: float = 0.0
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0, 0]))
    """item kind -> [own units, index units, writes, transactional writes]"""

    def reset(self) -> None:
        self.write_units = self.read_units = 0.0
        self.by_kind.clear()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            response = method(*args, **kwargs)
            self.calls[name] += 1
            self._account(name, kwargs, response)
            return response

        return call

    def _account(self, name: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        def writes(item: dict[str, Any], transactional: bool, table: str = "") -> float:
            kilobytes = math.ceil(item_size(item) / 1024)
            own = kilobytes * (2 if transactional else 1)
            index = kilobytes * sum(k in item for k in ("gsi1pk", "gsi2pk"))
            tally = self.by_kind[item_kind(item, table == self.cache_table)]
            tally[0] += own
            tally[1] += index
            tally[2] += 1
            tally[3] += int(transactional)
            return float(own + index)

        def reads(items: list[dict[str, Any]], consistent: bool) -> float:
            units = max(1, math.ceil(sum(item_size(i) for i in items) / 4096))
            return units * (1.0 if consistent else 0.5)

        if name == "transact_write_items":
            for action in request["TransactItems"]:
                operation = next(iter(action.values()))
                self.write_units += writes(written_item(operation), True, operation["TableName"])
        elif name in ("put_item", "update_item", "delete_item"):
            self.write_units += writes(written_item(request), False, request["TableName"])
        elif name == "batch_write_item":
            for table, requests in request["RequestItems"].items():
                for entry in requests:
                    item = entry.get("PutRequest", {}).get("Item") or entry["DeleteRequest"]["Key"]
                    self.write_units += writes(item, False, table)
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
    engine_seconds: float  # CPU time of the engine invocations' own threads
    engine_wall_seconds: float
    write_units: float
    lost_writes: int
    latencies: list[float]
    start_calls: int  # StartExecution calls for the StepRunners, refused repeats included
    started_again: int  # StepRunners whose StartExecution was called more than once
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def per_attempt(self) -> dict[str, float]:
        attempts = self.step_attempts
        return {
            "transitions/attempt": self.transitions / attempts,
            "invocations/attempt": self.engine_invocations / attempts,
            "ddb_writes/attempt": self.write_units / attempts,
            "lost_writes/attempt": self.lost_writes / attempts,
            "engine_ms/attempt": 1000 * self.engine_seconds / attempts,
            "start_calls/attempt": self.start_calls / attempts,
        }


def transitions_of(cloud: Cloud, execution_id: str) -> int:
    """State transitions billed for the PipelineExecution run(s) and every StepRunner of it."""
    total = 0
    for machine in cloud.machines.values():
        pages = cloud.sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
        for item in (i for page in pages for i in page["executions"]):
            if not item["name"].startswith(execution_id):
                continue
            events = cloud.sfn.get_execution_history(executionArn=item["executionArn"])["events"]
            entered = sum(1 for e in events if e["type"].endswith("StateEntered"))
            task_entries = sum(1 for e in events if e["type"] == "TaskStateEntered")
            scheduled = sum(1 for e in events if e["type"] == "TaskScheduled")
            total += entered + max(scheduled - task_entries, 0)  # a retry is another transition
    return total


def successor_latencies(cloud: Cloud, execution_id: str, definition: dict[str, Any]) -> list[float]:
    """Seconds from the end of a step's last predecessor's StepRunner to its own StepRunner's start."""
    runners = {}
    for item in cloud.runner_executions(execution_id):
        described = cloud.sfn.describe_execution(executionArn=item["executionArn"])
        step = item["name"][len(execution_id) + 1 :].rsplit("-", 1)[0]
        runners[step] = (described["startDate"], described.get("stopDate"))
    latencies = []
    for step in definition["Steps"]:
        before = [runners[d][1] for d in step.get("DependsOn", []) if d in runners and runners[d][1]]
        if before and step["Name"] in runners:
            latencies.append((runners[step["Name"]][0] - max(before)).total_seconds())
    return latencies


def measure(
    cloud: Cloud,
    meter: Meter,
    lost: list[int],
    name: str,
    pipeline_name: str,
    runs: int,
    decide: Callable[..., JobOutcome] | None,
    definition: dict[str, Any] | None = None,
) -> Measured:
    cloud.moto.jobs.decide = decide
    handler = cloud.moto.handlers[ENGINE_FUNCTION]
    engine_time = [0.0, 0.0]  # CPU of the invocations' threads, wall

    def timed(event: Any, context: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return handler(event, context)
        finally:
            engine_time[0] += time.thread_time() - cpu
            engine_time[1] += time.perf_counter() - started

    cloud.moto.handlers[ENGINE_FUNCTION] = timed
    before = len(cloud.moto.invocations)
    meter.reset()
    lost[0] = 0
    finals = [cloud.run(pipeline_name, timeout=900) for _ in range(runs)]
    cloud.moto.handlers[ENGINE_FUNCTION] = handler
    invocations = cloud.moto.invocations[before:]
    for final in finals:
        assert final.status == "Succeeded", (name, final.status, final.failure_reason)
    latencies = []
    if definition is not None:
        for final in finals:
            latencies += successor_latencies(cloud, final.execution_id, definition)
    runners = [r["name"] for final in finals for r in cloud.runner_executions(final.execution_id)]
    return Measured(
        name=name,
        executions=runs,
        step_attempts=len(runners),
        transitions=sum(transitions_of(cloud, f.execution_id) for f in finals),
        engine_invocations=sum(1 for fn, _ in invocations if fn == ENGINE_FUNCTION),
        engine_seconds=engine_time[0],
        engine_wall_seconds=engine_time[1],
        write_units=meter.write_units,
        lost_writes=lost[0],
        latencies=latencies,
        start_calls=sum(cloud.moto.starts[runner] for runner in runners),
        started_again=sum(cloud.moto.starts[runner] > 1 for runner in runners),
        by_kind={kind: list(tally) for kind, tally in meter.by_kind.items()},
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


def report_by_item(measured: Measured) -> None:
    """One line per item kind: its share of ddb_writes/attempt, most first."""
    attempts, runs = measured.step_attempts, measured.executions
    for kind, (own, index, count, transactional) in sorted(
        measured.by_kind.items(), key=lambda entry: -(entry[1][0] + entry[1][1])
    ):
        print(
            f"cloud_cost: case={measured.name} item={kind.replace(' ', '_')} "
            f"ddb_writes/attempt={(own + index) / attempts:.2f} (item {own / attempts:.2f}, "
            f"index {index / attempts:.2f}; {count / runs:.1f} writes/execution, "
            f"{transactional / runs:.1f} in transactions)"
        )


def report(measured: Measured) -> dict[str, float]:
    figures = measured.per_attempt()
    print(
        f"cloud_cost: case={measured.name} "
        + " ".join(
            f"{key}={figures[key]:.2f}"
            for key in (
                "transitions/attempt",
                "invocations/attempt",
                "ddb_writes/attempt",
                "lost_writes/attempt",
                "engine_ms/attempt",
            )
        )
    )
    print(
        f"cloud_cost: case={measured.name} engine_wall_ms/attempt="
        f"{1000 * measured.engine_wall_seconds / measured.step_attempts:.2f} (not a target: in moto it includes "
        "waiting for the GIL and for moto's global DynamoDB lock behind the simulated services' threads)"
    )
    print(
        f"cloud_cost: case={measured.name} start_calls/attempt={figures['start_calls/attempt']:.2f} "
        f"(StartExecution calls per StepRunner; started more than once: {measured.started_again} "
        f"of {measured.step_attempts})"
    )
    if measured.latencies:
        print(
            f"cloud_cost: case={measured.name} median_job_end_to_successor_start_ms="
            f"{1000 * statistics.median(measured.latencies):.0f} (over {len(measured.latencies)} edges)"
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--by-item", action="store_true", help="break ddb_writes down by item kind")
    parser.add_argument("--cases", default="abalone,dag50,wide500", help="comma-separated cases to run")
    args = parser.parse_args(argv)
    cases = set(args.cases.split(","))
    unknown = cases - {"abalone", "dag50", "wide500"}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")

    def show(measured: Measured) -> None:
        results.append(report(measured))
        if args.by_item:
            report_by_item(measured)

    monkeypatch = pytest.MonkeyPatch()
    results: list[dict[str, float]] = []
    try:
        with moto_cloud(monkeypatch) as cloud:
            meter = Meter(cloud.store.client, cloud.store.tables.cache)
            cloud.store.client = meter
            lost = [0]
            real_apply = DynamoDBStore.apply

            def counted(self: DynamoDBStore, transition: Any) -> None:
                try:
                    real_apply(self, transition)
                except StaleWrite:
                    lost[0] += 1
                    raise

            monkeypatch.setattr(DynamoDBStore, "apply", counted)
            cloud.s3.create_bucket(Bucket="sagemaker-us-west-2-000000000000")
            cloud.sagemaker.create_model_package_group(ModelPackageGroupName="AbaloneModelPackageGroupName")
            dag = fifty_step_dag()
            wide = pipeline(*(processing(f"S{i}") for i in range(500)))
            cloud.register(ABALONE.read_text(), "abalone")
            cloud.register(json.dumps(dag), "dag50")
            cloud.register(json.dumps(wide), "wide500")
            measure(cloud, meter, lost, "warm-up", "abalone", 1, abalone_reports)
            if "abalone" in cases:
                show(measure(cloud, meter, lost, "abalone", "abalone", 3, abalone_reports))
            if "dag50" in cases:
                show(measure(cloud, meter, lost, "dag50", "dag50", 1, None, dag))
            if "wide500" in cases:
                show(measure(cloud, meter, lost, "wide500", "wide500", 1, None))
    finally:
        monkeypatch.undo()
    ok = True
    for key, target in TARGETS.items():
        worst = max(r[key] for r in results)
        met = worst <= target
        ok &= met
        print(f"{key} (worst case): {worst:.2f} (target <= {target:g}): {'OK' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
