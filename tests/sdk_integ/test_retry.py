"""Equivalent of sagemaker-python-sdk
``tests/integ/sagemaker/workflow/test_retry.py::test_pipeline_execution_processing_step_with_retry``,
without the Athena dataset input (it needs a real Athena workgroup).

Facts: a ProcessingStep with a StepRetryPolicy (SERVICE_FAULT, THROTTLING, ExpireAfterMin) and a
SageMakerJobStepRetryPolicy (CAPACITY_ERROR, MaxAttempts 10) is accepted by CreatePipeline and
runs; the execution lists that one step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)

from tests.sdk_integ.helpers import (
    DeleteAtTeardown,
    SklearnProcessorFactory,
    create_start_and_wait,
    dummy_input,
    sklearn_process_step,
)


def test_pipeline_execution_processing_step_with_retry(
    sagemaker_session_for_pipeline: Any,
    role: str,
    pipeline_name: str,
    sklearn_processor: SklearnProcessorFactory,
    cpu_instance_type: str,
    data_dir: Path,
    delete_at_teardown: DeleteAtTeardown,
) -> None:
    """SDK: test_retry.py::test_pipeline_execution_processing_step_with_retry"""
    instance_count = ParameterInteger(name="InstanceCount", default_value=2)
    step_sklearn = sklearn_process_step(
        sklearn_processor(sagemaker_session_for_pipeline, cpu_instance_type, instance_count),
        data_dir,
        inputs=[dummy_input(data_dir)],
        retry_policies=[
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
                backoff_rate=2.0,
                interval_seconds=30,
                expire_after_mins=5,
            ),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], max_attempts=10
            ),
        ],
    )
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[instance_count],
        steps=[step_sklearn],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    _, execution_steps = create_start_and_wait(delete_at_teardown(pipeline), role, parameters={})
    assert len(execution_steps) == 1
    assert execution_steps[0]["StepName"] == "sklearn-process"
    assert execution_steps[0]["StepStatus"] == "Succeeded", execution_steps[0].get("FailureReason")
    assert execution_steps[0]["AttemptCount"] == 1
