"""A @step function runs only under the SDK major version that pickled it: the check that
``pipelines run`` makes at start and ``pipelines validate --config`` reports as a warning."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from pipelines.cli import app
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.jobs.function_step import DRIVER_SCRIPT, FunctionStepProgram
from pydantic import TypeAdapter
from typer.testing import CliRunner

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/python:3.11"
HOST_SDK = importlib.metadata.version("sagemaker")


def function_step(built_with: str) -> dict[str, Any]:
    return {
        "Name": "Square",
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["/bin/bash", DRIVER_SCRIPT],
                "ContainerArguments": [
                    "--s3_base_uri",
                    "s3://b/p",
                    "--region",
                    "us-east-1",
                    "--client_python_version",
                    "3.11",
                    "--client_sagemaker_pysdk_version",
                    built_with,
                ],
            },
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60},
            "RoleArn": "arn:aws:iam::000000000000:role/r",
        },
    }


def fake_interpreter(tmp_path: Path, version: str | None) -> Path:
    """An 'interpreter' that answers the version probe as one with (or without) the SDK would."""
    script = tmp_path / f"python-{version or 'bare'}"
    script.write_text(f"#!/bin/sh\necho {version or ''}\n")
    script.chmod(0o755)
    return script


def check(step: dict[str, Any], config: Config) -> str | None:
    return FunctionStepProgram().check(TypeAdapter(Step).validate_python(step), config)


def test_the_host_sdk_runs_functions_it_pickled(tmp_path: Path) -> None:
    assert check(function_step(HOST_SDK), Config(state_dir=tmp_path)) is None


def test_another_major_version_is_named(tmp_path: Path) -> None:
    problem = check(function_step("3.27.0"), Config(state_dir=tmp_path))
    assert problem is not None
    assert "built with sagemaker 3.27.0" in problem and f"has sagemaker {HOST_SDK}" in problem
    assert "[images]" in problem

    mapped = Config(state_dir=tmp_path, images={"*python*": str(fake_interpreter(tmp_path, "3.27.0"))})
    assert check(function_step("3.27.0"), mapped) is None


def test_an_interpreter_without_the_sdk_is_named(tmp_path: Path) -> None:
    bare = Config(state_dir=tmp_path, images={"*python*": str(fake_interpreter(tmp_path, None))})
    problem = check(function_step("3.27.0"), bare)
    assert problem is not None and "has no 'sagemaker' package" in problem and "3.27.0" in problem


def test_validate_with_a_config_warns(tmp_path: Path) -> None:
    definition = tmp_path / "pipeline.json"
    definition.write_text(json.dumps({"Version": "2020-12-01", "Steps": [function_step("3.27.0")]}))
    config = tmp_path / "pipelines.toml"
    config.write_text('state_dir = ".pipelines"\n')
    result = CliRunner().invoke(app, ["validate", str(definition), "--config", str(config), "--json"])
    document = json.loads(result.stdout)
    warnings = [w["message"] for w in document["files"][0]["warnings"]]
    assert any("built with sagemaker 3.27.0" in w for w in warnings), warnings
