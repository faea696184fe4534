"""The example pipeline, registered as infrastructure (``-c example=true``), with everything it
runs on, so an execution can succeed in a real account.

``examples/approval`` as deployed: its two Lambda steps (``functions/evaluate.py`` with the
validation set it reads by default, ``functions/summarize.py``), the SQS queue its Callback step
asks for approval on, and a bucket. The definition is the example's own file with its account-
specific values (the function ARNs, the queue URL, the model artifact's S3 URI) replaced by this
stack's. The sample pipeline role it runs as may invoke those functions, send to that queue and
read and write the bucket (its job logs and image pulls are granted in
:mod:`infra.constructs.execution_role`).

It also shows the ways a pipeline starts without anyone calling the API: a schedule (disabled,
so deploying the example costs nothing), and an S3 upload under ``incoming/`` in the example
bucket, whose object becomes the ``ValidationData`` parameter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from infra.constructs.lambdas import log_retention
from infra.constructs.pipeline import Pipeline, PipelineProvider, PipelineSchedule
from infra.nag import acknowledge
from infra.packaging import RUNTIME
from infra.stacks.pipelines_stack import PipelinesStack

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "approval"
EXAMPLE_DEFINITION = EXAMPLE_DIR / "pipeline.json"
EXAMPLE_FUNCTIONS = {"Evaluate": "evaluate", "Summarize": "summarize"}
"""Lambda step name -> module in examples/approval/functions."""
MODEL_KEY = "approval/model.tar.gz"


def _steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step, Condition branches included."""
    found: list[dict[str, Any]] = []
    for step in steps:
        found.append(step)
        args = step.get("Arguments") or {}
        if step.get("Type") == "Condition":
            found += _steps(args.get("IfSteps", []) + args.get("ElseSteps", []))
    return found


def deployed_definition(
    definition: dict[str, Any], function_arns: dict[str, str], queue_url: str, model_data_url: str
) -> dict[str, Any]:
    """The example's definition with this stack's functions, queue and model artifact."""
    deployed = json.loads(json.dumps(definition))
    for step in _steps(deployed["Steps"]):
        if step["Type"] == "Lambda":
            step["FunctionArn"] = function_arns[step["Name"]]
        elif step["Type"] == "Callback":
            step["SqsQueueUrl"] = queue_url
    for parameter in deployed["Parameters"]:
        if parameter["Name"] == "ModelDataUrl":
            parameter["DefaultValue"] = model_data_url
    return deployed


def _example_function(stack: PipelinesStack, name: str, module: str) -> lambda_.Function:
    """One of the example's Lambda steps: the example folder's functions/ and data/ as the code
    (``evaluate`` reads ``data/validation.csv`` by default), Python's standard library and boto3."""
    log_group = logs.LogGroup(
        stack,
        f"Example{name}Logs",
        retention=log_retention(stack.settings.log_retention_days),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return lambda_.Function(
        stack,
        f"Example{name}Function",
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64 if stack.settings.arm64 else lambda_.Architecture.X86_64,
        handler=f"functions.{module}.handler",
        code=lambda_.Code.from_asset(
            str(EXAMPLE_DIR),
            exclude=["*", "!functions", "!functions/*.py", "!data", "!data/*.csv"],
        ),
        timeout=cdk.Duration.seconds(60),
        memory_size=256,
        log_group=log_group,
        description=f"Example pipeline step {name} (examples/approval/functions/{module}.py)",
    )


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
    functions = {step: _example_function(stack, step, module) for step, module in EXAMPLE_FUNCTIONS.items()}
    approvals_dlq = sqs.Queue(
        stack,
        "ExampleApprovalDeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
    )
    approvals = sqs.Queue(
        stack,
        "ExampleApprovalRequests",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=approvals_dlq),
    )
    role = stack.sample_role.role
    for function in functions.values():
        function.grant_invoke(role)
    functions["Evaluate"].add_to_role_policy(
        iam.PolicyStatement(
            sid="ReadUploadedValidationData",
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects("incoming/*")],
        )
    )
    approvals.grant_send_messages(role)
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ExampleData",
            actions=["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        )
    )
    definition = deployed_definition(
        json.loads(EXAMPLE_DEFINITION.read_text()),
        {step: function.function_arn for step, function in functions.items()},
        approvals.queue_url,
        f"s3://{bucket.bucket_name}/{MODEL_KEY}",
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
        definition=definition,
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
    cdk.CfnOutput(stack, "ExampleApprovalQueueUrl", value=approvals.queue_url)
    return pipeline
