"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_selective_execution.py``.

Facts pinned: a selective execution lists every step of the closure (``no_of_steps=2``), the
unselected ones with ``SelectiveExecutionResult.SourcePipelineExecutionArn`` naming the
reference execution; selected ``@step`` functions read the reference's outputs and return the
same result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sagemaker.workflow.function_step import step
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.selective_execution_config import SelectiveExecutionConfig
from sagemaker.workflow.step_outputs import get_step
from sagemaker.workflow.steps import ProcessingStep

from tests.sdk_integ.helpers import (
    ExecutePipeline,
    SklearnProcessorFactory,
    dummy_input,
    sklearn_process_step,
)

INSTANCE_TYPE = "ml.m5.large"


RunTwice = Callable[..., None]


@pytest.fixture
def run_twice(pipeline_name: str, execute_pipeline: ExecutePipeline) -> RunTwice:
    """Runs the pipeline of ``final_step`` (with ``session``) in full, then selectively, only
    ``selected``, referencing the first execution: both list the two steps and meet ``expected``."""

    def run(session: Any, final_step: Any, selected: str, **expected: Any) -> None:
        pipeline = Pipeline(name=pipeline_name, steps=[final_step], sagemaker_session=session)
        execution, _ = execute_pipeline(
            pipeline, no_of_steps=2, execution_parameters={}, step_status="Succeeded", **expected
        )
        execute_pipeline(
            pipeline,
            no_of_steps=2,
            execution_parameters={},
            step_status="Succeeded",
            selective_execution_config=SelectiveExecutionConfig(
                source_pipeline_execution_arn=execution.arn, selected_steps=[selected]
            ),
            **expected,
        )

    return run


def test_selective_execution_among_pure_function_steps(
    sagemaker_session_for_pipeline: Any,
    run_twice: RunTwice,
    step_settings: dict[str, Any],
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_among_pure_function_steps"""

    @step(**step_settings)
    def generator() -> tuple[int, int]:
        return 3, 4

    @step(**step_settings)
    def sum(a: int, b: int) -> int:  # the SDK test's name, which the step name carries
        return a + b

    step_output_a = generator()
    step_output_b = sum(step_output_a[0], step_output_a[1])
    run_twice(
        sagemaker_session_for_pipeline,
        step_output_b,
        get_step(step_output_b).name,
        last_step_name_prefix="sum",
        step_result_type=int,
        step_result_value=7,
    )


def test_selective_execution_of_regular_step_referenced_by_function_step(
    sagemaker_session_for_pipeline: Any,
    run_twice: RunTwice,
    step_settings: dict[str, Any],
    sklearn_processor: SklearnProcessorFactory,
    data_dir: Path,
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_of_regular_step_referenced_by_function_step"""
    processor = sklearn_processor(sagemaker_session_for_pipeline, INSTANCE_TYPE, 1)
    step_sklearn = sklearn_process_step(processor, data_dir)

    @step(**step_settings)
    def func_2(arg: Any) -> Any:
        return arg

    final_output = func_2(step_sklearn.properties.ProcessingJobStatus)
    run_twice(
        sagemaker_session_for_pipeline,
        final_output,
        get_step(final_output).name,
        last_step_name_prefix="func",
        step_result_type=str,
        step_result_value="Completed",
    )


def test_selective_execution_of_function_step_referenced_by_regular_step(
    pipeline_session: Any,
    run_twice: RunTwice,
    step_settings: dict[str, Any],
    sklearn_processor: SklearnProcessorFactory,
    data_dir: Path,
) -> None:
    """SDK: test_selective_execution.py::test_selective_execution_of_function_step_referenced_by_regular_step
    (its last check, InstanceCount read back with DescribeProcessingJob, is not repeated here)."""

    @step(name="step1", **step_settings)
    def func(var: int) -> tuple[int, int]:
        return 1, var

    step_output = func(2)
    processor = sklearn_processor(pipeline_session, INSTANCE_TYPE, step_output[1])
    process_step = ProcessingStep(
        name="MyProcessStep",
        step_args=processor.run(inputs=[dummy_input(data_dir)], code=str(data_dir / "dummy_script.py")),
    )
    run_twice(pipeline_session, process_step, process_step.name, last_step_name_prefix=process_step.name)
