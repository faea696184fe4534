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
import re
import time
from typing import Any

import pytest
from sagemaker.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline

from tests.sdk_integ.helpers import delete_quietly, wait_pipeline_execution

QUEUE = "https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue"


@pytest.fixture
def pipeline_name() -> str:
    return f"my-pipeline-{int(time.time() * 10**7)}"


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


def test_large_pipeline(
    sagemaker_session_for_pipeline: Any, role: str, pipeline_name: str, region_name: str
) -> None:
    """SDK: test_workflow.py::test_large_pipeline"""
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[ParameterInteger(name="InstanceCount", default_value=2)],
        steps=callback_steps(2000),
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    try:
        create_arn = pipeline.create(role)["PipelineArn"]
        assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", create_arn)
        assert len(json.loads(pipeline.describe()["PipelineDefinition"])["Steps"]) == 2000
        pipeline.parameters = [ParameterInteger(name="InstanceCount", default_value=1)]
        update_arn = pipeline.update(role)["PipelineArn"]
        assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", update_arn)
    finally:
        delete_quietly(pipeline)


def test_create_and_update_with_parallelism_config(
    sagemaker_session_for_pipeline: Any, role: str, pipeline_name: str, region_name: str
) -> None:
    """SDK: test_workflow.py::test_create_and_update_with_parallelism_config"""
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[ParameterInteger(name="InstanceCount", default_value=2)],
        steps=callback_steps(500),
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    try:
        create_arn = pipeline.create(role, parallelism_config={"MaxParallelExecutionSteps": 50})[
            "PipelineArn"
        ]
        assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", create_arn)
        assert pipeline.describe()["ParallelismConfiguration"]["MaxParallelExecutionSteps"] == 50
        pipeline.parameters = [ParameterInteger(name="InstanceCount", default_value=1)]
        update_arn = pipeline.upsert(role, parallelism_config={"MaxParallelExecutionSteps": 55})[
            "PipelineArn"
        ]
        assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", update_arn)
        assert pipeline.describe()["ParallelismConfiguration"]["MaxParallelExecutionSteps"] == 55
    finally:
        delete_quietly(pipeline)


def test_create_and_start_without_parallelism_config_override(
    pipeline_session: Any, role: str, pipeline_name: str
) -> None:
    """SDK: test_workflow.py::test_create_and_start_without_parallelism_config_override"""
    pipeline = Pipeline(name=pipeline_name, steps=callback_steps(2), sagemaker_session=pipeline_session)
    try:
        pipeline.create(role, parallelism_config={"MaxParallelExecutionSteps": 1})
        execution = pipeline.start()  # no limit given: the pipeline's holds
        first = listed_when(execution, lambda steps: len(steps) >= 1)
        time.sleep(1)  # a second step, if the limit did not hold, would be listed by now
        assert len(execution.list_steps()) == 1
        answer_callbacks(pipeline_session, first)
        second = listed_when(execution, lambda steps: len(steps) == 2)
        assert len(second) == 2
        answer_callbacks(pipeline_session, [s for s in second if s["StepName"] != first[0]["StepName"]])
        wait_pipeline_execution(execution)
        assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    finally:
        delete_quietly(pipeline)


def test_create_and_start_with_parallelism_config_override(
    pipeline_session: Any, role: str, pipeline_name: str
) -> None:
    """SDK: test_workflow.py::test_create_and_start_with_parallelism_config_override"""
    pipeline = Pipeline(name=pipeline_name, steps=callback_steps(2), sagemaker_session=pipeline_session)
    try:
        pipeline.create(role, parallelism_config={"MaxParallelExecutionSteps": 1})
        execution = pipeline.start(parallelism_config={"MaxParallelExecutionSteps": 2})
        steps = listed_when(
            execution, lambda listed: len(listed) == 2 and all(s["StepStatus"] == "Executing" for s in listed)
        )
        assert len(steps) == 2
        assert {s["StepStatus"] for s in steps} == {"Executing"}
        answer_callbacks(pipeline_session, steps)
        wait_pipeline_execution(execution)
        assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    finally:
        delete_quietly(pipeline)


def test_pipeline_versioning(pipeline_session: Any, role: str, pipeline_name: str) -> None:
    """SDK: test_workflow.py::test_pipeline_versioning (with Callback steps for its Training steps)"""
    step1, step2 = callback_steps(2)
    pipeline = Pipeline(name=pipeline_name, steps=[step1], sagemaker_session=pipeline_session)
    try:
        pipeline.create(role)
        assert pipeline.latest_pipeline_version_id == 1
        assert len(json.loads(pipeline.describe(pipeline_version_id=1)["PipelineDefinition"])["Steps"]) == 1
        pipeline.steps.append(step2)
        pipeline.upsert(role)
        assert pipeline.latest_pipeline_version_id == 2
        assert len(json.loads(pipeline.describe(pipeline_version_id=2)["PipelineDefinition"])["Steps"]) == 2
        assert len(pipeline.list_pipeline_versions()["PipelineVersionSummaries"]) == 2
    finally:
        delete_quietly(pipeline)
