"""Refused input: exit code 2 and one message that names the problem and the fix, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import Invoke


def one_line_error(result: object) -> str:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert stderr.startswith("error: ")
    assert "Traceback" not in stderr
    return stderr


def test_wrong_typed_parameter_names_it(invoke: Invoke) -> None:
    error = one_line_error(
        invoke("run", str(invoke.config.parent / "pipeline.json"), "-p", "MinAccuracy=high")
    )
    assert "MinAccuracy" in error and "Float" in error


def test_unknown_parameter_names_it(invoke: Invoke) -> None:
    error = one_line_error(invoke("run", str(invoke.config.parent / "pipeline.json"), "-p", "MinAcuracy=0.5"))
    assert "MinAcuracy" in error


def test_missing_required_parameter_names_it(tmp_path: Path) -> None:
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Threshold", "Type": "Float"}],
        "Steps": [
            {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": {"Get": "Parameters.Threshold"}}}
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(definition))
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\n')
    error = one_line_error(Invoke(tmp_path / "pipelines.toml")("run", str(tmp_path / "p.json")))
    assert "Threshold" in error


def test_malformed_param_flag(invoke: Invoke) -> None:
    error = one_line_error(invoke("run", str(invoke.config.parent / "pipeline.json"), "-p", "MinAccuracy"))
    assert "NAME=VALUE" in error


def test_unmapped_function_names_the_step_and_the_fix(approval: Path) -> None:
    config = approval / "bare.toml"
    config.write_text('state_dir = ".pipelines"\n')
    error = one_line_error(Invoke(config)("run", str(approval / "pipeline.json")))
    assert (
        "step Evaluate: Lambda function arn:aws:lambda:us-east-1:000000000000:function:approval-evaluate is not "
        "mapped to a local handler; add it to [functions] in pipelines.toml" in error
    )
    assert "step Summarize:" in error  # every problem at once, not only the first


def test_invalid_definition_reports_the_problem(tmp_path: Path, invoke: Invoke) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"Version": "2020-12-01", "Steps": [}')
    error = one_line_error(invoke("run", str(broken)))
    assert "line 1" in error


def test_bad_pipeline_name(invoke: Invoke) -> None:
    error = one_line_error(
        invoke("run", str(invoke.config.parent / "pipeline.json"), "--pipeline-name", "not_valid")
    )
    assert "--pipeline-name 'not_valid'" in error


def test_from_without_select(invoke: Invoke) -> None:
    error = one_line_error(invoke("run", str(invoke.config.parent / "pipeline.json"), "--from", "latest"))
    assert "--select" in error


def test_unknown_execution_and_token(invoke: Invoke) -> None:
    assert "does not exist" in one_line_error(invoke("steps", "abcdefabcdef"))
    assert "no execution" in one_line_error(invoke("steps", "latest"))
    assert "not valid" in one_line_error(invoke("callback", "succeed", "AAAAAAAAAA"))


def test_missing_config_file(invoke: Invoke, tmp_path: Path) -> None:
    result = Invoke(tmp_path / "nope.toml")("executions")
    assert "config file not found" in one_line_error(result)
