"""SDK v3 ``@step`` pipelines against a real ``pipelines serve``: built, started, waited on and
read back (``PipelineExecution.result()``) by the v3 SDK itself, whose jobs run under the v3
interpreter. ``v3_program.py`` says why it runs in its own venv; each test names the SDK v3 test
(``sagemaker-mlops/tests/integ/workflow/test_step_decorator.py``) whose assertions it keeps."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_integ.upstream_plugin import ACCOUNT, BUCKET, REGION, ROLE, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sdk_v3_integ")]

REPO = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).with_name("v3_program.py")
V3_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-python-sdk-v3-integ:py3"
SCENARIOS = ("data_dependencies", "execution_dependencies", "pipeline_parameters", "step_failed")


def v3_python() -> Path:
    """The v3 venv's interpreter: ``$PIPELINES_SDK3_PYTHON``, else ``.venv-sdk3`` (``make
    install`` builds it). Missing is a failure, not a skip: CI must run these tests."""
    python = Path(os.environ.get("PIPELINES_SDK3_PYTHON", REPO / ".venv-sdk3" / "bin" / "python"))
    if not python.exists():
        pytest.fail(f"SDK v3 interpreter {python} not found: `make install` builds .venv-sdk3")
    return python


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    python = v3_python()
    server = Server(tmp_path_factory.mktemp("sdk_v3_integ"), images={V3_IMAGE: str(python)})
    try:
        server.create_bucket(BUCKET)
        environment = {
            **os.environ,
            **server.environment(),
            "SAGEMAKER_VALIDATE_ROLE": "false",  # v3 checks the role with IAM's simulator
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(telemetry_off(server.root)),
        }
        done = subprocess.run(
            [str(python), str(PROGRAM), ROLE, V3_IMAGE, BUCKET, *SCENARIOS],
            capture_output=True,
            text=True,
            env=environment,
            cwd=server.root,
            timeout=900,
        )
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        found = {line.pop("scenario"): line for line in lines}
        assert set(found) == set(SCENARIOS), f"rc {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}"
        yield found
    finally:
        server.stop()


def telemetry_off(root: Path) -> Path:
    """The SDK's defaults file with telemetry off (it would post to an AWS URL)."""
    config = root / "sdk-config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    return config


def completed(outcome: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in outcome, outcome.get("error")
    return outcome


def test_data_dependencies(outcomes: dict[str, dict[str, Any]]) -> None:
    """SDK v3: test_step_decorator_with_data_dependencies (2 steps, newest ``sum`` first, 7)."""
    outcome = completed(outcomes["data_dependencies"])
    assert outcome["status"] == "Succeeded", outcome["steps"]
    steps = outcome["steps"]
    assert [s["status"] for s in steps] == ["Succeeded", "Succeeded"]
    assert steps[0]["name"].startswith("sum") and steps[1]["name"].startswith("generator")
    assert outcome["results"] == {steps[0]["name"]: 7, steps[1]["name"]: [3, 4]}


def test_execution_dependencies(outcomes: dict[str, dict[str, Any]]) -> None:
    """SDK v3: test_step_decorator_with_execution_dependencies (the dependent step ran last)."""
    outcome = completed(outcomes["execution_dependencies"])
    assert outcome["status"] == "Succeeded", outcome["steps"]
    newest, oldest = outcome["steps"]
    assert outcome["results"][newest["name"]] == 11
    assert outcome["results"][oldest["name"]] == 5


def test_pipeline_parameters(outcomes: dict[str, dict[str, Any]]) -> None:
    """SDK v3: test_step_decorator_with_pipeline_parameters: the start's values reach the
    function, and the job ran under the v3 venv's interpreter (the image's mapping)."""
    outcome = completed(outcomes["pipeline_parameters"])
    assert outcome["status"] == "Succeeded", outcome["steps"]
    (only,) = outcome["steps"]
    version = subprocess.run(
        [str(v3_python()), "-c", "import sys; print(list(sys.version_info[:2]))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert outcome["results"][only["name"]] == {
        "n": 7,
        "label": "ml.m5.xlarge",
        "python": json.loads(version),
    }


def test_step_failed(outcomes: dict[str, dict[str, Any]]) -> None:
    """SDK v3: test_decorator_step_failed: the reason names the error, and ``result()``
    refuses a step that is not Completed."""
    outcome = completed(outcomes["step_failed"])
    assert outcome["status"] == "Failed"
    (only,) = outcome["steps"]
    assert only["status"] == "Failed" and "ZeroDivisionError" in only["reason"]
    assert f"step {only['name']} is not in Completed status" in outcome["refusal"]
