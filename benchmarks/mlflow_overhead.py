"""What MLflow logging costs an execution, with a healthy, a down and a slow tracking server.

One pipeline of N Processing steps in a chain (each job runs an empty script, so the figures
are the runtime's, not a script's) runs in the embedded runtime:

* ``off``: the definition has no MlflowConfig (nothing is logged);
* ``sqlite``: MlflowConfig, logged to a local SQLite store (migrated beforehand);
* ``down``: MlflowConfig mapped to a port nothing listens on;
* ``slow``: MlflowConfig mapped to an HTTP server that answers every request after 3 s.

Printed: the execution's wall time per mode (median of --repeat runs, each in a fresh process
state) and its ratio to ``off``; then how long closing the runtime took (the flush of queued
writes, bounded at 10 s). Target: ``down`` within 10 % of ``off``; ``slow`` pays at most the
job wait bound (10 s) once per process.

``--cloud`` measures the cloud path instead: the same chain on the cloud runtime in moto (the
engine Lambda's handler in-process with its CloudMlflowObserver, as tests/cloud runs it),
``off``, ``server`` (a real ``mlflow server`` over SQLite, reached through the sagemaker-mlflow
plugin's SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT with the ARN as tracking URI) and ``down``. Printed per
mode: the execution's wall time, and the engine Lambda's billed time (the wall time of its
invocations, which includes waiting for a job's nested run and settling the queued writes at
the end of each invocation) per step attempt, with its ratio to ``off``.

Run: .venv/bin/python benchmarks/mlflow_overhead.py [--steps N] [--repeat N] [--skip-slow] [--cloud]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from pipelines.config import Config  # noqa: E402
from pipelines.engine import StartRequest  # noqa: E402
from pipelines.hosting.model_server import free_port  # noqa: E402
from pipelines.runtime.embedded import EmbeddedRuntime  # noqa: E402

SERVER = "arn:aws:sagemaker:us-east-1:000000000000:mlflow-tracking-server/bench"


def definition(steps: int, tracked: bool) -> str:
    def step(index: int) -> dict[str, Any]:
        return {
            "Name": f"S{index}",
            "Type": "Processing",
            "DependsOn": [f"S{index - 1}"] if index else [],
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceType": "ml.m5.xlarge",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 30,
                    }
                },
                "AppSpecification": {"ImageUri": "bench:1", "ContainerEntrypoint": ["python3", "-c", "pass"]},
                "RoleArn": "arn:aws:iam::000000000000:role/r",
            },
        }

    text: dict[str, Any] = {"Version": "2020-12-01", "Steps": [step(i) for i in range(steps)]}
    if tracked:
        text["MlflowConfig"] = {"MlflowResourceArn": SERVER}
    return json.dumps(text)


class _Slow(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        time.sleep(3)
        self.send_response(503)
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *_args: Any) -> None:
        pass


def one_run(workdir: Path, steps: int, mode: str, uri: str | None) -> tuple[float, float]:
    state = workdir / f"{mode}-{time.monotonic_ns()}"
    config = Config(
        state_dir=state / "state",
        object_root=state / "objects",
        images={"*": sys.executable},
        mlflow={SERVER: uri} if uri else {},
    )
    runtime = EmbeddedRuntime(config)
    started = time.perf_counter()
    final = runtime.run(definition(steps, mode != "off"), StartRequest(pipeline_name="bench"))
    elapsed = time.perf_counter() - started
    assert final.status == "Succeeded", final.failure_reason
    closing = time.perf_counter()
    runtime.close()
    return elapsed, time.perf_counter() - closing


def cloud_main(steps: int, repeat: int) -> None:
    """The cloud path (see the module docstring)."""
    import types

    sys.path.insert(0, str(ROOT))
    tests = types.ModuleType("tests")  # the repo's tests/ (a namespace package another install shadows)
    tests.__path__ = [str(ROOT / "tests")]
    sys.modules["tests"] = tests
    import pytest

    from tests.cloud.harness import ENGINE_FUNCTION, moto_cloud
    from tests.cloud.scenarios import REGION
    from tests.mlflow_server import running_tracking_server

    server_arn = f"arn:aws:sagemaker:{REGION}:123456789012:mlflow-tracking-server/bench"
    monkeypatch = pytest.MonkeyPatch()
    results: dict[str, tuple[float, float]] = {}
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_tracking_server(Path(tmp)) as url,
            moto_cloud(monkeypatch) as cloud,
        ):
            engine_seconds = [0.0]
            handler = cloud.moto.handlers[ENGINE_FUNCTION]

            def timed(event: Any, context: Any) -> Any:
                started = time.perf_counter()
                try:
                    return handler(event, context)
                finally:
                    engine_seconds[0] += time.perf_counter() - started

            cloud.moto.handlers[ENGINE_FUNCTION] = timed
            for tracked in (False, True):
                text = json.loads(definition(steps, tracked))
                if tracked:
                    text["MlflowConfig"] = {"MlflowResourceArn": server_arn}
                cloud.register(json.dumps(text), "tracked" if tracked else "off")
            endpoints = {"off": None, "server": url, "down": f"http://127.0.0.1:{free_port()}"}
            cloud.run("off", timeout=120)  # warm: imports, moto's first calls
            for mode, endpoint in endpoints.items():
                if endpoint:
                    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", endpoint)
                walls, billed = [], []
                for _ in range(repeat):
                    engine_seconds[0] = 0.0
                    started = time.perf_counter()
                    final = cloud.run("off" if mode == "off" else "tracked", timeout=300)
                    walls.append(time.perf_counter() - started)
                    billed.append(engine_seconds[0] / steps)
                    assert final.status == "Succeeded", final.failure_reason
                results[mode] = (statistics.median(walls), statistics.median(billed))
    finally:
        monkeypatch.undo()
    base = results["off"][1]
    print(f"cloud: {steps} chained Processing steps on moto, median of {repeat} runs")
    for mode, (wall, billed) in results.items():
        print(
            f"  {mode:7s} execution {wall:6.2f} s  engine billed {billed * 1000:7.0f} ms/attempt"
            f"  ratio {billed / base:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--cloud", action="store_true", help="measure the cloud runtime's path")
    options = parser.parse_args()
    if options.cloud:
        cloud_main(options.steps, options.repeat)
        return

    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        MlflowClient(f"sqlite:///{template}").search_experiments()  # migrate once
        slow = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
        threading.Thread(target=slow.serve_forever, daemon=True).start()
        modes: dict[str, Any] = {
            "off": lambda: None,
            "sqlite": lambda: f"sqlite:///{shutil.copyfile(template, workdir / f'm{time.monotonic_ns()}.db')}",
            "down": lambda: f"http://127.0.0.1:{free_port()}",
        }
        if not options.skip_slow:
            modes["slow"] = lambda: f"http://127.0.0.1:{slow.server_address[1]}"
        one_run(workdir, 1, "off", None)  # warm: imports, namespace probe
        results: dict[str, tuple[float, float]] = {}
        for mode, uri in modes.items():
            runs = [one_run(workdir, options.steps, mode, uri()) for _ in range(options.repeat)]
            results[mode] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
            )
        slow.shutdown()
    base = results["off"][0]
    print(f"{options.steps} chained Processing steps, median of {options.repeat} runs")
    for mode, (wall, close) in results.items():
        print(f"  {mode:7s} execution {wall:6.2f} s  ratio {wall / base:5.2f}  close/flush {close:5.2f} s")


if __name__ == "__main__":
    main()
