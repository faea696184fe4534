"""Boolean outputs of a Callback step read like Boolean parameters: ``true``/``false``/``1``/``0``.

An approver answering ``SendPipelineExecutionStepSuccess`` with ``approved=1`` is a yes, as a
``1`` for a Boolean pipeline parameter is; text that is no Boolean fails the step, naming it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import ROLE, Served
from tests.api.test_sagemaker_api import wait_done, waiting_token

DEFINITION = json.dumps(
    {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Approve",
                "Type": "Callback",
                "Arguments": {"model": "m"},
                "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/approvals",
                "OutputParameters": [{"OutputName": "approved", "OutputType": "Boolean"}],
            },
            {
                "Name": "Approved",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "Equals",
                            "LeftValue": {"Get": "Steps.Approve.OutputParameters['approved']"},
                            "RightValue": True,
                        }
                    ],
                    "IfSteps": [],
                    "ElseSteps": [{"Name": "Rejected", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}}],
                },
            },
        ],
    }
)


@pytest.fixture
def sm(served: Served) -> Any:
    client = served.client("sagemaker")
    client.create_pipeline(PipelineName="approval", PipelineDefinition=DEFINITION, RoleArn=ROLE)
    return client


def answer(sm: Any, value: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    arn = sm.start_pipeline_execution(PipelineName="approval")["PipelineExecutionArn"]
    sm.send_pipeline_execution_step_success(
        CallbackToken=waiting_token(sm, arn), OutputParameters=[{"Name": "approved", "Value": value}]
    )
    done = wait_done(sm, arn)
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    return done, {s["StepName"]: s for s in steps}


@pytest.mark.parametrize(("value", "approved"), [("1", True), ("0", False), ("TRUE", True), ("false", False)])
def test_boolean_callback_outputs_take_the_parameter_forms(sm: Any, value: str, approved: bool) -> None:
    done, steps = answer(sm, value)
    assert steps["Approve"]["StepStatus"] == "Succeeded"
    assert steps["Approved"]["Metadata"]["Condition"]["Outcome"] == ("True" if approved else "False")
    assert done["PipelineExecutionStatus"] == ("Succeeded" if approved else "Failed")


def test_text_that_is_no_boolean_fails_the_step_naming_the_output(sm: Any) -> None:
    done, steps = answer(sm, "yes")
    assert done["PipelineExecutionStatus"] == "Failed"
    assert steps["Approve"]["StepStatus"] == "Failed"
    assert "approved" in steps["Approve"]["FailureReason"]
    assert "Boolean" in steps["Approve"]["FailureReason"]
