"""Who may do what to a pipeline: its owner everything, other accounts what a RAM share grants.

A pipeline belongs to the account in its ARN. Another account may act on it (and on all of
its executions) only through an accepted resource share, and then only with the actions of
the share's permission -- the two managed permissions SageMaker defines for pipelines. Every
other cross-account call is denied with ``AccessDeniedException``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pipelines.api.errors import AccessDenied

READ_ONLY_PERMISSION = "AWSRAMDefaultPermissionSageMakerPipeline"
ALLOW_EXECUTION_PERMISSION = "AWSRAMPermissionSageMakerPipelineAllowExecution"

# The actions each managed permission allows (seed docs, "Permission policies for Pipelines
# resources"); the action names are the SageMaker operation names.
READ_ONLY_ACTIONS: frozenset[str] = frozenset(
    {
        "DescribePipeline",
        "DescribePipelineDefinitionForExecution",
        "DescribePipelineExecution",
        "ListPipelineExecutions",
        "ListPipelineExecutionSteps",
        "ListPipelineParametersForExecution",
        "Search",
    }
)
ALLOW_EXECUTION_ACTIONS: frozenset[str] = READ_ONLY_ACTIONS | {
    "StartPipelineExecution",
    "StopPipelineExecution",
    "RetryPipelineExecution",
}
PERMISSION_ACTIONS: Mapping[str, frozenset[str]] = {
    READ_ONLY_PERMISSION: READ_ONLY_ACTIONS,
    ALLOW_EXECUTION_PERMISSION: ALLOW_EXECUTION_ACTIONS,
}


class SharingPolicy(Protocol):
    """What accepted shares grant (implemented by the RAM subset)."""

    def shared_actions(self, account_id: str, pipeline_arn: str) -> frozenset[str]:
        """The actions ``account_id`` may perform on ``pipeline_arn`` through accepted shares."""
        ...

    def shared_pipelines(self, account_id: str) -> Mapping[str, frozenset[str]]:
        """Every pipeline ARN shared with (and accepted by) ``account_id``, with its actions."""
        ...


class NoSharing:
    """Owner-only access: no pipeline is shared with anyone."""

    def shared_actions(self, account_id: str, pipeline_arn: str) -> frozenset[str]:
        return frozenset()

    def shared_pipelines(self, account_id: str) -> Mapping[str, frozenset[str]]:
        return {}


def owner_of(arn: str) -> str:
    """The account id in a SageMaker ARN (``arn:aws:sagemaker:<region>:<account>:...``)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 else ""


def authorize(policy: SharingPolicy, account_id: str, action: str, pipeline_arn: str) -> None:
    """Allow the owner; allow a sharee the actions of its accepted shares; deny the rest."""
    if owner_of(pipeline_arn) == account_id:
        return
    if action in policy.shared_actions(account_id, pipeline_arn):
        return
    raise AccessDenied(
        f"User: arn:aws:iam::{account_id}:root is not authorized to perform: sagemaker:{action} "
        f"on resource: {pipeline_arn} because no resource-based policy allows the sagemaker:{action} action"
    )
