"""The example pipeline, registered as infrastructure (``-c example=true``), with everything it
runs on, so an execution can succeed in a real account.

``examples/approval`` as deployed: its two Lambda steps (``functions/evaluate.py`` with the
validation set it reads by default, ``functions/summarize.py``), the SQS queue its Callback step
asks for approval on, and a bucket. The definition is the example's own file with its account-
specific values (the function ARNs, the queue URL, the model artifact's S3 URI) replaced by this
stack's. The sample pipeline role it runs as may invoke those functions, send to that queue and
read and write the bucket (its job logs and image pulls are granted in
:mod:`infra.constructs.execution_role`). The model it registers exists: ``examples/approval/model``
(the decision rule and its ``inference.py`` for SageMaker's scikit-learn container) is uploaded
to the bucket as ``approval/model.tar.gz`` (a BucketDeployment), and the container image is the
scikit-learn image of the stack's own region (a region mapping; SageMaker pulls images only from
its region's registry).

It also shows the ways a pipeline starts without anyone calling the API: a schedule (disabled,
so deploying the example costs nothing), and an S3 upload under ``incoming/`` in the example
bucket, whose object becomes the ``ValidationData`` parameter.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_sqs as sqs
from cdk_nag import RegexAppliesTo

from infra.constructs.buckets import private_bucket
from infra.constructs.log_groups import log_group
from infra.constructs.messaging import dead_letter_queue, private_queue
from infra.constructs.pipeline import Pipeline, PipelineProvider, PipelineSchedule
from infra.nag import acknowledge, resource_pattern
from infra.packaging import RUNTIME, architecture, model_archive
from infra.stacks.pipelines_stack import PipelinesStack

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "approval"
EXAMPLE_DEFINITION = EXAMPLE_DIR / "pipeline.json"
EXAMPLE_FUNCTIONS = {"Evaluate": "evaluate", "Summarize": "summarize"}
"""Lambda step name -> module in examples/approval/functions."""
MODEL_KEY = "approval/model.tar.gz"
MODEL_DIR = EXAMPLE_DIR / "model"
SKLEARN_IMAGE = "sagemaker-scikit-learn:1.2-1-cpu-py3"
"""The framework image the example registers its model with (repository:tag)."""

# The accounts of SageMaker's scikit-learn image registries (inference, 1.2-1), per region, as the
# SageMaker Python SDK lists them (sagemaker/image_uri_config/sklearn.json; a test keeps them equal).
SKLEARN_REGISTRIES: dict[str, str] = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "cn-north-1": "450853457545",
    "cn-northwest-1": "451049120500",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "414596584902",
    "us-iso-east-1": "833128469047",
    "us-isob-east-1": "281123927165",
    "us-isof-east-1": "108575199400",
    "us-isof-south-1": "124985052026",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}


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
    definition: dict[str, Any],
    function_arns: dict[str, str],
    queue_url: str,
    model_data_url: str,
    image_uri: str | None = None,
) -> dict[str, Any]:
    """The example's definition with this stack's functions, queue, model artifact and (when
    given) the model's image of the stack's region."""
    deployed = json.loads(json.dumps(definition))
    for step in _steps(deployed["Steps"]):
        if step["Type"] == "Lambda":
            step["FunctionArn"] = function_arns[step["Name"]]
        elif step["Type"] == "Callback":
            step["SqsQueueUrl"] = queue_url
        elif step["Type"] == "RegisterModel" and image_uri is not None:
            for container in step["Arguments"]["InferenceSpecification"]["Containers"]:
                container["Image"] = image_uri
    for parameter in deployed["Parameters"]:
        if parameter["Name"] == "ModelDataUrl":
            parameter["DefaultValue"] = model_data_url
    return deployed


def sklearn_image_uri(stack: cdk.Stack) -> str:
    """The scikit-learn image of the stack's region: a literal when the region is known at synth,
    else a CloudFormation mapping looked up by ``AWS::Region`` at deploy time."""
    registries = cdk.CfnMapping(
        stack,
        "SklearnImageRegistries",
        mapping={region: {"account": account} for region, account in SKLEARN_REGISTRIES.items()},
        lazy=True,
    )
    account = registries.find_in_map(stack.region, "account")
    return f"{account}.dkr.ecr.{stack.region}.{stack.url_suffix}/{SKLEARN_IMAGE}"


def _upload_model(stack: PipelinesStack, bucket: s3.IBucket) -> None:
    """``approval/model.tar.gz`` in the example bucket, built from examples/approval/model."""
    staging = Path(tempfile.mkdtemp(prefix="approval-model-"))
    model_archive(MODEL_DIR, staging)
    deployment = s3_deployment.BucketDeployment(
        stack,
        "ExampleModel",
        sources=[s3_deployment.Source.asset(str(staging))],
        destination_bucket=bucket,
        destination_key_prefix=MODEL_KEY.rpartition("/")[0] + "/",
        prune=False,  # the bucket also holds uploads (incoming/) and pipeline outputs
        retain_on_delete=False,
        memory_limit=256,
    )
    acknowledge(
        deployment.handler_role,
        "AwsSolutions-IAM5",
        "CDK's BucketDeployment copies the model asset: it reads the CDK asset bucket's objects and "
        "writes the example bucket (grantRead/grantReadWrite action groups on those two buckets only).",
        applies_to=[
            *(
                f"Action::s3:{group}*"
                for group in ("GetBucket", "GetObject", "List", "Abort", "DeleteObject")
            ),
            RegexAppliesTo(
                regex=resource_pattern(r"arn:{partition}:s3:::cdk-[a-z0-9]+-assets-{account}-{region}\/\*")
            ),
        ],
    )


def _example_function(stack: PipelinesStack, name: str, module: str) -> lambda_.Function:
    """One of the example's Lambda steps: the example folder's functions/ and data/ as the code
    (``evaluate`` reads ``data/validation.csv`` by default), Python's standard library and boto3."""
    return lambda_.Function(
        stack,
        f"Example{name}Function",
        runtime=RUNTIME,
        architecture=architecture(stack.settings.arm64),
        handler=f"functions.{module}.handler",
        code=lambda_.Code.from_asset(
            str(EXAMPLE_DIR),
            exclude=["*", "!functions", "!functions/*.py", "!data", "!data/*.csv"],
        ),
        timeout=cdk.Duration.seconds(60),
        memory_size=256,
        log_group=log_group(stack, f"Example{name}Logs", stack.settings.log_retention_days),
        description=f"Example pipeline step {name} (examples/approval/functions/{module}.py)",
    )


def add_example_pipeline(stack: PipelinesStack) -> Pipeline:
    bucket = private_bucket(stack, "ExampleData", cdk.RemovalPolicy.DESTROY, event_bridge_enabled=True)
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        "Example upload bucket, deleted with the example; it exists to show the S3 trigger.",
    )
    functions = {step: _example_function(stack, step, module) for step, module in EXAMPLE_FUNCTIONS.items()}
    approvals_dlq = dead_letter_queue(stack, "ExampleApprovalDeadLetters")
    approvals = private_queue(
        stack,
        "ExampleApprovalRequests",
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
    _upload_model(stack, bucket)
    definition = deployed_definition(
        json.loads(EXAMPLE_DEFINITION.read_text()),
        {step: function.function_arn for step, function in functions.items()},
        approvals.queue_url,
        f"s3://{bucket.bucket_name}/{MODEL_KEY}",
        sklearn_image_uri(stack),
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
