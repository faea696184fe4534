"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_step_decorator.py``
(v2; ``sagemaker-mlops/tests/integ/workflow/test_step_decorator.py`` in v3 asserts the same).

``@step`` functions run as Training jobs whose image (the SDK's ECR "dummy container") the
server's ``[images]`` table maps to this interpreter. Facts pinned: the listing's newest step
first with its status; a function's result; pipeline parameters of every type reaching a
function with their types; a raising function's step FailureReason
``ClientError: AlgorithmError: RuntimeError('...')``; a tampered payload failing the SDK's
integrity check; a condition on function results, its Fail branch never listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sagemaker.remote_function.core.serialization import CloudpickleSerializer
from sagemaker.remote_function.errors import RemoteFunctionError
from sagemaker.s3 import S3Uploader
from sagemaker.s3_utils import s3_path_join
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionLessThan
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.function_step import step
from sagemaker.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.step_outputs import get_step

from tests.sdk_integ.helpers import (
    DeleteAtTeardown,
    ExecutePipeline,
    SklearnProcessorFactory,
    sklearn_process_step,
    wait_pipeline_execution,
)

INSTANCE_TYPE = "ml.m5.large"


def test_step_decorator_with_pipeline_parameters(
    sagemaker_session_for_pipeline: Any,
    pipeline_name: str,
    execute_pipeline: ExecutePipeline,
    step_settings: dict[str, Any],
) -> None:
    """SDK: test_step_decorator.py::test_step_decorator_with_pipeline_parameters"""
    instance_type = ParameterString(name="TrainingInstanceCount", default_value=INSTANCE_TYPE)

    @step(**step_settings | {"instance_type": instance_type})
    def sum(a: int, b: int) -> int:  # the SDK test's name, which the step name carries
        return a + b

    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[instance_type],
        steps=[sum(2, 3)],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    execute_pipeline(
        pipeline,
        no_of_steps=1,
        last_step_name_prefix="sum",
        execution_parameters={"TrainingInstanceCount": "ml.m5.xlarge"},
        step_status="Succeeded",
        step_result_type=int,
        step_result_value=5,
    )


def test_passing_different_pipeline_variables_to_function(
    sagemaker_session_for_pipeline: Any,
    pipeline_name: str,
    execute_pipeline: ExecutePipeline,
    step_settings: dict[str, Any],
    sklearn_processor: SklearnProcessorFactory,
    data_dir: Path,
) -> None:
    """SDK: test_step_decorator.py::test_passing_different_pipeline_variables_to_function"""
    param_a = ParameterInteger(name="param_a", default_value=2)
    param_b = ParameterBoolean(name="param_b", default_value=True)
    param_c = ParameterFloat(name="param_c", default_value=2.0)
    param_d = ParameterString(name="param_d", default_value="string")
    processor = sklearn_processor(sagemaker_session_for_pipeline, INSTANCE_TYPE, 1)
    step_sklearn = sklearn_process_step(processor, data_dir)

    @step(**step_settings)
    def func_1() -> tuple[Any, ...]:
        return 1, 2, {"key": 3}

    @step(**step_settings)
    def func_2(*args: Any) -> tuple[Any, ...]:
        return args

    first_output = func_1()
    final_output = func_2(
        param_a,
        param_b,
        param_c,
        param_d,
        step_sklearn.properties.ProcessingJobStatus,
        first_output[2]["key"],
    )
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[param_a, param_b, param_c, param_d],
        steps=[final_output],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    execute_pipeline(
        pipeline,
        no_of_steps=3,
        last_step_name_prefix="func",
        execution_parameters={"param_a": 3},
        step_status="Succeeded",
        step_result_type=tuple,
        step_result_value=(3, True, 2.0, "string", "Completed", 3),
    )


def test_decorator_step_failed(
    sagemaker_session_for_pipeline: Any,
    pipeline_name: str,
    execute_pipeline: ExecutePipeline,
    step_settings: dict[str, Any],
) -> None:
    """SDK: test_step_decorator.py::test_decorator_step_failed (the step fails; the SDK's
    ``execution.result`` then refuses: the job is not Completed)."""

    @step(**step_settings)
    def divide(x: float, y: float) -> float:
        return x / y

    pipeline = Pipeline(
        name=pipeline_name, steps=[divide(10, 0)], sagemaker_session=sagemaker_session_for_pipeline
    )
    execution, execution_steps = execute_pipeline(
        pipeline,
        no_of_steps=1,
        last_step_name_prefix="divide",
        execution_parameters={},
        step_status="Failed",
    )
    assert "ZeroDivisionError" in execution_steps[0]["FailureReason"]
    step_name = execution_steps[0]["StepName"]
    with pytest.raises(RemoteFunctionError, match=f"step {step_name} is not in Completed status"):
        execution.result(step_name)


def test_decorator_step_with_json_get(
    sagemaker_session_for_pipeline: Any,
    pipeline_name: str,
    execute_pipeline: ExecutePipeline,
    step_settings: dict[str, Any],
) -> None:
    """SDK: test_step_decorator.py::test_decorator_step_with_json_get"""

    @step(name="step1", **step_settings)
    def func1() -> tuple[int, int]:
        return 0, 1

    @step(name="step2", **step_settings)
    def func2() -> int:
        return 2

    @step(name="step3", **step_settings)
    def func3() -> int:
        return 3

    step_output1, step_output2, step_output3 = func1(), func2(), func3()
    cond_step = ConditionStep(
        name="MyConditionStep",
        conditions=[ConditionLessThan(left=step_output1[1], right=step_output2)],
        if_steps=[],
        else_steps=[FailStep(name="MyFailStep", error_message="Failed due to hitting in else branch")],
        depends_on=[step_output3],
    )
    pipeline = Pipeline(
        name=pipeline_name, steps=[cond_step], sagemaker_session=sagemaker_session_for_pipeline
    )
    execute_pipeline(
        pipeline,
        no_of_steps=4,  # the FailStep in the else branch is not executed, nor listed
        last_step_name_prefix="MyConditionStep",
        execution_parameters={},
        step_status="Succeeded",
    )


def test_decorator_step_checksum_mismatch(
    sagemaker_session_for_pipeline: Any,
    step_settings: dict[str, Any],
    pipeline_name: str,
    role: str,
    delete_at_teardown: DeleteAtTeardown,
) -> None:
    """SDK: test_step_decorator.py::test_decorator_step_checksum_mismatch"""
    step_name = "original_func_step"

    @step(name=step_name, **step_settings)
    def original_func(x: int) -> int:
        return x * x

    def updated_func(x: int) -> int:
        return x + 25

    pipeline = delete_at_teardown(
        Pipeline(
            name=pipeline_name, steps=[original_func(10)], sagemaker_session=sagemaker_session_for_pipeline
        )
    )
    pipeline.create(role)
    definition = json.loads(pipeline.describe()["PipelineDefinition"])
    args = definition["Steps"][0]["Arguments"]["AlgorithmSpecification"]["ContainerArguments"]
    s3_base_uri = args[args.index("--s3_base_uri") + 1]
    build_time = args[args.index("--func_step_s3_dir") + 1]
    # some other user updates the pickled function code
    S3Uploader.upload_bytes(
        CloudpickleSerializer.serialize(updated_func),
        s3_path_join(s3_base_uri, step_name, build_time, "function", "payload.pkl"),
        kms_key=None,
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    execution = pipeline.start()
    wait_pipeline_execution(execution)
    execution_steps = execution.list_steps()
    assert execution_steps[0]["StepStatus"] == "Failed"
    assert "Integrity check for the serialized function or data failed" in execution_steps[0]["FailureReason"]


def test_with_user_and_workdir_set_in_the_image_client_error_case(
    sagemaker_session_for_pipeline: Any,
    pipeline_name: str,
    execute_pipeline: ExecutePipeline,
    step_settings: dict[str, Any],
) -> None:
    """SDK: test_step_decorator.py::test_with_user_and_workdir_set_in_the_image_client_error_case
    (the SDK's image sets a user and workdir; the fact is the FailureReason's shape)."""
    client_error_message = "Testing client error in job."

    @step(**step_settings)
    def my_func() -> None:
        raise RuntimeError(client_error_message)

    step_a = my_func()
    pipeline = Pipeline(name=pipeline_name, steps=[step_a], sagemaker_session=sagemaker_session_for_pipeline)
    _, execution_steps = execute_pipeline(
        pipeline,
        no_of_steps=1,
        last_step_name_prefix=get_step(step_a).name,
        execution_parameters={},
        step_status="Failed",
    )
    assert (
        f"ClientError: AlgorithmError: RuntimeError('{client_error_message}')"
        in execution_steps[0]["FailureReason"]
    )
