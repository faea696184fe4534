"""ARN patterns that more than one construct grants on, so every grant names the same resources."""

from __future__ import annotations

import aws_cdk as cdk

PIPELINE_ROLE_PATH = "/pipelines/"
"""Pipeline execution roles live under this IAM path; the StepRunner may assume only those."""


def pipeline_roles_arn(stack: cdk.Stack) -> str:
    """Every role under :data:`PIPELINE_ROLE_PATH` (assumed by the StepRunner and the engine,
    passed by the Pipeline construct's provider)."""
    return stack.format_arn(
        service="iam", region="", resource="role", resource_name=f"{PIPELINE_ROLE_PATH.strip('/')}/*"
    )


def job_log_groups_arn(stack: cdk.Stack) -> str:
    """The log groups SageMaker jobs write to (``/aws/sagemaker/*``)."""
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name="/aws/sagemaker/*",
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )
