"""``pipelines asl`` and ``pipelines plan`` through the real Typer app."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pipelines.cli import app
from pipelines.stepfunctions import pipeline_execution_definition, step_runner_definition
from typer.testing import CliRunner

RUNNER = CliRunner()
ENGINE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:engine"


def test_asl_prints_both_machines_by_default() -> None:
    result = RUNNER.invoke(app, ["asl"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "StepRunner": step_runner_definition(),
        "PipelineExecution": pipeline_execution_definition(),
    }


def test_asl_prints_one_machine_with_the_engine_arn_filled() -> None:
    result = RUNNER.invoke(app, ["asl", "--machine", "step-runner", "--engine-arn", ENGINE_ARN])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["States"]["Report"]["Arguments"]["FunctionName"] == ENGINE_ARN


def test_asl_writes_files_into_a_folder(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["asl", "--out", str(tmp_path / "asl")])
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "asl").iterdir())
    assert written == ["pipeline-execution.asl.json", "step-runner.asl.json"]
    assert json.loads((tmp_path / "asl" / "pipeline-execution.asl.json").read_text()) == (
        pipeline_execution_definition()
    )


def _write(tmp_path: Path, definition: Mapping[str, object]) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition))
    return path


LAMBDA_PIPELINE = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}],
    "Steps": [
        {
            "Name": "Notify",
            "Type": "Lambda",
            "Arguments": {"threshold": {"Get": "Parameters.Threshold"}},
            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:notify",
            "OutputParameters": [{"OutputName": "status", "OutputType": "String"}],
        }
    ],
}


def test_plan_json_shows_route_states_and_the_unresolved_request(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["plan", str(_write(tmp_path, LAMBDA_PIPELINE)), "--json"])
    assert result.exit_code == 0, result.output
    (step,) = json.loads(result.stdout)
    assert step["route"] == "Lambda"
    assert step["states"] == ["Backoff", "Route", "Lambda", "Report", "Done"]
    assert step["integrations"] == ["arn:aws:states:::lambda:invoke"]
    assert step["credentials"] == {"RoleArn": "${PipelineRoleArn}"}
    assert step["input"]["request"] == {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:notify",
        "Payload": {"threshold": {"Get": "Parameters.Threshold"}},
    }
    assert step["input"]["timeoutSeconds"] == 120


def test_plan_text_lists_each_step(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["plan", str(_write(tmp_path, LAMBDA_PIPELINE))])
    assert result.exit_code == 0, result.output
    assert "Notify (Lambda) -> route Lambda" in result.stdout
    assert "integration: arn:aws:states:::lambda:invoke" in result.stdout


def test_plan_reports_an_invalid_definition(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Version": "2020-12-01", "Steps": [')
    result = RUNNER.invoke(app, ["plan", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error:")
