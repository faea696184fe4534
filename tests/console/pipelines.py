"""Definitions the console tests create through boto3 (plain JSON, as the SDK would send)."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.test_logs import processing  # a Processing step running `python3 -c script`
from tests.console.conftest import LAMBDA_ARN, ROLE

__all__ = ["create", "execution_id", "lambda_step", "processing", "step_status"]


def lambda_step(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Lambda",
        "FunctionArn": LAMBDA_ARN,
        "Arguments": {"value": value},
        "OutputParameters": [{"OutputName": "doubled", "OutputType": "Integer"}],
        **extra,
    }


def create(
    sm: Any, name: str, steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None
) -> str:
    definition = {"Version": "2020-12-01", "Parameters": parameters or [], "Steps": steps}
    return str(
        sm.create_pipeline(PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=ROLE)[
            "PipelineArn"
        ]
    )


def execution_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def step_status(sm: Any, arn: str, step: str) -> str | None:
    for entry in sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]:
        if entry["StepName"] == step:
            return str(entry["StepStatus"])
    return None
