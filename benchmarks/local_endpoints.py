"""What a local endpoint costs: start-up time and InvokeEndpoint latency (part of local_jobs.py).

1. Start-up: CreateEndpointConfig + CreateEndpoint until DescribeEndpoint says InService, for a
   scikit-learn model with an ``inference.py`` (model data unpacked, sandboxed process forked
   from the warm interpreter, model loaded, first ``/ping``), N endpoints one after another.
   The warm interpreter is started once before (as it is once per ``pipelines serve``).
   Target: median <= 3 s. The SageMaker SDK's local mode polls ``/ping`` every 5 s and its
   ``wait_for_endpoint`` every 30 s; an endpoint ready within 3 s is ready before either looks.
2. InvokeEndpoint through ``pipelines serve`` with boto3's ``sagemaker-runtime`` client (a CSV
   row in, a prediction out), M calls one after another; also the same request straight to the
   model server, so the front end's own share shows. Targets: p50 <= 10 ms, p99 <= 50 ms.
   SageMaker's ``OverheadLatency`` metric (what its front end adds to the container's time) is
   typically under 10-20 ms; a front end on loopback should stay within that on a shared 2-core
   machine, tail included.

Run: .venv/bin/python benchmarks/local_endpoints.py [--endpoints N] [--calls M]
"""

from __future__ import annotations

import argparse
import io
import pickle
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

import boto3  # noqa: E402
import urllib3  # noqa: E402
from botocore.config import Config as BotoConfig  # noqa: E402
from pipelines.api.embedded import build_embedded_api  # noqa: E402
from pipelines.config import Config  # noqa: E402
from pipelines.objects import LocalObjectStore  # noqa: E402
from pipelines.registry import ModelRegistry  # noqa: E402

TARGET_STARTUP_S = 3.0
TARGET_P50_MS = 10.0
TARGET_P99_MS = 50.0
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
INFERENCE = b"""import os, pickle
def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        return pickle.load(f)
"""


def _model_data() -> bytes:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [1.0, 2.0, 5.0])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("model.pkl", pickle.dumps(model)), ("code/inference.py", INFERENCE)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def bench_endpoints(endpoints: int = 5, calls: int = 500) -> list[str]:
    """The verdict lines: ``<name>: <figure> (target ...): OK|MISSED``."""
    with tempfile.TemporaryDirectory(prefix="bench-endpoints-") as tmp:
        root = Path(tmp)
        config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root)
        LocalObjectStore(config.object_root).put("s3://bench/model.tar.gz", _model_data())
        ModelRegistry.from_config(config).create_model(
            {
                "ModelName": "bench",
                "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": "s3://bench/model.tar.gz"},
                "ExecutionRoleArn": "arn:aws:iam::000000000000:role/bench",
            }
        )
        api = build_embedded_api(config)
        server = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
        try:
            host = api.endpoints
            host.create_endpoint_config(
                {
                    "EndpointConfigName": "bench",
                    "ProductionVariants": [{"VariantName": "v", "ModelName": "bench"}],
                }
            )

            def start(name: str) -> float:
                started = time.perf_counter()
                host.create_endpoint({"EndpointName": name, "EndpointConfigName": "bench"})
                status = host.wait(name)["EndpointStatus"]
                if status != "InService":
                    raise SystemExit(f"endpoint {name} ended {status}")
                return time.perf_counter() - started

            start("bench-warmup")  # starts the warm interpreter (once per serve)
            startups = [start(f"bench-{index}") for index in range(endpoints)]
            runtime = boto3.client(
                "sagemaker-runtime",
                endpoint_url=server.url,
                region_name="us-east-1",
                aws_access_key_id="AKIDBENCH",
                aws_secret_access_key="unused",
                config=BotoConfig(retries={"max_attempts": 1}),
            )
            body = b"1.5,2.5"
            for _ in range(20):  # connections and code paths warm
                runtime.invoke_endpoint(EndpointName="bench-0", Body=body, ContentType="text/csv")[
                    "Body"
                ].read()
            through: list[float] = []
            for _ in range(calls):
                began = time.perf_counter()
                runtime.invoke_endpoint(EndpointName="bench-0", Body=body, ContentType="text/csv")[
                    "Body"
                ].read()
                through.append((time.perf_counter() - began) * 1000)
            _, port = host.target("bench-0")
            pool = urllib3.PoolManager()
            direct: list[float] = []
            for _ in range(calls):
                began = time.perf_counter()
                pool.request(
                    "POST",
                    f"http://127.0.0.1:{port}/invocations",
                    body=body,
                    headers={"Content-Type": "text/csv"},
                )
                direct.append((time.perf_counter() - began) * 1000)
        finally:
            server.stop()
    median_start = statistics.median(startups)
    p50, p99 = _percentile(through, 0.5), _percentile(through, 0.99)
    print(
        f"local endpoints: start-up (CreateEndpoint -> InService) over {endpoints}: median {median_start:.2f} s, "
        f"max {max(startups):.2f} s; InvokeEndpoint over {calls} calls via pipelines serve p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms; straight to the model server p50 {_percentile(direct, 0.5):.1f} ms, "
        f"p99 {_percentile(direct, 0.99):.1f} ms"
    )
    return [
        f"endpoint start-up: {median_start:.2f} s median (target <= {TARGET_STARTUP_S:g} s): "
        + ("OK" if median_start <= TARGET_STARTUP_S else "MISSED"),
        f"InvokeEndpoint p50: {p50:.1f} ms (target <= {TARGET_P50_MS:g} ms): "
        + ("OK" if p50 <= TARGET_P50_MS else "MISSED"),
        f"InvokeEndpoint p99: {p99:.1f} ms (target <= {TARGET_P99_MS:g} ms): "
        + ("OK" if p99 <= TARGET_P99_MS else "MISSED"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    for line in bench_endpoints(args.endpoints, args.calls):
        print(line)


if __name__ == "__main__":
    main()
