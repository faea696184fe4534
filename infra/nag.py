"""cdk-nag AwsSolutions checks, and the reasoned acknowledgments for what we accept.

Each suppression names the rule, where it applies and why; anything new fails the synth (the
infra tests turn cdk-nag errors into test failures).
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

IAM5_SCOPED: list[tuple[str, str]] = [
    (
        "Resource::*",
        "Actions without resource-level permissions accept only '*': X-Ray trace and CloudWatch Logs "
        "delivery, scheduler:ListSchedules and events:ListRules (the API filters both to its own).",
    ),
    (r"/^Resource::<Data[A-Za-z0-9]+\.Arn>\/index\/\*$/g", "Queries on our own table's indexes."),
    (r"/^Resource::<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*$/g", "Invoking versions of our own functions."),
    (
        r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:[a-z0-9-]+:\*$/g",
        "Stop/describe executions of our own two state machines only.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role\/pipelines\/\*$/g",
        "Assume only pipeline execution roles under the documented /pipelines/ path.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/<Triggers[A-Za-z0-9]+>\/\*$/g",
        "Manage schedules inside the stack's own schedule group only.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:[a-z-]+\/\*$/g",
        "Sample pipeline role: per-resource-type SageMaker ARNs; job names are generated per execution.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule\/StepFunctionsGetEventsForSageMaker\*$/g",
        "Managed rules that Step Functions creates for .sync SageMaker integrations.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:sagemaker-\*$/g",
        "Sample pipeline role: Lambda steps may invoke functions named sagemaker-* (the SDK convention).",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:elasticmapreduce:<AWS::Region>:<AWS::AccountId>:cluster\/\*$/g",
        "Sample pipeline role: EMR steps add steps to, create and terminate clusters.",
    ),
    (
        r"/^Resource::<DataPayloads[A-Za-z0-9]+\.Arn>\/payloads\/\*$/g",
        "Record bodies offloaded from DynamoDB: content-addressed objects under the payload prefix only.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule\/[a-z0-9-]+-trigger-\*$/g",
        "The API manages pipeline rules, which all carry the deployment's rule prefix, and no other rule.",
    ),
    (
        r"/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<ApiRestApi[A-Za-z0-9]+>\/[a-z0-9-]+\/POST\/\*$/g",
        "The Pipeline custom resource calls the operations of this deployment's API stage (POST only).",
    ),
]
"""Every accepted wildcard, one pattern each, with its reason; any other wildcard fails cdk-nag."""

ACKNOWLEDGED: list[tuple[str, str]] = [
    (
        "AwsSolutions-IAM4",
        "Lambda functions use the AWS managed AWSLambdaBasicExecutionRole for CloudWatch Logs only; "
        "it grants nothing beyond log delivery.",
    ),
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


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding on one construct (and its children), with the reason in code."""
    NagSuppressions.add_resource_suppressions(
        construct, [NagPackSuppression(id=rule, reason=reason)], apply_to_children=True
    )


def apply_nag(app: cdk.App) -> None:
    """Run AwsSolutions on every stack, with the acknowledged findings suppressed."""
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    for child in app.node.children:
        if isinstance(child, cdk.Stack):
            suppressions = [NagPackSuppression(id=rule, reason=reason) for rule, reason in ACKNOWLEDGED]
            suppressions += [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=reason,
                    applies_to=[RegexAppliesTo(regex=pattern) if pattern.startswith("/") else pattern],
                )
                for pattern, reason in IAM5_SCOPED
            ]
            NagSuppressions.add_stack_suppressions(child, suppressions)
