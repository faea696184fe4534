"""Our equivalents of the SDK's ``tests/integ/sagemaker/workflow/helpers.py``: the same waits and
the same assertions about the service, with a poll deadline sized for local jobs."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import WaiterError
from sagemaker.processing import ProcessingInput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.pipeline import Pipeline, _PipelineExecution
from sagemaker.workflow.selective_execution_config import SelectiveExecutionConfig
from sagemaker.workflow.steps import ProcessingStep

# The SDK's tests/data/dummy_input.txt is empty. An empty PutObject (botocore sends "Expect:
# 100-continue") currently hangs against `pipelines serve` on waitress until the client's read
# timeout; that is a server defect to fix, not a fact of the service, so these inputs hold a line.
DUMMY_INPUT = "dummy input\n"

# The ``execute_pipeline`` fixture: create_and_execute_pipeline(pipeline, **expected) bound to a test.
ExecutePipeline = Callable[..., tuple[_PipelineExecution, list[dict[str, Any]]]]
# The ``delete_at_teardown`` fixture: hands the pipeline back, deletes it when the test ends.
DeleteAtTeardown = Callable[[Pipeline], Pipeline]
# The ``sklearn_processor`` fixture: (session, instance_type, instance_count) -> the SDK tests' processor.
SklearnProcessorFactory = Callable[[Any, str, Any], SKLearnProcessor]


def wait_pipeline_execution(execution: _PipelineExecution, delay: int = 1, max_attempts: int = 240) -> None:
    """The SDK's own waiter (DescribePipelineExecution until a final status); like the SDK's
    helper, a timeout is left to the assertions that follow."""
    with contextlib.suppress(WaiterError):
        execution.wait(delay=delay, max_attempts=max_attempts)


def delete_quietly(pipeline: Pipeline) -> None:
    """The SDK's tests end with ``try: pipeline.delete() except Exception: pass``, so a failed
    create does not hide the assertion that failed."""
    with contextlib.suppress(Exception):
        pipeline.delete()


def assert_pipeline_arn(arn: str, region_name: str, pipeline_name: str) -> None:
    """The SDK tests' check of a CreatePipeline/UpdatePipeline ARN: the region the client called,
    a 12-digit account and the pipeline's name with its letter case."""
    assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", arn), arn


def create_start_and_wait(
    pipeline: Pipeline, role: str, parameters: dict[str, Any] | None = None
) -> tuple[_PipelineExecution, list[dict[str, Any]]]:
    """CreatePipeline, StartPipelineExecution (``parameters`` as given: None sends none) and the
    SDK's wait; the execution, which names the created pipeline, and its steps, newest first."""
    pipeline_arn = pipeline.create(role)["PipelineArn"]
    execution = pipeline.start(parameters=parameters)
    assert execution.describe()["PipelineArn"] == pipeline_arn
    wait_pipeline_execution(execution)
    return execution, execution.list_steps()


def dummy_input(data_dir: Path) -> ProcessingInput:
    """The SDK tests' ``dummy_input.txt`` as a Processing input."""
    return ProcessingInput(source=str(data_dir / "dummy_input.txt"), destination="/opt/ml/processing/inputs/")


def sklearn_process_step(processor: SKLearnProcessor, data_dir: Path, **options: Any) -> ProcessingStep:
    """The SDK tests' ``sklearn-process`` step: ``processor`` running ``dummy_script.py``."""
    return ProcessingStep(
        name="sklearn-process", processor=processor, code=str(data_dir / "dummy_script.py"), **options
    )


def step_result(execution: _PipelineExecution, step_name: str) -> Any:
    """A ``@step`` function's return value, as the SDK's test reads it: ``execution.result()``
    (DescribeTrainingJob for the output path, then the pickled payload from S3)."""
    return execution.result(step_name)


def create_and_execute_pipeline(
    pipeline: Pipeline,
    pipeline_name: str,
    region_name: str,
    role: str,
    no_of_steps: int,
    last_step_name_prefix: str,
    execution_parameters: dict[str, Any],
    step_status: str,
    step_result_type: type | None = None,
    step_result_value: Any = None,
    selective_execution_config: SelectiveExecutionConfig | None = None,
) -> tuple[_PipelineExecution, list[dict[str, Any]]]:
    """The SDK helper's assertions: CreatePipeline's ARN format, the execution's PipelineArn,
    the number of listed steps, the newest step first with its status, the function's result,
    and each unselected step's SelectiveExecutionResult."""
    create_arn = None
    if not selective_execution_config:
        create_arn = pipeline.create(role)["PipelineArn"]
        assert_pipeline_arn(create_arn, region_name, pipeline_name)

    execution = pipeline.start(
        parameters=execution_parameters, selective_execution_config=selective_execution_config
    )
    if create_arn:
        assert execution.describe()["PipelineArn"] == create_arn

    wait_pipeline_execution(execution)
    execution_steps = execution.list_steps()
    assert len(execution_steps) == no_of_steps, f"expected {no_of_steps} steps, got {execution_steps}"
    assert last_step_name_prefix in execution_steps[0]["StepName"]
    assert execution_steps[0]["StepStatus"] == step_status, execution_steps[0].get("FailureReason")
    if step_result_type or step_result_value is not None:
        result = step_result(execution, execution_steps[0]["StepName"])
        if step_result_type:
            assert isinstance(result, step_result_type)
        if step_result_value is not None:
            assert result == step_result_value
    if selective_execution_config:
        for step in execution_steps:
            if step["StepName"] in selective_execution_config.selected_steps:
                continue
            assert (
                step["SelectiveExecutionResult"]["SourcePipelineExecutionArn"]
                == selective_execution_config.source_pipeline_execution_arn
            )
    return execution, execution_steps
