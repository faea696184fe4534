"""A definition over 100 KB: the SageMaker SDK uploads it to its default bucket and sends
``PipelineDefinitionS3Location``; the deployed API must be allowed to read it and run it."""

from __future__ import annotations

from pathlib import Path

import boto3
from sagemaker.lambda_helper import Lambda
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession

from tests.rehearsal.harness import Rehearsal, add_user_function, role_allows

TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
COUNT = """
def handler(event, context):
    return {"count": len(event["rows"]), "first": event["rows"][0]}
"""


def test_a_large_definition_travels_through_s3(rehearsal: Rehearsal, functions_dir: Path) -> None:
    arn = add_user_function(rehearsal, "count-rows", COUNT, functions_dir)
    owner: boto3.Session = rehearsal.owner_session()
    session = PipelineSession(
        boto_session=owner, sagemaker_client=rehearsal.sagemaker(), sagemaker_config=TELEMETRY_OFF
    )
    rows = [f"row-{n:05d}-" + "x" * 90 for n in range(1100)]
    step = LambdaStep(
        name="Count",
        lambda_func=Lambda(function_arn=arn, session=session),
        inputs={"rows": rows},
        outputs=[
            LambdaOutput(output_name="count", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="first", output_type=LambdaOutputTypeEnum.String),
        ],
    )
    pipeline = Pipeline(name="large-definition", steps=[step], sagemaker_session=session)
    assert len(pipeline.definition().encode()) > 100 * 1024
    pipeline.create(role_arn=rehearsal.output("SamplePipelineRoleArn"))

    # The SDK used its default bucket: that object is what the API read.
    bucket = f"sagemaker-{rehearsal.region}-{rehearsal.account}"
    keys = [o["Key"] for o in rehearsal.aws("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["large-definition"]
    api_role = rehearsal.lambdas.functions[rehearsal.function_name("ApiFunction")].role_arn
    assert role_allows(rehearsal, api_role, "s3:GetObject", f"arn:aws:s3:::{bucket}/large-definition")

    execution = pipeline.start()
    described = rehearsal.wait_execution(execution.arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", described
    (listed,) = execution.list_steps()
    outputs = {p["Name"]: p["Value"] for p in listed["Metadata"]["Lambda"]["OutputParameters"]}
    assert outputs == {"count": "1100", "first": rows[0]}
