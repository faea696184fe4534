"""cdk-nag AwsSolutions checks, and the reasoned acknowledgments for what we accept.

Each acknowledgment names the rule, where it applies and why; anything new fails the synth (the
infra tests and ``tests/deploy_artifacts.py``'s CLI synth turn cdk-nag errors into failures).

Wildcard resources (AwsSolutions-IAM5) are acknowledged by pattern. cdk-nag matches them
against the *resolved* policy: in an environment-agnostic synth an ARN reads
``arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:...``, but with an account and
region set (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``, as ``cdk deploy`` does) and
``@aws-cdk/core:enablePartitionLiterals`` it reads ``arn:aws:states:eu-west-1:111111111111:...``.
So every pattern is written once with ``{partition}``, ``{region}`` and ``{account}``
placeholders that accept both forms. The one wildcard without an ARN (``Resource::*``, for
actions with no resource-level permissions) is acknowledged only on the policies that need it
(:func:`acknowledge_unscoped_actions`), never stack-wide.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

TOKENS: dict[str, str] = {
    "partition": r"(?:<AWS::Partition>|aws(?:-[a-z]+)*)",
    "region": r"(?:<AWS::Region>|[a-z]{2}(?:-[a-z]+)+-\d+)",
    "account": r"(?:<AWS::AccountId>|\d{12})",
}
"""Each pseudo-parameter as cdk-nag shows it unresolved (``<AWS::Region>``) or as a literal."""


def resource_pattern(arn: str) -> str:
    """A cdk-nag ``appliesTo`` regex (JavaScript syntax, ``/.../``) for one wildcard resource.

    ``arn`` is a regex over the flattened ARN in which ``{partition}``, ``{region}`` and
    ``{account}`` stand for the pseudo-parameters in either form; the whole finding must match.
    """
    return "/^Resource::" + arn.format(**TOKENS) + "$/"


def managed_policy_pattern(name: str) -> str:
    """A cdk-nag ``appliesTo`` regex for one AWS managed policy (``service-role/...``)."""
    return "/^Policy::arn:" + TOKENS["partition"] + r":iam::aws:policy\/" + name.replace("/", r"\/") + "$/"


IAM5_SCOPED: list[tuple[str, str]] = [
    (r"<Data[A-Za-z0-9]+\.Arn>\/index\/\*", "Queries on our own table's indexes."),
    (r"<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*", "Invoking versions of our own functions."),
    (
        r"arn:{partition}:states:{region}:{account}:execution:[a-z0-9-]+:\*",
        "Stop/describe executions of our own two state machines only.",
    ),
    (
        r"arn:{partition}:iam::{account}:role\/pipelines\/\*",
        "Assume only pipeline execution roles under the documented /pipelines/ path.",
    ),
    (
        r"arn:{partition}:sagemaker:{region}:{account}:pipeline\/\*",
        "The pipeline custom-resource provider manages the deployment's pipelines (any name a stack declares).",
    ),
    (
        r"arn:{partition}:iam::{account}:(?:user|role|group|policy)\/\*",
        "Read-only: the API authorizes its account's callers by their own IAM policies "
        "(pipelines.authorization), so it reads (or simulates) any user's, role's and group's policies.",
    ),
    (
        r"arn:{partition}:scheduler:{region}:{account}:schedule\/<Triggers[A-Za-z0-9]+>\/\*",
        "Manage schedules inside the stack's own schedule group only.",
    ),
    (
        r"arn:{partition}:sagemaker:{region}:{account}:[a-z-]+\/\*",
        "Per-resource-type SageMaker ARNs: the sample pipeline role (job names are generated per "
        "execution) and the api role's model registry (groups and versions are named by users).",
    ),
    (
        r"arn:{partition}:sagemaker:{region}:{account}:[a-z-]+\/pipelines-\*",
        "The api role reads and stops only the jobs and models pipelines created (the job name prefix).",
    ),
    (
        r"arn:{partition}:events:{region}:{account}:rule\/StepFunctionsGetEventsFor(?:SageMaker|EMRServerless)\*",
        "Managed rules that Step Functions creates for .sync SageMaker and EMR Serverless integrations.",
    ),
    (
        r"arn:{partition}:lambda:{region}:{account}:function:sagemaker-\*",
        "Sample pipeline role: Lambda steps may invoke functions named sagemaker-* (the SDK convention).",
    ),
    (
        r"arn:{partition}:logs:{region}:{account}:log-group:\/aws\/sagemaker\/\*",
        "Sample pipeline role: jobs write their logs to SageMaker's /aws/sagemaker/* log groups.",
    ),
    (
        r"arn:{partition}:ecr:{region}:\*:repository\/\*",
        "Sample pipeline role: jobs pull their images, AWS's framework images from AWS-owned accounts.",
    ),
    (
        r"arn:{partition}:elasticmapreduce:{region}:{account}:cluster\/\*",
        "Sample pipeline role: EMR steps add steps to, create and terminate clusters.",
    ),
    (
        r"arn:{partition}:emr-serverless:{region}:{account}:\/applications\/\*",
        "Sample pipeline role: EMRServerless steps create applications (named per attempt) and run, "
        "cancel and read job runs on them or on a team's existing application.",
    ),
    (
        r"<ExampleData[A-Za-z0-9]+\.Arn>\/(?:incoming\/)?\*",
        "The example's own bucket: its pipeline role reads and writes it, Evaluate reads uploads.",
    ),
    (
        r"<DataPayloads[A-Za-z0-9]+\.Arn>\/payloads\/\*",
        "Record bodies offloaded from DynamoDB: content-addressed objects under the payload prefix only.",
    ),
    (
        r"arn:{partition}:events:{region}:{account}:rule\/[a-z0-9-]+-trigger-\*",
        "The API manages pipeline rules, which all carry the deployment's rule prefix, and no other rule.",
    ),
    (
        r"arn:{partition}:execute-api:{region}:{account}:<ApiRestApi[A-Za-z0-9]+>\/[a-z0-9-]+\/"
        r"(POST\/\*|(GET|PUT|DELETE)\/schedules\/\*)",
        "The Pipeline custom resource calls the operations of this deployment's API stage: every POST, "
        "and the Scheduler subset's GET, PUT and DELETE of schedules.",
    ),
]
"""Every accepted wildcard ARN, one pattern each, with its reason; any other wildcard fails cdk-nag."""

IAM4_MANAGED: list[tuple[str, str]] = [
    (
        "service-role/AWSLambdaBasicExecutionRole",
        "Lambda functions use the AWS managed AWSLambdaBasicExecutionRole for CloudWatch Logs only; "
        "it grants nothing beyond log delivery.",
    ),
    (
        "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        "The account's API Gateway logging role: AWS's managed policy is the documented way to let "
        "API Gateway write stage logs, and grants only CloudWatch Logs writes.",
    ),
]
"""The AWS managed policies we attach (AwsSolutions-IAM4), each with its reason."""

ACKNOWLEDGED: list[tuple[str, str]] = [
    (
        "AwsSolutions-L1",
        "Handlers pin python3.12, the runtime the layer's wheels are built for; upgrading is a "
        "deliberate change of the bundling platform.",
    ),
    (
        "AwsSolutions-APIG2",
        "Request bodies are validated by the api Lambda against botocore's SageMaker service model, "
        "which API Gateway models cannot express.",
    ),
    (
        "AwsSolutions-COG4",
        "Callers are AWS principals signing with SigV4 (AWS_IAM auth), like boto3 against SageMaker; "
        "Cognito user pools do not apply.",
    ),
    (
        "AwsSolutions-APIG3",
        "WAF is an account-level choice; the API is IAM-authenticated, throttled and restricted by a "
        "resource policy to the owner and the configured sharing accounts.",
    ),
    (
        "AwsSolutions-APIG6",
        "Stage access logging is enabled; per-method execution logging would log request bodies "
        "(pipeline definitions and parameters).",
    ),
]


def acknowledge(
    construct: IConstruct, rule: str, reason: str, applies_to: Sequence[str | RegexAppliesTo] = ()
) -> None:
    """Acknowledge one finding on one construct (and its children), with the reason in code.

    ``applies_to`` narrows a granular rule (IAM5, IAM4) to those finding ids; empty means every
    finding of ``rule`` on the construct.
    """
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=list(applies_to) or None)],
        apply_to_children=True,
    )


def acknowledge_unscoped_actions(role: iam.IRole | None, actions: str) -> None:
    """Acknowledge ``Resource::*`` on one role's default policy (only), for ``actions`` that
    support no resource-level permissions (AWS accepts only ``*`` for them).

    Call it after the statements exist: the acknowledgment lands on the policy resource.
    """
    policy = role.node.try_find_child("DefaultPolicy") if role is not None else None
    if policy is None:
        raise ValueError(
            f"{role.node.path if role else 'role'} has no default policy to acknowledge {actions} on"
        )
    acknowledge(
        policy,
        "AwsSolutions-IAM5",
        f"{actions} support no resource-level permissions: '*' is the only resource AWS accepts.",
        applies_to=["Resource::*"],
    )


def apply_nag(app: cdk.App) -> None:
    """Run AwsSolutions on every stack, with the acknowledged findings suppressed."""
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    scoped = [("AwsSolutions-IAM5", resource_pattern(arn), reason) for arn, reason in IAM5_SCOPED]
    scoped += [("AwsSolutions-IAM4", managed_policy_pattern(name), reason) for name, reason in IAM4_MANAGED]
    suppressions = [NagPackSuppression(id=rule, reason=reason) for rule, reason in ACKNOWLEDGED]
    suppressions += [
        NagPackSuppression(id=rule, reason=reason, applies_to=[RegexAppliesTo(regex=regex)])
        for rule, regex, reason in scoped
    ]
    for child in app.node.children:
        if isinstance(child, cdk.Stack):
            NagSuppressions.add_stack_suppressions(child, suppressions)
