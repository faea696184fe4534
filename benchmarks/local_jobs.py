"""What running a job locally costs, and how the example pipeline's wall time compares.

1. Fixed overhead per job: a Processing job whose script is empty, run N times through
   ``ProcessingRunner.run`` (stage the input, write the config files, start the job in its
   own mount + PID namespace, upload, describe). Printed: median and p90 of the whole call,
   the bare interpreter start-up (``python empty.py`` without any of it), and the difference.
   Target: overhead < 150 ms.
2. examples/abalone through the embedded runtime: wall time at MaxParallelExecutionSteps 1 and
   8 (fresh state each, no cache), and a rerun that hits the cache. Compared with the sum of
   the job processes' own run times (from the runners' "process exited ... after N s" lines).

Run: .venv/bin/python benchmarks/local_jobs.py [--repeat N] [--skip-example]
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

from pipelines.config import Config  # noqa: E402
from pipelines.definition.models import ProcessingStep  # noqa: E402
from pipelines.engine import StartRequest  # noqa: E402
from pipelines.objects import LocalObjectStore  # noqa: E402
from pipelines.runners.base import RunContext, StepRequest  # noqa: E402
from pipelines.runners.jobs import ProcessingRunner  # noqa: E402

EXAMPLE = ROOT / "examples" / "abalone"
PROCESS_TIME = re.compile(r"process exited with code \d+ after ([0-9.]+) s")
TARGET_MS = 150.0


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
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-abalone-") as tmp:
        for parallelism in (1, 8):
            root = Path(tmp) / f"p{parallelism}"
            config = Config(
                state_dir=root / "state",
                object_root=root / "objects",
                account_id="123456789012",
                base_dir=EXAMPLE,
            )
            prepare.prepare(config)  # type: ignore[attr-defined]
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
                    f"abalone, parallelism {parallelism}",
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
    args = parser.parse_args()

    empty = bench_empty_job(args.repeat)
    verdict = "OK" if empty["overhead_ms"] < TARGET_MS else "OVER TARGET"
    print(f"empty Processing job, {args.repeat} runs:")
    print(f"  runner.run median {empty['median_ms']:.1f} ms, p90 {empty['p90_ms']:.1f} ms")
    print(f"  bare `python empty.py` {empty['bare_python_ms']:.1f} ms")
    print(f"  fixed overhead {empty['overhead_ms']:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    if args.skip_example:
        return
    print("examples/abalone through the embedded runtime:")
    for label, wall, processes, status in bench_example():
        print(f"  {label}: {wall:.2f} s wall ({status}); job processes' own time {processes:.2f} s")


if __name__ == "__main__":
    main()
