"""What running a job locally costs, and how the example pipeline's wall time compares.

1. Fixed overhead per job: a Processing job whose script is empty, run N times through
   ``ProcessingRunner.run`` (stage the input, write the config files, start the job in its
   own mount + PID namespace, upload, describe). Printed: median and p90 of the whole call,
   the bare interpreter start-up (``python empty.py`` without any of it), and the difference.
   Target: overhead < 150 ms.
2. Warm against cold start (issue 15, warm pools): a Processing job whose script imports pandas
   and scikit-learn, N times forked from the warm interpreter and N times started cold
   (``[warm_pools] enabled = false``), side by side. Printed per start: the CPU time the job's
   process had used when its script's imports were done (``time.process_time()`` in the job:
   the machine's load does not inflate it) and the wall time from the runner's start line to
   that point (which a loaded machine does inflate). Target: warm <= 50 ms.
3. examples/abalone through the embedded runtime (what ``make demo`` runs): wall time at
   MaxParallelExecutionSteps 1, cold and warm, then 8 warm (fresh state each, no cache), and a
   rerun that hits the cache. Compared with the sum of the job processes' own run times (from
   the runners' "process exited ... after N s" lines). The warm runs preload what the example's
   config (``examples/abalone/pipelines.toml``, ``make demo``'s) names. Each run starts its own
   warm interpreter (its preload is part of the figure: the config's keep-alive is left out), as
   a first ``make demo`` does. Target: warm >= 3x faster than cold.

4. Local endpoints (benchmarks/local_endpoints.py): start-up time (CreateEndpoint -> InService)
   and InvokeEndpoint p50/p99 through ``pipelines serve``; targets and why in that module.

The warm-pool verdict line comes before the endpoint verdict lines.

Run: .venv/bin/python benchmarks/local_jobs.py [--repeat N] [--skip-example] [--skip-endpoints]
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from pipelines.config import Config, WarmPoolOptions, load_config  # noqa: E402
from pipelines.definition.models import ProcessingStep  # noqa: E402
from pipelines.engine import StartRequest  # noqa: E402
from pipelines.objects import LocalObjectStore  # noqa: E402
from pipelines.runners.base import RunContext, StepRequest  # noqa: E402
from pipelines.runners.jobs import ProcessingRunner  # noqa: E402
from pipelines.runners.jobs.warm import POOLS  # noqa: E402

EXAMPLE = ROOT / "examples" / "abalone"
PROCESS_TIME = re.compile(r"process exited with code \d+ after ([0-9.]+) s")
TARGET_MS = 150.0
TARGET_WARM_MS = 50.0
TARGET_DEMO_SPEEDUP = 3.0
IMPORTING_SCRIPT = b"""import time
import pandas, sklearn
print("imported", time.time(), time.process_time(), flush=True)
"""


def _empty_job_request(index: int) -> StepRequest:
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/empty.py"],
        },
        "RoleArn": "arn:aws:iam::123456789012:role/Bench",
        "ProcessingInputs": [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": "s3://bench/code/empty.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "out",
                    "S3Output": {
                        "S3Uri": "s3://bench/out",
                        "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }
    step = ProcessingStep.model_validate({"Name": "Empty", "Type": "Processing", "Arguments": arguments})
    return StepRequest("bench", "arn", "exec", "exec-arn", step, arguments, f"bench-empty-{index}", 1)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_empty_job(repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        root = Path(tmp)
        config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root)
        objects = LocalObjectStore(config.object_root)
        objects.put("s3://bench/code/empty.py", b"")
        runner = ProcessingRunner()
        ctx = RunContext(config=config, objects=objects)
        runner.run(_empty_job_request(-1), ctx)  # warm: namespace probe, botocore model, imports
        totals: list[float] = []
        for index in range(repeat):
            started = time.perf_counter()
            runner.run(_empty_job_request(index), ctx)
            totals.append(time.perf_counter() - started)
        script = root / "empty.py"
        script.write_text("")
        bare: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(script)], check=True)
            bare.append(time.perf_counter() - started)
    median, bare_median = statistics.median(totals), statistics.median(bare)
    return {
        "median_ms": median * 1000,
        "p90_ms": _percentile(totals, 0.9) * 1000,
        "bare_python_ms": bare_median * 1000,
        "overhead_ms": (median - bare_median) * 1000,
    }


def bench_warm_start(repeat: int) -> dict[str, dict[str, float]]:
    """{"warm"|"cold": {"cpu_ms", "wall_ms"}} medians for a job importing pandas and sklearn."""
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        root = Path(tmp)
        for mode in ("warm", "cold"):
            config = Config(
                state_dir=root / mode / "state",
                object_root=root / mode / "objects",
                base_dir=root,
                warm_pools=WarmPoolOptions(enabled=mode == "warm"),
            )
            objects = LocalObjectStore(config.object_root)
            objects.put("s3://bench/code/empty.py", IMPORTING_SCRIPT)
            marks: list[tuple[float, str]] = []
            ctx = RunContext(
                config=config, objects=objects, log=lambda line, sink=marks: sink.append((time.time(), line))
            )
            runner = ProcessingRunner()
            runner.run(_empty_job_request(-1), ctx)  # starts the warm interpreter (or warms the disk cache)
            cpu: list[float] = []
            wall: list[float] = []
            for index in range(repeat):
                marks.clear()
                runner.run(_empty_job_request(index), ctx)
                started = next(t for t, line in marks if line.startswith(f"{mode} start"))
                printed = next(line for _, line in marks if line.startswith("imported "))
                _, at, process_time = printed.split()
                cpu.append(float(process_time) * 1000)
                wall.append((float(at) - started) * 1000)
            figures[mode] = {"cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}
    return figures


def _load(name: str, path: Path) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_example() -> list[tuple[str, float, float, str]]:
    """(label, wall seconds, sum of job process seconds, final status)."""
    from pipelines.runtime.embedded import EmbeddedRuntime

    definition = (EXAMPLE / "pipeline.json").read_text()
    prepare = _load("_abalone_prepare", EXAMPLE / "prepare.py")
    example_preload = load_config(EXAMPLE / "pipelines.toml").warm_pools.preload
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-abalone-") as tmp:
        for parallelism, warm in ((1, False), (1, True), (8, True)):
            root = Path(tmp) / f"p{parallelism}-{warm}"
            config = Config(
                state_dir=root / "state",
                object_root=root / "objects",
                account_id="123456789012",
                base_dir=EXAMPLE,
                warm_pools=WarmPoolOptions(enabled=warm, preload=example_preload),
            )
            prepare.prepare(config)  # type: ignore[attr-defined]
            POOLS.close()  # each run starts its own warm interpreter, as a `pipelines run` does
            process_seconds: list[float] = []
            lock = threading.Lock()

            def on_log(
                _execution: str,
                _step: str,
                line: str,
                sink: list[float] = process_seconds,
                guard: threading.Lock = lock,
            ) -> None:
                match = PROCESS_TIME.search(line)
                if match:
                    with guard:
                        sink.append(float(match.group(1)))

            runtime = EmbeddedRuntime(config, poll_interval=0.05, on_log=on_log)
            started = time.perf_counter()
            record = runtime.run(
                definition, StartRequest(pipeline_name="AbalonePipeline", parallelism=parallelism)
            )
            rows.append(
                (
                    f"abalone, parallelism {parallelism}, {'warm' if warm else 'cold'}",
                    time.perf_counter() - started,
                    sum(process_seconds),
                    record.status,
                )
            )
            if parallelism == 8:
                process_seconds.clear()
                started = time.perf_counter()
                record = runtime.run(
                    definition, StartRequest(pipeline_name="AbalonePipeline", parallelism=parallelism)
                )
                rows.append(
                    (
                        "abalone, cache-hit rerun",
                        time.perf_counter() - started,
                        sum(process_seconds),
                        record.status,
                    )
                )
            runtime.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-example", action="store_true")
    parser.add_argument("--skip-endpoints", action="store_true")
    args = parser.parse_args()

    empty = bench_empty_job(args.repeat)
    verdict = "OK" if empty["overhead_ms"] < TARGET_MS else "OVER TARGET"
    print(f"empty Processing job, {args.repeat} runs:")
    print(f"  runner.run median {empty['median_ms']:.1f} ms, p90 {empty['p90_ms']:.1f} ms")
    print(f"  bare `python empty.py` {empty['bare_python_ms']:.1f} ms")
    print(f"  fixed overhead {empty['overhead_ms']:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    starts = bench_warm_start(args.repeat)
    print(f"job importing pandas + scikit-learn, {args.repeat} starts each, median:")
    for mode, figure in starts.items():
        print(
            f"  {mode}: {figure['cpu_ms']:.1f} ms CPU in the job until its imports were done, "
            f"{figure['wall_ms']:.1f} ms wall from the runner's start line (wall: inflated by load)"
        )
    warm_ms, cold_ms = starts["warm"]["cpu_ms"], starts["cold"]["cpu_ms"]
    ok = warm_ms <= TARGET_WARM_MS
    demo = ""
    if not args.skip_example:
        print("examples/abalone through the embedded runtime:")
        rows = bench_example()
        for label, wall, processes, status in rows:
            print(f"  {label}: {wall:.2f} s wall ({status}); job processes' own time {processes:.2f} s")
        speedup = rows[0][1] / rows[1][1]
        demo = f"; abalone warm {speedup:.1f}x faster than cold (target >= {TARGET_DEMO_SPEEDUP:.0f}x)"
        ok = ok and speedup >= TARGET_DEMO_SPEEDUP
    print(
        f"local_jobs: warm start {warm_ms:.1f} ms CPU vs cold {cold_ms:.0f} ms "
        f"(target <= {TARGET_WARM_MS:.0f} ms){demo}: {'OK' if ok else 'MISSED'}"
    )
    if not args.skip_endpoints:
        from local_endpoints import bench_endpoints

        for line in bench_endpoints():
            print(line)


if __name__ == "__main__":
    main()
