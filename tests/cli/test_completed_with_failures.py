"""``pipelines run`` of a pipeline whose failure a DependsOn ``Failed`` trigger handles: the
execution ends CompletedWithFailures, which is not a success (exit 1) and is the final line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.cli import app

from .helpers import Invoke, calls

ARN = "arn:aws:lambda:us-east-1:000000000000:function:step"


def _lambda(name: str, depends_on: list[Any] | None = None) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Lambda",
        "FunctionArn": ARN,
        "Arguments": {"name": name},
        "OutputParameters": [{"OutputName": "value", "OutputType": "String"}],
        **({"DependsOn": depends_on} if depends_on else {}),
    }


def _handled_failure(lambda_project: Callable[..., Path]) -> tuple[Path, Invoke]:
    # B fails (the project's handler fails it until ``fixed`` exists); Cleanup runs on that failure
    root = lambda_project(
        [_lambda("A"), _lambda("B", ["A"]), _lambda("Cleanup", [{"Step": "B", "Trigger": "Failed"}])]
    )
    return root, Invoke(root / "pipelines.toml")


def test_run_reports_completed_with_failures_as_its_final_line_and_exits_1(
    lambda_project: Callable[..., Path],
) -> None:
    root, invoke = _handled_failure(lambda_project)
    # not through ``invoke``: B's step log shows its handler's traceback, which is the point here
    result = invoke.runner.invoke(
        app, ["run", str(root / "chain.json"), "--config", str(invoke.config)], catch_exceptions=False
    )
    assert result.exit_code == 1, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("Execution ") and " CompletedWithFailures in " in last
    assert last.endswith("Failed steps: B.")
    assert calls(root) == ["A", "B", "Cleanup"]


def test_run_json_and_quiet_report_completed_with_failures(lambda_project: Callable[..., Path]) -> None:
    root, invoke = _handled_failure(lambda_project)
    quiet = invoke("run", str(root / "chain.json"), "--quiet")
    assert quiet.exit_code == 1
    assert " CompletedWithFailures in " in quiet.stdout.strip()
    document = invoke("run", str(root / "chain.json"), "--json")
    assert document.exit_code == 1
    parsed = json.loads(document.stdout)
    assert parsed["Execution"]["PipelineExecutionStatus"] == "CompletedWithFailures"
