"""The example pipeline, registered as infrastructure (``-c example=true``).

It shows the three ways a pipeline starts without anyone calling the API: a schedule (disabled,
so deploying the example costs nothing), and an S3 upload under ``incoming/`` in an example
bucket, whose object becomes the ``ValidationData`` parameter.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

from infra.constructs.pipeline import Pipeline, PipelineProvider, PipelineSchedule
from infra.nag import acknowledge
from infra.stacks.pipelines_stack import PipelinesStack

EXAMPLE_DEFINITION = Path(__file__).resolve().parents[2] / "examples" / "approval" / "pipeline.json"


def add_example_pipeline(stack: PipelinesStack) -> Pipeline:
    bucket = s3.Bucket(
        stack,
        "ExampleData",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        event_bridge_enabled=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        "Example upload bucket, deleted with the example; it exists to show the S3 trigger.",
    )
    provider = PipelineProvider.of(
        stack,
        stack.deployment,
        arm64=stack.settings.arm64,
        log_retention_days=stack.settings.log_retention_days,
    )
    pipeline = Pipeline(
        stack,
        "ExamplePipeline",
        provider=provider,
        deployment=stack.deployment,
        definition=EXAMPLE_DEFINITION,
        pipeline_name=stack.settings.name("approval-example"),
        role_arn=stack.sample_role.role.role_arn,
        description="Example: evaluate, ask for approval, register (examples/approval)",
        tags={"example": "approval"},
        schedules=[
            PipelineSchedule(
                name=stack.settings.name("approval-nightly"),
                expression="cron(0 3 * * ? *)",
                timezone="UTC",
                enabled=False,
                description="Nightly run of the example (disabled; enable it in the console or here)",
            )
        ],
    )
    pipeline.on_s3_object_created(
        "OnUpload",
        bucket_name=bucket.bucket_name,
        prefix="incoming/",
        parameters={"ValidationData": "s3://{detail.bucket.name}/{detail.object.key}"},
    )
    cdk.CfnOutput(stack, "ExampleBucket", value=bucket.bucket_name)
    cdk.CfnOutput(stack, "ExamplePipelineArn", value=pipeline.pipeline_arn)
    return pipeline
