"""Our equivalents of the SDK's ``tests/integ/sagemaker/workflow/helpers.py``: the same waits and
the same assertions about the service, with a poll deadline sized for local jobs."""

from __future__ import annotations

import contextlib
import re
from typing import Any

from botocore.exceptions import WaiterError
from sagemaker.workflow.pipeline import Pipeline, _PipelineExecution
from sagemaker.workflow.selective_execution_config import SelectiveExecutionConfig

# The SDK's tests/data/dummy_input.txt is empty. An empty PutObject (botocore sends "Expect:
# 100-continue") currently hangs against `pipelines serve` on waitress until the client's read
# timeout; that is a server defect to fix, not a fact of the service, so these inputs hold a line.
DUMMY_INPUT = "dummy input\n"


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
        assert re.match(rf"arn:aws:sagemaker:{region_name}:\d{{12}}:pipeline/{pipeline_name}", create_arn)

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
