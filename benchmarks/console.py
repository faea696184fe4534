"""The web console in Debian's Chromium (Playwright) against a real ``pipelines serve``.

1. Graph: time from opening ``/pipelines/<name>`` to every node drawn, for pipelines of 100,
   250 and 500 steps (each step depends on the one before and the one 7 before: long edges,
   which is what makes layered layouts slow).
2. Live updates: a chain of Processing steps, each waiting for its own gate file. For each
   gate opened, the moment the API first reports the step Succeeded (boto3 polling every
   20 ms) and the moment the page's node turns Succeeded (a MutationObserver in the page);
   the difference is what the console adds (its 1 s polling plus drawing).

    .venv/bin/python benchmarks/console.py [--sizes 100 250 500] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from pipelines.testing import IN_THIS_INTERPRETER, ServeProcess
from playwright.sync_api import Page, expect, sync_playwright

BROWSER = os.environ.get("CONSOLE_BROWSER", "/usr/bin/chromium")
ROLE = "arn:aws:iam::000000000000:role/bench"
LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:noop"


def serve(root: Path) -> ServeProcess:
    (root / "noop.py").write_text("def handler(event, context):\n    return {}\n")
    (root / "pipelines.toml").write_text(
        f'state_dir = "state"\n[functions]\n"{LAMBDA}" = "noop.py:handler"\n[serve]\nallowed_origins = ["self"]\n'
    )
    return ServeProcess(root, command=IN_THIS_INTERPRETER)


def create(sm: Any, name: str, steps: list[dict[str, Any]]) -> None:
    definition = {"Version": "2020-12-01", "Steps": steps}
    sm.create_pipeline(PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=ROLE)


def graph(page: Page, sm: Any, url: str, size: int) -> float:
    steps = []
    for i in range(size):
        depends = sorted({f"s{i - 1}", f"s{i - 7}"} if i >= 7 else ({f"s{i - 1}"} if i else set()))
        steps.append(
            {"Name": f"s{i}", "Type": "Lambda", "FunctionArn": LAMBDA, "Arguments": {}, "DependsOn": depends}
        )
    create(sm, f"graph-{size}", steps)
    started = time.perf_counter()
    page.goto(f"{url}/pipelines/graph-{size}")
    expect(page.locator("svg.dag g.node")).to_have_count(size, timeout=120_000)
    return time.perf_counter() - started


WATCH = """() => {
  window.__succeeded = {};
  new MutationObserver((changes) => {
    for (const change of changes) {
      const node = change.target;
      if (node.classList && node.classList.contains('status-Succeeded') && !window.__succeeded[node.dataset.step])
        window.__succeeded[node.dataset.step] = Date.now() / 1000;
    }
  }).observe(document.querySelector('svg.dag'), {subtree: true, attributes: true, attributeFilter: ['class']});
}"""


def live(page: Page, sm: Any, url: str, root: Path, count: int) -> list[tuple[float, float]]:
    steps = []
    for i in range(count):
        gate = root / f"gate-{i}"
        script = f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.02)\n"
        steps.append(
            {
                "Name": f"g{i}",
                "Type": "Processing",
                "DependsOn": [f"g{i - 1}"] if i else [],
                "Arguments": {
                    "AppSpecification": {
                        "ImageUri": "local/python",
                        "ContainerEntrypoint": ["python3", "-c", script],
                    },
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": "ml.m5.large",
                            "VolumeSizeInGB": 1,
                        }
                    },
                    "RoleArn": ROLE,
                },
            }
        )
    create(sm, "live", steps)
    arn = sm.start_pipeline_execution(PipelineName="live")["PipelineExecutionArn"]
    page.goto(f"{url}/executions/{arn.rsplit('/', 1)[1]}")
    expect(page.locator('g.node[data-step="g0"]')).to_have_class("node status-Executing", timeout=60_000)
    page.evaluate(WATCH)
    samples = []
    for i in range(count):
        expect(page.locator(f'g.node[data-step="g{i}"]')).to_have_class(
            "node status-Executing", timeout=60_000
        )
        (root / f"gate-{i}").write_text("open")
        seen_by_api = None
        while seen_by_api is None:
            entries = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
            if any(e["StepName"] == f"g{i}" and e["StepStatus"] == "Succeeded" for e in entries):
                seen_by_api = time.time()
            else:
                time.sleep(0.02)
        expect(page.locator(f'g.node[data-step="g{i}"]')).to_have_class(
            "node status-Succeeded", timeout=10_000
        )
        seen_by_page = page.evaluate(f"() => window.__succeeded['g{i}']")
        samples.append((seen_by_api, seen_by_page))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="console-bench-"))
    server = serve(root)
    url = server.url
    try:
        sm = boto3.client(
            "sagemaker",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="A",
            aws_secret_access_key="s",
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=BROWSER, args=["--disable-gpu", "--no-first-run"]
            )
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            print("graph: seconds from navigation to every node drawn")
            for size in args.sizes:
                print(f"  {size:4d} steps: {graph(page, sm, url, size):6.2f} s")
            samples = live(page, sm, url, root, args.steps)
            lags = [page_at - api_at for api_at, page_at in samples]
            print(
                f"live updates: the page showed each change {statistics.median(lags):.2f} s (median), "
                f"{max(lags):.2f} s (max) after the API first reported it; {len(lags)} changes"
            )
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
