"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_selective_execution.py``.

Facts pinned: a selective execution lists every step of the closure (``no_of_steps=2``), the
unselected ones with ``SelectiveExecutionResult.SourcePipelineExecutionArn`` naming the
reference execution; selected ``@step`` functions read the reference's outputs and return the
same result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sagemaker import utils
from sagemaker.processing import ProcessingInput
from sagemaker.sklearn import SKLearnProcessor
from sagemaker.workflow.function_step import step
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.selective_execution_config import SelectiveExecutionConfig
from sagemaker.workflow.step_outputs import get_step
from sagemaker.workflow.steps import ProcessingStep

from tests.sdk_integ.helpers import create_and_execute_pipeline, delete_quietly

INSTANCE_TYPE = "ml.m5.large"


@pytest.fixture
def pipeline_name() -> str:
    return utils.unique_name_from_base("Selective-Pipeline")


def _run_twice(
    pipeline: Pipeline, name: str, region_name: str, role: str, selected: str, **expected: Any
) -> None:
    execution, _ = create_and_execute_pipeline(
        pipeline=pipeline,
        pipeline_name=name,
        region_name=region_name,
        role=role,
        no_of_steps=2,
        execution_parameters={},
        step_status="Succeeded",
        **expected,
    )
    create_and_execute_pipeline(
        pipeline=pipeline,
        pipeline_name=name,
        region_name=region_name,
        role=role,
        no_of_steps=2,
        execution_parameters={},
        step_status="Succeeded",
        selective_execution_config=SelectiveExecutionConfig(
            source_pipeline_execution_arn=execution.arn, selected_steps=[selected]
        ),
        **expected,
    )


def test_selective_execution_among_pure_function_steps(
    sagemaker_session_for_pipeline: Any,
    role: str,
    pipeline_name: str,
    region_name: str,
    dummy_container_without_error: str,
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_among_pure_function_steps"""
    settings = {"role": role, "instance_type": INSTANCE_TYPE, "image_uri": dummy_container_without_error}

    @step(**settings)
    def generator() -> tuple[int, int]:
        return 3, 4

    @step(**settings)
    def sum(a: int, b: int) -> int:  # the SDK test's name, which the step name carries
        return a + b

    step_output_a = generator()
    step_output_b = sum(step_output_a[0], step_output_a[1])
    pipeline = Pipeline(
        name=pipeline_name, steps=[step_output_b], sagemaker_session=sagemaker_session_for_pipeline
    )
    try:
        _run_twice(
            pipeline,
            pipeline_name,
            region_name,
            role,
            get_step(step_output_b).name,
            last_step_name_prefix="sum",
            step_result_type=int,
            step_result_value=7,
        )
    finally:
        delete_quietly(pipeline)


def test_selective_execution_of_regular_step_referenced_by_function_step(
    sagemaker_session_for_pipeline: Any,
    role: str,
    pipeline_name: str,
    region_name: str,
    dummy_container_without_error: str,
    sklearn_latest_version: str,
    data_dir: Path,
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_of_regular_step_referenced_by_function_step"""
    step_sklearn = ProcessingStep(
        name="sklearn-process",
        processor=SKLearnProcessor(
            framework_version=sklearn_latest_version,
            role=role,
            instance_type=INSTANCE_TYPE,
            instance_count=1,
            command=["python3"],
            sagemaker_session=sagemaker_session_for_pipeline,
            base_job_name="test-sklearn",
        ),
        code=str(data_dir / "dummy_script.py"),
    )

    @step(role=role, instance_type=INSTANCE_TYPE, image_uri=dummy_container_without_error)
    def func_2(arg: Any) -> Any:
        return arg

    final_output = func_2(step_sklearn.properties.ProcessingJobStatus)
    pipeline = Pipeline(
        name=pipeline_name, steps=[final_output], sagemaker_session=sagemaker_session_for_pipeline
    )
    try:
        _run_twice(
            pipeline,
            pipeline_name,
            region_name,
            role,
            get_step(final_output).name,
            last_step_name_prefix="func",
            step_result_type=str,
            step_result_value="Completed",
        )
    finally:
        delete_quietly(pipeline)


def test_selective_execution_of_function_step_referenced_by_regular_step(
    pipeline_session: Any,
    role: str,
    pipeline_name: str,
    region_name: str,
    dummy_container_without_error: str,
    sklearn_latest_version: str,
    data_dir: Path,
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_of_function_step_referenced_by_regular_step
    (its last check, InstanceCount read back with DescribeProcessingJob, is not repeated here)."""

    @step(name="step1", role=role, image_uri=dummy_container_without_error, instance_type=INSTANCE_TYPE)
    def func(var: int) -> tuple[int, int]:
        return 1, var

    step_output = func(2)
    processor = SKLearnProcessor(
        framework_version=sklearn_latest_version,
        role=role,
        instance_type=INSTANCE_TYPE,
        instance_count=step_output[1],
        command=["python3"],
        sagemaker_session=pipeline_session,
        base_job_name="test-sklearn",
    )
    process_step = ProcessingStep(
        name="MyProcessStep",
        step_args=processor.run(
            inputs=[
                ProcessingInput(
                    source=str(data_dir / "dummy_input.txt"), destination="/opt/ml/processing/inputs/"
                )
            ],
            code=str(data_dir / "dummy_script.py"),
        ),
    )
    pipeline = Pipeline(name=pipeline_name, steps=[process_step], sagemaker_session=pipeline_session)
    try:
        _run_twice(
            pipeline,
            pipeline_name,
            region_name,
            role,
            process_step.name,
            last_step_name_prefix=process_step.name,
        )
    finally:
        delete_quietly(pipeline)
