"""What a CDK app needs to know about a deployed Pipelines service to register pipelines in it.

Inside the service's own stack these are tokens (:meth:`PipelinesStack.deployment`); another
app builds one from the stack's outputs (:meth:`PipelinesDeployment.from_outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_


@dataclass(frozen=True)
class PipelinesDeployment:
    api_url: str  # the stage URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/dev/
    api_id: str
    stage: str
    trigger_function_arn: str
    rule_prefix: str  # pipeline rules must be named <rule_prefix>...: the trigger Lambda admits those
    layer: lambda_.ILayerVersion | None = None  # the core layer; built when None

    def invoke_arns(self, stack: cdk.Stack) -> list[str]:
        """``execute-api:Invoke`` on what the Pipeline custom resource calls on the stage: every
        ``POST`` (SageMaker's per-operation paths, CreateSchedule, RAM's create and list), the
        Scheduler subset's ``GET``/``PUT``/``DELETE /schedules/<name>``, and RAM's
        ``DELETE /deleteresourceshare``."""
        return [
            stack.format_arn(
                service="execute-api",
                resource=self.api_id,
                resource_name=f"{self.stage}/{method_and_path}",
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
            for method_and_path in (
                "POST/*",
                "GET/schedules/*",
                "PUT/schedules/*",
                "DELETE/schedules/*",
                "DELETE/deleteresourceshare",
            )
        ]

    @classmethod
    def from_outputs(
        cls,
        *,
        api_url: str,
        api_id: str,
        stage: str,
        trigger_function_arn: str,
        rule_prefix: str,
        layer: lambda_.ILayerVersion | None = None,
    ) -> PipelinesDeployment:
        """For apps outside the service's stack: the values of its ``ApiUrl``, ``ApiId``, ``Stage``,
        ``TriggerFunctionArn`` and ``RulePrefix`` outputs (or ``Fn.import_value`` of its exports)."""
        return cls(api_url, api_id, stage, trigger_function_arn, rule_prefix, layer)
