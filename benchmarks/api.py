"""API latency and throughput over local HTTP (real boto3), and a comparison with moto's server.

1. In-process, with 1,000 executions of 10 steps each in the SQLite store: p50/p99 of
   DescribePipelineExecution and ListPipelineExecutionSteps, and StartPipelineExecution
   throughput (each start hands a 10-step execution to the embedded driver).
2. Against moto's server (``python -m moto.server``: in memory, running nothing), both as
   separate processes driven by the same 16 boto3 client threads in one run, on a mix of 70%
   DescribePipelineExecution, 20% ListPipelineExecutionSteps and 10% StartPipelineExecution,
   our store holding 10,000 steps: requests/s and p99 over the whole mix, two rounds back to
   back. moto does not implement ListPipelineExecutionSteps: its answers to those (errors) are
   counted as requests and reported.
3. The S3 (rest-xml) and STS (query) endpoints against moto's, the same way: 40% GetObject, 20%
   PutObject, 10% HeadObject, 20% ListObjectsV2 (100 keys a page) over 200 objects of 4 KiB,
   10% STS GetCallerIdentity.

    .venv/bin/python benchmarks/api.py [--executions 1000] [--samples 500] [--starts 200]
                                       [--clients 16] [--seconds 10] [--rounds 2]
                                       [--only-s3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from pipelines.api.embedded import build_embedded_api
from pipelines.config import Config
from pipelines.engine.ids import execution_arn, new_execution_id
from pipelines.hosting.model_server import free_port
from pipelines.store import ExecutionRecord, StepRecord, StepWrite, Transition
from pipelines.store.sqlite import SQLiteStore
from pipelines.testing import ServeProcess, stop_process

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


def in_process(args: argparse.Namespace) -> None:
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


MIX = (
    ("DescribePipelineExecution", 0.7),
    ("ListPipelineExecutionSteps", 0.2),
    ("StartPipelineExecution", 0.1),
)


@dataclass
class Load:
    """What one run of the mixed load measured."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    def summary(self) -> str:
        errors = ", ".join(f"{k} x{v}" for k, v in sorted(self.errors.items())) or "none"
        return f"{self.rate:8.1f} req/s  p99 {self.p99_ms:7.1f} ms  ({len(self.latencies)} requests; errors: {errors})"


def client(url: str, service: str = "sagemaker") -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=BotoConfig(retries={"max_attempts": 1}, max_pool_connections=4),
    )


def await_port(port: int, process: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def start_ours(root: Path, *, state_dir: str = "state", env: dict[str, str] | None = None) -> ServeProcess:
    """``pipelines serve`` over ``root/objects``, its state in ``root/<state_dir>``; ``env``
    replaces the environment (``PYTHONPATH`` to serve another revision's code)."""
    config = f"{state_dir}.toml"
    (root / config).write_text(f'state_dir = "{state_dir}"\nobject_root = "objects"\n')
    return ServeProcess(root, config=config, env=env)


def start_moto() -> tuple[subprocess.Popen[Any], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await_port(port, process)
    return process, f"http://127.0.0.1:{port}"


@contextmanager
def ours_and_moto(prefix: str) -> Iterator[tuple[Path, str, str]]:
    """A fresh ``pipelines serve`` (its folder, URL) and moto's server (URL), both stopped after."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    with start_ours(root) as ours:
        moto, moto_url = start_moto()
        try:
            yield root, ours.url, moto_url
        finally:
            stop_process(moto)


Call = Callable[[Any, random.Random], Any]


def run_load(
    make_client: Callable[[], Any],
    mix: list[tuple[str, float, Call]],
    clients: int,
    seconds: float,
    seed: int,
) -> Load:
    """``clients`` threads, each with its own boto3 client, calling ``mix`` (name, weight, call)
    for ``seconds``."""
    boto = [make_client() for _ in range(clients)]
    for each in boto:  # connections open and models loaded before the clock starts
        mix[0][2](each, random.Random(seed))
    load, lock = Load(), threading.Lock()
    names = [name for name, _, _ in mix]
    weights = [weight for _, weight, _ in mix]
    calls = {name: call for name, _, call in mix}
    stop_at = time.perf_counter() + seconds

    def worker(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        mine: list[float] = []
        failures: dict[str, int] = {}
        while time.perf_counter() < stop_at:
            name = rng.choices(names, weights)[0]
            began = time.perf_counter()
            try:
                calls[name](boto[index], rng)
            except Exception as exc:  # counted, not fatal: the figure must include them
                key = (
                    f"{name}:{getattr(exc, 'response', {}).get('Error', {}).get('Code', type(exc).__name__)}"
                )
                failures[key] = failures.get(key, 0) + 1
            mine.append(time.perf_counter() - began)
        with lock:
            load.latencies.extend(mine)
            for key, count in failures.items():
                load.errors[key] = load.errors.get(key, 0) + count

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.elapsed = time.perf_counter() - began
    return load


def run_mix(url: str, arns: list[str], clients: int, seconds: float, seed: int) -> Load:
    """The SageMaker mix (``MIX``) over ``arns``."""
    calls: dict[str, Call] = {
        "DescribePipelineExecution": lambda sm, rng: sm.describe_pipeline_execution(
            PipelineExecutionArn=rng.choice(arns)
        ),
        "ListPipelineExecutionSteps": lambda sm, rng: sm.list_pipeline_execution_steps(
            PipelineExecutionArn=rng.choice(arns), MaxResults=STEPS
        ),
        "StartPipelineExecution": lambda sm, rng: sm.start_pipeline_execution(PipelineName="bench"),
    }
    mix = [(name, weight, calls[name]) for name, weight in MIX]
    return run_load(lambda: client(url), mix, clients, seconds, seed)


OBJECTS = 200
OBJECT_BYTES = 4096


def s3_mix() -> list[tuple[str, float, Call]]:
    """Phase 3's mix over ``OBJECTS`` objects of ``OBJECT_BYTES`` in bucket ``bench``; STS
    GetCallerIdentity is what the SDK asks before it picks a default bucket."""
    body = bytes(range(256)) * (OBJECT_BYTES // 256)

    def key(rng: random.Random) -> str:
        return f"data/{rng.randrange(OBJECTS):04d}.bin"

    return [
        ("GetObject", 0.4, lambda pair, rng: pair[0].get_object(Bucket="bench", Key=key(rng))["Body"].read()),
        ("PutObject", 0.2, lambda pair, rng: pair[0].put_object(Bucket="bench", Key=key(rng), Body=body)),
        ("HeadObject", 0.1, lambda pair, rng: pair[0].head_object(Bucket="bench", Key=key(rng))),
        (
            "ListObjectsV2",
            0.2,
            lambda pair, rng: pair[0].list_objects_v2(Bucket="bench", Prefix="data/00", MaxKeys=100),
        ),
        ("GetCallerIdentity", 0.1, lambda pair, rng: pair[1].get_caller_identity()),
    ]


def s3_clients(url: str) -> tuple[Any, Any]:
    config = BotoConfig(retries={"max_attempts": 1}, max_pool_connections=4)
    return tuple(  # type: ignore[return-value]
        boto3.client(
            service,
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=config,
        )
        for service in ("s3", "sts")
    )


def s3_versus_moto(args: argparse.Namespace) -> None:
    """Phase 3: the S3 (rest-xml) and STS (query) endpoints against moto's, same clients and mix."""
    with ours_and_moto("pipelines-bench-s3-") as (root, ours_url, moto_url):
        body = bytes(OBJECT_BYTES)
        for url in (ours_url, moto_url):
            s3, _ = s3_clients(url)
            s3.create_bucket(Bucket="bench")
            for n in range(OBJECTS):
                s3.put_object(Bucket="bench", Key=f"data/{n:04d}.bin", Body=body)
        print(f"\nS3/STS mix, {args.clients} clients, {args.seconds:.0f} s per run, {OBJECTS} objects")
        for round_number in range(1, args.rounds + 1):
            mine = run_load(lambda: s3_clients(ours_url), s3_mix(), args.clients, args.seconds, round_number)
            theirs = run_load(
                lambda: s3_clients(moto_url), s3_mix(), args.clients, args.seconds, round_number
            )
            print(f"round {round_number}  pipelines serve {mine.summary()}")
            print(f"round {round_number}  moto server     {theirs.summary()}")
            print(
                f"round {round_number}  ratio {mine.rate / theirs.rate:.2f}x requests/s; "
                f"p99 {mine.p99_ms:.1f} vs {theirs.p99_ms:.1f} ms"
            )


def versus_moto(args: argparse.Namespace) -> bool:
    """Phase 2 (see the module docstring); True if the target is met."""
    with ours_and_moto("pipelines-bench-moto-") as (root, ours_url, moto_url):
        text = definition()
        sm = client(ours_url)
        pipeline_arn = sm.create_pipeline(PipelineName="bench", PipelineDefinition=text, RoleArn=ROLE)[
            "PipelineArn"
        ]
        store = SQLiteStore(root / "state" / "pipelines.sqlite")
        ours_arns = seed(store, pipeline_arn, text, args.executions)
        store.close()
        moto_sm = client(moto_url)
        moto_sm.create_pipeline(PipelineName="bench", PipelineDefinition=text, RoleArn=ROLE)
        moto_arns = [
            moto_sm.start_pipeline_execution(PipelineName="bench")["PipelineExecutionArn"]
            for _ in range(args.executions)
        ]
        print(
            f"\nmixed load, {args.clients} clients, {args.seconds:.0f} s per run; ours holds {len(ours_arns) * STEPS} steps"
        )
        ratios, ok = [], True
        for round_number in range(1, args.rounds + 1):
            mine = run_mix(ours_url, ours_arns, args.clients, args.seconds, round_number)
            theirs = run_mix(moto_url, moto_arns, args.clients, args.seconds, round_number)
            print(f"round {round_number}  pipelines serve {mine.summary()}")
            print(f"round {round_number}  moto server     {theirs.summary()}")
            ratio = mine.rate / theirs.rate
            ratios.append(ratio)
            ok = ok and ratio >= 2.0 and mine.p99_ms <= theirs.p99_ms and not mine.errors
            print(
                f"round {round_number}  ratio {ratio:.2f}x requests/s; p99 {mine.p99_ms:.1f} vs {theirs.p99_ms:.1f} ms"
            )
        print(
            f"api_vs_moto: {min(ratios):.2f}x moto's requests/s (target >= 2.0x, p99 <= moto's, 0 errors, "
            f"{args.rounds} rounds): {'OK' if ok else 'MISSED'}"
        )
        return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--only-s3", action="store_true", help="phase 3 alone")
    args = parser.parse_args()
    if args.only_s3:
        s3_versus_moto(args)
        return
    if not args.skip_in_process:
        in_process(args)
    versus_moto(args)
    s3_versus_moto(args)


if __name__ == "__main__":
    main()
