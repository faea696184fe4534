"""The SageMaker Python SDK v3's ``@step`` tests, run by the v3 SDK itself in its own venv.

v3 (``sagemaker>=3``: ``sagemaker.mlops.workflow`` over ``sagemaker.core``) cannot share the
repository's venv with v2, which owns the same ``sagemaker`` package, so ``make install`` builds
``.venv-sdk3`` from ``requirements-sdk3.txt`` and ``test_step_decorator_v3.py`` runs this file
there, against a real ``pipelines serve`` whose ``[images]`` maps the test image to that same
interpreter (the job's pickles must be read by the SDK major that wrote them).

Each scenario mirrors a test of ``sagemaker-mlops/tests/integ/workflow/test_step_decorator.py``
(named in its docstring): it builds the pipeline with the v3 SDK, creates and starts it, waits with
the SDK's waiter, and reads each step's value with ``PipelineExecution.result()``: the SDK's own
DescribeTrainingJob + S3 download, which is what is under test. It prints one JSON line per
scenario; the test asserts on them. Standalone on purpose: it imports nothing from the repository.

usage: v3_program.py ROLE IMAGE BUCKET SCENARIO...
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import boto3
from sagemaker.core.remote_function.errors import RemoteFunctionError
from sagemaker.core.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.step_outputs import get_step
from sagemaker.mlops.workflow.function_step import step
from sagemaker.mlops.workflow.pipeline import Pipeline, PipelineExecution

INSTANCE_TYPE = "ml.m5.large"
ROLE, IMAGE, BUCKET = sys.argv[1:4]
SESSION = PipelineSession(
    boto_session=boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"]), default_bucket=BUCKET
)
SETTINGS: dict[str, Any] = {"role": ROLE, "instance_type": INSTANCE_TYPE, "image_uri": IMAGE}


def run(name: str, steps: list[Any], parameters: list[Any] | None = None, **start: Any) -> PipelineExecution:
    pipeline = Pipeline(name=name, parameters=parameters or [], steps=steps, sagemaker_session=SESSION)
    pipeline.create(role_arn=ROLE)
    execution = pipeline.start(parameters=start or None)
    with contextlib.suppress(Exception):  # the waiter raises on Failed; the status is read after
        execution.wait(delay=1, max_attempts=300)
    return execution


def listing(execution: PipelineExecution) -> list[dict[str, Any]]:
    return [
        {"name": s["StepName"], "status": s["StepStatus"], "reason": s.get("FailureReason", "")}
        for s in execution.list_steps()
    ]


def data_dependencies() -> dict[str, Any]:
    """SDK v3: test_step_decorator_with_data_dependencies (a tuple's items feed the next step)."""

    @step(**SETTINGS)
    def generator() -> tuple:
        return 3, 4

    @step(**SETTINGS)
    def sum(a, b):  # the SDK test's name, which the step name carries
        return a + b

    output_a = generator()
    execution = run("v3-data-dependencies", [sum(output_a[0], output_a[1])])
    steps = listing(execution)
    return {
        "status": execution.describe()["PipelineExecutionStatus"],
        "steps": steps,
        "results": {s["name"]: execution.result(s["name"]) for s in steps},
    }


def execution_dependencies() -> dict[str, Any]:
    """SDK v3: test_step_decorator_with_execution_dependencies (``add_depends_on``)."""

    @step(**SETTINGS)
    def sum(a, b):
        return a + b

    output_a, output_b = sum(2, 3), sum(5, 6)
    get_step(output_b).add_depends_on([output_a])
    execution = run("v3-execution-dependencies", [output_b])
    steps = listing(execution)
    return {
        "status": execution.describe()["PipelineExecutionStatus"],
        "steps": steps,
        "results": {s["name"]: execution.result(s["name"]) for s in steps},
    }


def pipeline_parameters() -> dict[str, Any]:
    """SDK v3: test_step_decorator_with_pipeline_parameters, with the parameters passed into the
    function as well (test_passing_different_pipeline_variables_to_function's integer and string)."""
    instance_type = ParameterString(name="TrainingInstanceCount", default_value=INSTANCE_TYPE)
    count = ParameterInteger(name="Count", default_value=2)

    @step(role=ROLE, instance_type=instance_type, image_uri=IMAGE)
    def describe(n, label):
        import sys as job_sys

        return {"n": n, "label": label, "python": list(job_sys.version_info[:2])}

    execution = run(
        "v3-pipeline-parameters",
        [describe(count, instance_type)],
        [instance_type, count],
        TrainingInstanceCount="ml.m5.xlarge",
        Count=7,
    )
    steps = listing(execution)
    return {
        "status": execution.describe()["PipelineExecutionStatus"],
        "steps": steps,
        "results": {s["name"]: execution.result(s["name"]) for s in steps},
    }


def step_failed() -> dict[str, Any]:
    """SDK v3: test_decorator_step_failed (``result()`` refuses a step that is not Completed)."""

    @step(**SETTINGS)
    def divide(x, y):
        return x / y

    execution = run("v3-step-failed", [divide(10, 0)])
    steps = listing(execution)
    try:
        execution.result(steps[0]["name"])
        refusal = ""
    except RemoteFunctionError as error:
        refusal = str(error)
    return {"status": execution.describe()["PipelineExecutionStatus"], "steps": steps, "refusal": refusal}


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "data_dependencies": data_dependencies,
    "execution_dependencies": execution_dependencies,
    "pipeline_parameters": pipeline_parameters,
    "step_failed": step_failed,
}

if __name__ == "__main__":
    for scenario in sys.argv[4:]:
        try:
            outcome = SCENARIOS[scenario]()
        except Exception:  # reported to the test, which fails naming the scenario
            outcome = {"error": traceback.format_exc()}
        print(json.dumps({"scenario": scenario, **outcome}, default=str), flush=True)
