"""cdk-nag AwsSolutions checks, and the reasoned acknowledgments for what we accept.

Each suppression names the rule, where it applies and why; anything new fails the synth (the
infra tests turn cdk-nag errors into test failures).
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

ACKNOWLEDGED: list[tuple[str, str]] = [
    (
        "AwsSolutions-IAM4",
        "Lambda functions use the AWS managed AWSLambdaBasicExecutionRole for CloudWatch Logs only; "
        "it grants nothing beyond log delivery.",
    ),
    (
        "AwsSolutions-IAM5",
        "Wildcards are scoped: X-Ray trace delivery (service requires '*'), DynamoDB index ARNs "
        "('<table>/index/*'), Step Functions executions of our two machines ('<machine>:*'), pipeline "
        "roles under the documented /pipelines/ path, Lambda version ARNs of our own functions, and the "
        "sample pipeline role's per-resource-type SageMaker ARNs.",
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
        "AwsSolutions-APIG4",
        "Every method uses AWS_IAM authorization (SigV4), as SageMaker's own API does.",
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
    (
        "AwsSolutions-SQS3",
        "The dead-letter queue is itself the DLQ of the callback queue.",
    ),
]


def apply_nag(app: cdk.App) -> None:
    """Run AwsSolutions on every stack, with the acknowledged findings suppressed."""
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    for child in app.node.children:
        if isinstance(child, cdk.Stack):
            NagSuppressions.add_stack_suppressions(
                child, [NagPackSuppression(id=rule, reason=reason) for rule, reason in ACKNOWLEDGED]
            )
