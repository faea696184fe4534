"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_workflow.py``
(the cases that need no real AWS resources).

Facts pinned: a 2,000-step definition is accepted, described and updated; the pipeline's
ParallelismConfiguration is described as created and as upserted; the pipeline-level limit
holds when the start gives none, and a start's own limit overrides it; each upsert is a new
version (``latest_pipeline_version_id``), older versions stay describable, and
ListPipelineVersions lists them all. The SDK's parallelism tests run two Training steps; here
they are Callback steps, which stay Executing until answered, so what runs at once is exact.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sagemaker.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline

from tests.sdk_integ.helpers import DeleteAtTeardown, assert_pipeline_arn, wait_pipeline_execution

QUEUE = "https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue"


def callback_steps(count: int) -> list[CallbackStep]:
    output = CallbackOutput(output_name="output", output_type=CallbackOutputTypeEnum.String)
    return [
        CallbackStep(name=f"callback-step{n}", sqs_queue_url=QUEUE, inputs={"arg1": "foo"}, outputs=[output])
        for n in range(count)
    ]


def listed_when(execution: Any, predicate: Any, deadline_seconds: float = 30) -> list[dict[str, Any]]:
    """The execution's steps once ``predicate`` holds for them (the SDK retries with backoff)."""
    deadline = time.monotonic() + deadline_seconds
    steps = execution.list_steps()
    while not predicate(steps) and time.monotonic() < deadline:
        time.sleep(0.2)
        steps = execution.list_steps()
    return list(steps)


def answer_callbacks(session: Any, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        token = step["Metadata"]["Callback"]["CallbackToken"]
        session.sagemaker_client.send_pipeline_execution_step_success(
            CallbackToken=token, OutputParameters=[{"Name": "output", "Value": "done"}]
        )


def assert_succeeds(execution: Any) -> None:
    wait_pipeline_execution(execution)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"


def instance_count_pipeline(name: str, session: Any, step_count: int) -> Pipeline:
    """The SDK tests' pipeline of ``step_count`` steps with an ``InstanceCount`` parameter (2),
    which they then update to 1."""
    return Pipeline(
        name=name,
        parameters=[ParameterInteger(name="InstanceCount", default_value=2)],
        steps=callback_steps(step_count),
        sagemaker_session=session,
    )


def test_large_pipeline(
    sagemaker_session_for_pipeline: Any,
    role: str,
    pipeline_name: str,
    region_name: str,
    delete_at_teardown: DeleteAtTeardown,
) -> None:
    """SDK: test_workflow.py::test_large_pipeline"""
    pipeline = delete_at_teardown(
        instance_count_pipeline(pipeline_name, sagemaker_session_for_pipeline, 2000)
    )
    assert_pipeline_arn(pipeline.create(role)["PipelineArn"], region_name, pipeline_name)
    assert len(json.loads(pipeline.describe()["PipelineDefinition"])["Steps"]) == 2000
    pipeline.parameters = [ParameterInteger(name="InstanceCount", default_value=1)]
    assert_pipeline_arn(pipeline.update(role)["PipelineArn"], region_name, pipeline_name)


def test_create_and_update_with_parallelism_config(
    sagemaker_session_for_pipeline: Any,
    role: str,
    pipeline_name: str,
    region_name: str,
    delete_at_teardown: DeleteAtTeardown,
) -> None:
    """SDK: test_workflow.py::test_create_and_update_with_parallelism_config"""
    pipeline = delete_at_teardown(instance_count_pipeline(pipeline_name, sagemaker_session_for_pipeline, 500))
    created = pipeline.create(role, parallelism_config={"MaxParallelExecutionSteps": 50})
    assert_pipeline_arn(created["PipelineArn"], region_name, pipeline_name)
    assert pipeline.describe()["ParallelismConfiguration"]["MaxParallelExecutionSteps"] == 50
    pipeline.parameters = [ParameterInteger(name="InstanceCount", default_value=1)]
    updated = pipeline.upsert(role, parallelism_config={"MaxParallelExecutionSteps": 55})
    assert_pipeline_arn(updated["PipelineArn"], region_name, pipeline_name)
    assert pipeline.describe()["ParallelismConfiguration"]["MaxParallelExecutionSteps"] == 55


@pytest.fixture
def one_at_a_time(
    pipeline_session: Any, role: str, pipeline_name: str, delete_at_teardown: DeleteAtTeardown
) -> Pipeline:
    """Both parallelism-override tests' pipeline: two Callback steps, created with a pipeline-level
    limit of one step at a time."""
    pipeline = delete_at_teardown(
        Pipeline(name=pipeline_name, steps=callback_steps(2), sagemaker_session=pipeline_session)
    )
    pipeline.create(role, parallelism_config={"MaxParallelExecutionSteps": 1})
    return pipeline


def test_create_and_start_without_parallelism_config_override(
    pipeline_session: Any, one_at_a_time: Pipeline
) -> None:
    """SDK: test_workflow.py::test_create_and_start_without_parallelism_config_override"""
    execution = one_at_a_time.start()  # no limit given: the pipeline's holds
    first = listed_when(execution, lambda steps: len(steps) >= 1)
    time.sleep(1)  # a second step, if the limit did not hold, would be listed by now
    assert len(execution.list_steps()) == 1
    answer_callbacks(pipeline_session, first)
    second = listed_when(execution, lambda steps: len(steps) == 2)
    assert len(second) == 2
    answer_callbacks(pipeline_session, [s for s in second if s["StepName"] != first[0]["StepName"]])
    assert_succeeds(execution)


def test_create_and_start_with_parallelism_config_override(
    pipeline_session: Any, one_at_a_time: Pipeline
) -> None:
    """SDK: test_workflow.py::test_create_and_start_with_parallelism_config_override"""
    execution = one_at_a_time.start(parallelism_config={"MaxParallelExecutionSteps": 2})
    steps = listed_when(
        execution, lambda listed: len(listed) == 2 and all(s["StepStatus"] == "Executing" for s in listed)
    )
    assert len(steps) == 2
    assert {s["StepStatus"] for s in steps} == {"Executing"}
    answer_callbacks(pipeline_session, steps)
    assert_succeeds(execution)


def test_pipeline_versioning(
    pipeline_session: Any, role: str, pipeline_name: str, delete_at_teardown: DeleteAtTeardown
) -> None:
    """SDK: test_workflow.py::test_pipeline_versioning (with Callback steps for its Training steps)"""
    step1, step2 = callback_steps(2)
    pipeline = delete_at_teardown(
        Pipeline(name=pipeline_name, steps=[step1], sagemaker_session=pipeline_session)
    )
    pipeline.create(role)
    assert pipeline.latest_pipeline_version_id == 1
    assert len(json.loads(pipeline.describe(pipeline_version_id=1)["PipelineDefinition"])["Steps"]) == 1
    pipeline.steps.append(step2)
    pipeline.upsert(role)
    assert pipeline.latest_pipeline_version_id == 2
    assert len(json.loads(pipeline.describe(pipeline_version_id=2)["PipelineDefinition"])["Steps"]) == 2
    assert len(pipeline.list_pipeline_versions()["PipelineVersionSummaries"]) == 2
