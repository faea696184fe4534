"""Equivalent of sagemaker-python-sdk
``tests/integ/sagemaker/workflow/test_retry.py::test_pipeline_execution_processing_step_with_retry``,
without the Athena dataset input (it needs a real Athena workgroup).

Facts: a ProcessingStep with a StepRetryPolicy (SERVICE_FAULT, THROTTLING, ExpireAfterMin) and a
SageMakerJobStepRetryPolicy (CAPACITY_ERROR, MaxAttempts 10) is accepted by CreatePipeline and
runs; the execution lists that one step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sagemaker.processing import ProcessingInput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.steps import ProcessingStep

from tests.sdk_integ.helpers import delete_quietly, wait_pipeline_execution


def test_pipeline_execution_processing_step_with_retry(
    sagemaker_session_for_pipeline: Any,
    role: str,
    sklearn_latest_version: str,
    cpu_instance_type: str,
    data_dir: Path,
) -> None:
    """SDK: test_retry.py::test_pipeline_execution_processing_step_with_retry"""
    instance_count = ParameterInteger(name="InstanceCount", default_value=2)
    step_sklearn = ProcessingStep(
        name="sklearn-process",
        processor=SKLearnProcessor(
            framework_version=sklearn_latest_version,
            role=role,
            instance_type=cpu_instance_type,
            instance_count=instance_count,
            command=["python3"],
            sagemaker_session=sagemaker_session_for_pipeline,
            base_job_name="test-sklearn",
        ),
        inputs=[
            ProcessingInput(
                source=str(data_dir / "dummy_input.txt"), destination="/opt/ml/processing/inputs/"
            )
        ],
        code=str(data_dir / "dummy_script.py"),
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
        name=f"my-pipeline-{int(time.time() * 10**7)}",
        parameters=[instance_count],
        steps=[step_sklearn],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    try:
        pipeline.create(role)
        execution = pipeline.start(parameters={})
        wait_pipeline_execution(execution)
        execution_steps = execution.list_steps()
        assert len(execution_steps) == 1
        assert execution_steps[0]["StepName"] == "sklearn-process"
        assert execution_steps[0]["StepStatus"] == "Succeeded", execution_steps[0].get("FailureReason")
        assert execution_steps[0]["AttemptCount"] == 1
    finally:
        delete_quietly(pipeline)
