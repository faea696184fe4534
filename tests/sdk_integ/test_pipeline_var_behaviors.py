"""Equivalent of sagemaker-python-sdk
``tests/integ/sagemaker/workflow/test_pipeline_var_behaviors.py::test_ppl_var_to_string_and_add``.

Facts: ``Std:Join`` renders a condition's Outcome as JSON (``true``/``false``) and parameters
by their JSON text (the integer 3 as ``3``); ``to_string()`` of a parameter compares as text.
"""

from __future__ import annotations

from typing import Any

from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionGreaterThan
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline

from tests.sdk_integ.helpers import DeleteAtTeardown, create_start_and_wait, wait_pipeline_execution


def _fail_reason(execution: Any) -> str:
    """The FailStep's FailureReason, once the execution ends with CondStep Succeeded and
    FailStep Failed."""
    wait_pipeline_execution(execution)
    execution_steps = execution.list_steps()
    assert len(execution_steps) == 2
    statuses = {s["StepName"]: s["StepStatus"] for s in execution_steps}
    assert statuses == {"CondStep": "Succeeded", "FailStep": "Failed"}
    (fail,) = [s for s in execution_steps if s["StepName"] == "FailStep"]
    return str(fail["FailureReason"])


def test_ppl_var_to_string_and_add(
    sagemaker_session_for_pipeline: Any, role: str, pipeline_name: str, delete_at_teardown: DeleteAtTeardown
) -> None:
    """SDK: test_pipeline_var_behaviors.py::test_ppl_var_to_string_and_add"""
    param_str = ParameterString(name="MyString", default_value="1")
    param_int = ParameterInteger(name="MyInteger", default_value=3)
    step_cond = ConditionStep(
        name="CondStep",
        conditions=[ConditionGreaterThan(left=param_str, right=param_int.to_string())],
        if_steps=[],
        else_steps=[],
    )
    join_fn1 = Join(
        on=" ",
        values=[
            "condition greater than check return:",
            step_cond.properties.Outcome.to_string(),
            "and left side param str is",
            param_str,
            "and right side param int is",
            param_int,
        ],
    )
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[param_str, param_int],
        steps=[step_cond, FailStep(name="FailStep", error_message=join_fn1)],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    execution, _ = create_start_and_wait(delete_at_teardown(pipeline), role)
    assert _fail_reason(execution) == (
        "condition greater than check return: false and left side param str is 1 and right side param int is 3"
    )
    execution = pipeline.start(parameters={"MyInteger": 0})
    assert _fail_reason(execution) == (
        "condition greater than check return: true and left side param str is 1 and right side param int is 0"
    )
