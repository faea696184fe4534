"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_fail_steps.py``.

Facts about the service these pin:
- a Fail step's ErrorMessage is the step's FailureReason and ``Metadata.Fail.ErrorMessage``;
- the execution's reason (ListPipelineExecutions) is the generic "Step failure: One or
  multiple steps failed", not the Fail step's message;
- without an ErrorMessage the step lists no FailureReason, while the metadata holds "";
- ``Std:Join`` renders a condition's Outcome as JSON (``false``);
- ListPipelineExecutionSteps lists the newest step first (the SDK reads the Fail metadata
  from ``execution_steps[0]``);
- CreatePipeline refuses a step depending on a Fail step with "<step> can not depends on
  <fail step>".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionEquals, ConditionNot
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline

from tests.sdk_integ.helpers import DeleteAtTeardown, create_start_and_wait

RunAndCheck = Callable[[Pipeline, dict[str, Any], str | None, str], None]


@pytest.fixture
def run_and_check(role: str, delete_at_teardown: DeleteAtTeardown) -> RunAndCheck:
    """Runs a CondStep -> FailStep pipeline with ``parameters``; checks the Fail step's
    FailureReason (``expected_reason``) and metadata ErrorMessage, and the execution's reason."""

    def check(
        pipeline: Pipeline, parameters: dict[str, Any], expected_reason: str | None, expected_message: str
    ) -> None:
        _, execution_steps = create_start_and_wait(delete_at_teardown(pipeline), role, parameters)
        assert len(execution_steps) == 2
        assert [s["StepName"] for s in execution_steps] == ["FailStep", "CondStep"]  # newest first
        for execution_step in execution_steps:
            if execution_step["StepName"] == "CondStep":
                assert execution_step["StepStatus"] == "Succeeded"
                continue
            assert execution_step["StepStatus"] == "Failed"
            assert execution_step.get("FailureReason") == expected_reason
            assert execution_steps[0]["Metadata"]["Fail"]["ErrorMessage"] == expected_message

        executions = pipeline.sagemaker_session.sagemaker_client.list_pipeline_executions(
            PipelineName=pipeline.name
        )["PipelineExecutionSummaries"]
        assert len(executions) == 1
        assert executions[0]["PipelineExecutionStatus"] == "Failed"
        assert "Step failure: One or multiple steps failed" in executions[0]["PipelineExecutionFailureReason"]

    return check


def test_two_step_fail_pipeline_with_str_err_msg(
    sagemaker_session: Any, pipeline_name: str, run_and_check: RunAndCheck
) -> None:
    """SDK: test_fail_steps.py::test_two_step_fail_pipeline_with_str_err_msg"""
    param = ParameterInteger(name="MyInt", default_value=2)
    step_fail = FailStep(name="FailStep", error_message="Failed due to hitting in else branch")
    step_cond = ConditionStep(
        name="CondStep",
        conditions=[ConditionNot(ConditionEquals(left=param, right=2))],
        if_steps=[],
        else_steps=[step_fail],
    )
    pipeline = Pipeline(
        name=pipeline_name, steps=[step_cond], sagemaker_session=sagemaker_session, parameters=[param]
    )
    message = "Failed due to hitting in else branch"
    run_and_check(pipeline, {}, message, message)


def test_two_step_fail_pipeline_with_parameter_err_msg(
    sagemaker_session: Any, pipeline_name: str, run_and_check: RunAndCheck
) -> None:
    """SDK: test_fail_steps.py::test_two_step_fail_pipeline_with_parameter_err_msg"""
    cond_param = ParameterInteger(name="MyInt")
    err_msg_param = ParameterString(name="MyString")
    step_fail = FailStep(name="FailStep", error_message=err_msg_param)
    step_cond = ConditionStep(
        name="CondStep",
        conditions=[ConditionEquals(left=cond_param, right=1)],
        if_steps=[],
        else_steps=[step_fail],
    )
    pipeline = Pipeline(
        name=pipeline_name,
        steps=[step_cond],
        sagemaker_session=sagemaker_session,
        parameters=[cond_param, err_msg_param],
    )
    message = "Failed due to hitting in else branch"
    run_and_check(pipeline, {"MyInt": 3, "MyString": message}, message, message)


def test_two_step_fail_pipeline_with_join_fn(
    sagemaker_session: Any, pipeline_name: str, run_and_check: RunAndCheck
) -> None:
    """SDK: test_fail_steps.py::test_two_step_fail_pipeline_with_join_fn"""
    param = ParameterInteger(name="MyInt", default_value=2)
    step_cond = ConditionStep(
        name="CondStep", conditions=[ConditionEquals(left=param, right=1)], if_steps=[], else_steps=[]
    )
    step_fail = FailStep(
        name="FailStep",
        error_message=Join(
            on=": ", values=["Failed due to xxx == yyy returns", step_cond.properties.Outcome]
        ),
    )
    pipeline = Pipeline(
        name=pipeline_name,
        steps=[step_cond, step_fail],
        sagemaker_session=sagemaker_session,
        parameters=[param],
    )
    message = "Failed due to xxx == yyy returns: false"
    run_and_check(pipeline, {"MyInt": 3}, message, message)


def test_two_step_fail_pipeline_with_no_err_msg(
    sagemaker_session: Any, pipeline_name: str, run_and_check: RunAndCheck
) -> None:
    """SDK: test_fail_steps.py::test_two_step_fail_pipeline_with_no_err_msg"""
    param = ParameterInteger(name="MyInt", default_value=2)
    step_cond = ConditionStep(
        name="CondStep",
        conditions=[ConditionEquals(left=param, right=1)],
        if_steps=[],
        else_steps=[FailStep(name="FailStep")],
    )
    pipeline = Pipeline(
        name=pipeline_name, steps=[step_cond], sagemaker_session=sagemaker_session, parameters=[param]
    )
    run_and_check(pipeline, {}, None, "")


def test_invalid_pipeline_depended_on_fail_step(
    sagemaker_session: Any, role: str, pipeline_name: str
) -> None:
    """SDK: test_fail_steps.py::test_invalid_pipeline_depended_on_fail_step"""
    param = ParameterInteger(name="MyInt", default_value=2)
    step_fail = FailStep(name="FailStep", error_message="Failed pipeline execution")
    step_cond = ConditionStep(
        name="CondStep",
        conditions=[ConditionEquals(left=param, right=1)],
        if_steps=[],
        else_steps=[],
        depends_on=["FailStep"],
    )
    pipeline = Pipeline(
        name=pipeline_name,
        steps=[step_cond, step_fail],
        sagemaker_session=sagemaker_session,
        parameters=[param],
    )
    with pytest.raises(Exception) as error:
        pipeline.create(role)
    assert "CondStep can not depends on FailStep" in str(error.value)
    assert getattr(error.value, "response", {}).get("Error", {}).get("Code") == "ValidationException"
    names = [
        p["PipelineName"] for p in sagemaker_session.sagemaker_client.list_pipelines()["PipelineSummaries"]
    ]
    assert pipeline_name not in names  # a refused definition creates nothing
