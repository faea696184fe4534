"""@step function steps, generated with the real SDK and run through the embedded runtime.

The SDK uploads the pickled functions and arguments while building the definition; moto
catches those uploads and the test copies them into the local object store, where the
embedded runtime's S3 endpoint would have put them. The engine resolves each step's
arguments (the ``--property_references`` pairs included), the training runner runs the SDK's
own remote-function code, and a condition reads a function's result through ``JsonGet`` on
its ``results.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from pipelines.config import Config
from pipelines.engine import StartRequest
from pipelines.objects import LocalObjectStore
from pipelines.runners.jobs.function_step import parse_driver_arguments
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import ListQuery

from .sdk_offline import load_generate_v2

_SDK = load_generate_v2()
DEFAULT_BUCKET, PYTHON_IMAGE, ROLE_ARN, offline_sdk = (
    _SDK.DEFAULT_BUCKET,
    _SDK.PYTHON_IMAGE,
    _SDK.ROLE_ARN,
    _SDK.offline_sdk,
)
PIPELINE = "LocalFunctions"


def _build(workdir: Path, objects: LocalObjectStore) -> str:
    """MakeNumbers -> SumNumbers (a result and a parameter) -> a condition on that result ->
    Explode (raises) or TooSmall (a Fail step)."""
    requirements = workdir / "requirements.txt"
    workdir.mkdir(parents=True, exist_ok=True)
    requirements.write_text("")
    with offline_sdk(workdir) as session:
        from sagemaker.workflow.condition_step import ConditionStep
        from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
        from sagemaker.workflow.fail_step import FailStep
        from sagemaker.workflow.function_step import step
        from sagemaker.workflow.parameters import ParameterInteger
        from sagemaker.workflow.pipeline import Pipeline

        settings: dict[str, Any] = {
            "image_uri": PYTHON_IMAGE,
            "instance_type": "ml.m5.large",
            "role": ROLE_ARN,
            "dependencies": str(requirements),
        }
        scale = ParameterInteger(name="Scale", default_value=3)

        @step(name="MakeNumbers", **settings)
        def make_numbers(count: int) -> dict[str, Any]:
            import os

            return {"numbers": list(range(count)), "model_dir": os.environ["SM_MODEL_DIR"]}

        @step(name="SumNumbers", **settings)
        def sum_numbers(made: dict[str, Any], factor: int) -> int:
            return sum(made["numbers"]) * factor

        @step(name="Explode", **settings)
        def explode(total: int) -> None:
            raise ValueError(f"refusing {total}")

        total = sum_numbers(make_numbers(5), scale)
        check = ConditionStep(
            name="BigEnough",
            conditions=[ConditionGreaterThanOrEqualTo(left=total, right=10)],
            if_steps=[explode(total)],
            else_steps=[FailStep(name="TooSmall", error_message="total below 10")],
        )
        pipeline = Pipeline(name=PIPELINE, parameters=[scale], steps=[check], sagemaker_session=session)
        definition = str(pipeline.definition())
        s3 = session.boto_session.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=DEFAULT_BUCKET):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=DEFAULT_BUCKET, Key=item["Key"])["Body"].read()
                objects.put(f"s3://{DEFAULT_BUCKET}/{item['Key']}", body)
    return definition


@pytest.fixture(scope="module")
def function_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the pipeline (each job imports the SDK, which takes seconds: tests share it)."""
    root = tmp_path_factory.mktemp("function_steps")
    objects = LocalObjectStore(root / "objects")
    definition = _build(root / "sdk", objects)
    config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root)
    runtime = EmbeddedRuntime(config, poll_interval=0.05)
    assert runtime.registry.unsupported_steps(_parsed(definition), config) == []
    record = runtime.run(definition, StartRequest(pipeline_name=PIPELINE))
    steps = {s.step_name: s for s in runtime.store.list_steps(record.execution_id, ListQuery()).items}
    return {"record": record, "steps": steps, "objects": objects}


def _parsed(definition: str) -> Any:
    from pipelines.definition.models import PipelineDefinition

    return PipelineDefinition.model_validate_json(definition)


def test_step_functions_chain_results_and_feed_a_condition(function_run: dict[str, Any]) -> None:
    steps, objects = function_run["steps"], function_run["objects"]
    execution_id = function_run["record"].execution_id
    assert {name: s.status for name, s in steps.items()} == {
        "MakeNumbers": "Succeeded",
        "SumNumbers": "Succeeded",
        "BigEnough": "Succeeded",
        "Explode": "Failed",
    }
    assert steps["BigEnough"].properties == {"Outcome": True}  # JsonGet on SumNumbers' results.json
    for name in ("MakeNumbers", "SumNumbers"):
        properties = steps[name].properties
        assert steps[name].metadata == {"TrainingJob": {"Arn": properties["TrainingJobArn"]}}

    output_path = steps["SumNumbers"].properties["OutputDataConfig"]["S3OutputPath"]
    assert output_path == f"s3://{DEFAULT_BUCKET}/{PIPELINE}/{execution_id}/SumNumbers/results"
    # results.json is what JsonGet(S3Uri=...) on a @step output reads
    assert json.loads(objects.get(f"{output_path}/results.json")) == {"Result": 30, "Exception": None}
    # the pickled result is what execution.result(step) deserialises
    assert cloudpickle.loads(objects.get(f"{output_path}/payload.pkl")) == 30
    made = cloudpickle.loads(
        objects.get(f"s3://{DEFAULT_BUCKET}/{PIPELINE}/{execution_id}/MakeNumbers/results/payload.pkl")
    )
    assert made == {"numbers": [0, 1, 2, 3, 4], "model_dir": "/opt/ml/model"}


def test_a_raising_function_fails_the_step_with_its_exception(function_run: dict[str, Any]) -> None:
    record, steps, objects = function_run["record"], function_run["steps"], function_run["objects"]
    assert record.status == "Failed"
    reason = steps["Explode"].failure_reason
    assert "step Explode (training job" in reason
    assert "ValueError('refusing 30')" in reason
    exception_uri = f"s3://{DEFAULT_BUCKET}/{PIPELINE}/{record.execution_id}/Explode/exception/payload.pkl"
    assert isinstance(cloudpickle.loads(objects.get(exception_uri)), ValueError)


def test_driver_arguments_keep_property_reference_pairs() -> None:
    parsed = parse_driver_arguments(
        [
            "--s3_base_uri",
            "s3://b/p",
            "--property_references",
            "Parameters.A",
            "1",
            "Steps.X.Y",
            "s3://b/r",
            "--serialize_output_to_json",
            "true",
        ]
    )
    assert parsed["property_references"] == {"Parameters.A": "1", "Steps.X.Y": "s3://b/r"}
    assert parsed["serialize_output_to_json"] == "true"
