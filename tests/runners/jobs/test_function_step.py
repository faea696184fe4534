"""@step function steps, generated with the real SDK and run by the local training runner.

The SDK uploads the pickled functions and arguments while building the definition; moto
catches those uploads and the test copies them into the local object store, where the
embedded runtime's S3 endpoint would have put them. Each step's Arguments are resolved with
the real expression evaluator, as the engine does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.expressions.context import EvaluationContext
from pipelines.expressions.evaluator import evaluate
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.jobs import AlgorithmError, TrainingRunner
from pipelines.runners.jobs.function_step import parse_driver_arguments
from pydantic import TypeAdapter

from .sdk_offline import load_generate_v2

_SDK = load_generate_v2()
DEFAULT_BUCKET, PYTHON_IMAGE, ROLE_ARN, offline_sdk = (
    _SDK.DEFAULT_BUCKET,
    _SDK.PYTHON_IMAGE,
    _SDK.ROLE_ARN,
    _SDK.offline_sdk,
)

EXECUTION_ID = "fnexec000001"
_STEP: TypeAdapter[Any] = TypeAdapter(Step)


def _build(workdir: Path, objects: LocalObjectStore) -> dict[str, Any]:
    """Two @step functions (the second consumes the first's result and a parameter) and one that raises."""
    requirements = workdir / "requirements.txt"
    workdir.mkdir(parents=True, exist_ok=True)
    requirements.write_text("")
    with offline_sdk(workdir) as session:
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

        made = make_numbers(5)
        total = sum_numbers(made, scale)
        pipeline = Pipeline(
            name="LocalFunctions",
            parameters=[scale],
            steps=[total, explode(total)],
            sagemaker_session=session,
        )
        definition = json.loads(pipeline.definition())
        s3 = session.boto_session.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=DEFAULT_BUCKET):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=DEFAULT_BUCKET, Key=item["Key"])["Body"].read()
                objects.put(f"s3://{DEFAULT_BUCKET}/{item['Key']}", body)
    return definition


@pytest.fixture(scope="module")
def function_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The SDK-built definition with its first two steps already run (each job imports the SDK,
    which takes seconds, so the tests share one run)."""
    root = tmp_path_factory.mktemp("function_steps")
    objects = LocalObjectStore(root / "objects")
    definition = _build(root / "sdk", objects)
    config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root)
    ctx = RunContext(config=config, objects=objects)
    steps = {s["Name"]: s for s in definition["Steps"]}
    properties: dict[str, Any] = {}
    results: dict[str, Any] = {}
    for name in ("MakeNumbers", "SumNumbers"):
        results[name] = _run(steps[name], properties, ctx)
        properties[name] = results[name].properties
    return {"steps": steps, "ctx": ctx, "properties": properties, "results": results}


def _run(step: dict[str, Any], properties: dict[str, Any], ctx: RunContext) -> Any:
    resolved = evaluate(
        step["Arguments"],
        EvaluationContext(
            parameters={"Scale": 3},
            execution={"PipelineExecutionId": EXECUTION_ID, "PipelineName": "LocalFunctions"},
            step_properties=properties.get,
        ),
    )
    request = StepRequest(
        pipeline_name="LocalFunctions",
        pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/localfunctions",
        execution_id=EXECUTION_ID,
        execution_arn=f"arn:aws:sagemaker:us-east-1:000000000000:pipeline/localfunctions/execution/{EXECUTION_ID}",
        step=_STEP.validate_python(step),
        arguments=resolved,
        job_name=f"pipelines-{EXECUTION_ID}-{step['Name']}-x1-0",
        attempt=1,
    )
    return TrainingRunner().run(request, ctx)


def test_step_functions_run_locally_and_chain_results(function_run: dict[str, Any]) -> None:
    ctx, properties, results = function_run["ctx"], function_run["properties"], function_run["results"]
    objects = ctx.objects
    step = _STEP.validate_python(function_run["steps"]["MakeNumbers"])
    assert TrainingRunner().check(step, ctx.config) is None
    for name, result in results.items():
        assert result.metadata == {"TrainingJob": {"Arn": properties[name]["TrainingJobArn"]}}

    output_path = properties["SumNumbers"]["OutputDataConfig"]["S3OutputPath"]
    assert output_path == f"s3://{DEFAULT_BUCKET}/LocalFunctions/{EXECUTION_ID}/SumNumbers/results"
    # results.json is what JsonGet(S3Uri=...) on a @step output reads
    assert json.loads(objects.get(f"{output_path}/results.json")) == {"Result": 30, "Exception": None}
    # the pickled result is what execution.result(step) deserialises
    assert cloudpickle.loads(objects.get(f"{output_path}/payload.pkl")) == 30
    made = cloudpickle.loads(
        objects.get(f"s3://{DEFAULT_BUCKET}/LocalFunctions/{EXECUTION_ID}/MakeNumbers/results/payload.pkl")
    )
    assert made == {"numbers": [0, 1, 2, 3, 4], "model_dir": "/opt/ml/model"}


def test_a_raising_function_fails_the_step_with_its_exception(function_run: dict[str, Any]) -> None:
    ctx = function_run["ctx"]
    with pytest.raises(AlgorithmError) as failure:
        _run(function_run["steps"]["Explode"], function_run["properties"], ctx)
    reason = str(failure.value)
    assert "step Explode (training job" in reason
    assert "ValueError('refusing 30')" in reason
    exception_uri = f"s3://{DEFAULT_BUCKET}/LocalFunctions/{EXECUTION_ID}/Explode/exception/payload.pkl"
    assert isinstance(cloudpickle.loads(ctx.objects.get(exception_uri)), ValueError)


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
