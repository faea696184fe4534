"""Handler tables (SageMaker, Scheduler, EventBridge) with authorization in front of every call.

Two rules, both applied before the handler runs, so a refused request changes nothing:

1. **Sharing accounts act only through their shares.** A caller from another account may not
   call the ``owner_only`` operations (creating pipelines, schedules and rules, and every
   Scheduler/EventBridge call): it acts only on pipelines shared with it, where
   :mod:`pipelines.api.ops.access` allows exactly its accepted permission's actions.
2. **The caller's IAM policies decide** SageMaker calls (and a schedule's or rule's pipeline
   target needs ``sagemaker:StartPipelineExecution`` on it), for a governed caller (see
   :class:`~pipelines.authorization.authorizer.Authorizer`): each operation becomes its IAM
   requests (:func:`requests_for`; the resource's tags and the version being started are
   looked up first) and is refused with ``AccessDeniedException`` naming action and resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipelines.api.errors import AccessDenied
from pipelines.api.ops.context import Operations
from pipelines.api.wire import CallContext, Handler
from pipelines.authorization.authorizer import Authorizer
from pipelines.authorization.requests import (
    EXECUTION_ACTIONS,
    PIPELINE_ACTIONS,
    PIPELINE_VERSION_KEY,
    TAGGING_CREATES,
    VERSIONED_ACTIONS,
    AccessRequest,
    pass_role_request,
    request_tag_context,
    resource_arn,
    resource_tag_context,
    sagemaker_action,
)
from pipelines.engine.ids import pipeline_arn
from pipelines.errors import PipelinesError
from pipelines.store import PipelineRecord

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$")
# Operations whose RoleArn makes SageMaker act as that role (iam:PassRole applies).
_PASSES_ROLE = frozenset({"CreatePipeline", "UpdatePipeline", "StartPipelineExecution"})
# The request member naming the pipeline, per operation (the rest use PipelineName).
_PIPELINE_MEMBER = {
    "UpdatePipelineVersion": "PipelineArn",
    "ListTags": "ResourceArn",
    "AddTags": "ResourceArn",
    "DeleteTags": "ResourceArn",
}


# What only the deployment's own account may call, per service (every other account acts only
# on pipelines shared with it, and the trigger services have no shares).
OWNER_ONLY_SAGEMAKER = frozenset({"CreatePipeline"})


def authorized_handlers(
    handlers: dict[str, Handler],
    authorizer: Authorizer | None,
    ops: Operations,
    *,
    is_owner: Callable[[str], bool],
    service: str = "sagemaker",
    owner_only: frozenset[str] | None = None,
) -> dict[str, Handler]:
    """``handlers`` with each call authorized first (same names, same signatures).

    ``owner_only``: the operations another account may not call (default: CreatePipeline for
    SageMaker, everything for other services); ``authorizer`` None: IAM policies not checked.
    """
    if owner_only is None:
        owner_only = OWNER_ONLY_SAGEMAKER if service == "sagemaker" else frozenset(handlers)
    return {
        name: _guarded(name, handler, authorizer, ops, is_owner, service, name in owner_only)
        for name, handler in handlers.items()
    }


def _guarded(
    operation: str,
    handler: Handler,
    authorizer: Authorizer | None,
    ops: Operations,
    is_owner: Callable[[str], bool],
    service: str,
    owner_only: bool,
) -> Handler:
    def run(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if owner_only and not is_owner(ctx.account_id):
            raise AccessDenied(
                f"User: {ctx.caller} is not authorized to perform: {service}:{operation}: only the "
                "deployment's own account may; other accounts act only on pipelines shared with them"
            )
        if authorizer is not None:
            principal = authorizer.principal(ctx.account_id, ctx.principal_arn)
            if authorizer.governs(principal):
                if service == "sagemaker":
                    authorizer.check(principal, requests_for(operation, params, ctx, ops))
                else:  # a schedule or rule target starts its pipeline: the caller must be allowed to
                    for target in trigger_targets(service, operation, params):
                        start = {"PipelineName": target}
                        authorizer.check(principal, requests_for("StartPipelineExecution", start, ctx, ops))
        return handler(params, ctx)

    run.__name__ = getattr(handler, "__name__", operation)
    run.__doc__ = handler.__doc__
    return run


def trigger_targets(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The pipeline ARNs a schedule or rule request makes the deployment start."""
    if service == "scheduler" and operation in ("CreateSchedule", "UpdateSchedule"):
        targets = [params.get("Target") or {}]
    elif service == "events" and operation == "PutTargets":
        targets = list(params.get("Targets") or [])
    else:
        return []
    return [str(t["Arn"]) for t in targets if isinstance(t, dict) and ":pipeline/" in str(t.get("Arn", ""))]


def _pipeline(ops: Operations, name_or_arn: str, ctx: CallContext, operation: str) -> PipelineRecord | None:
    """The pipeline the request names, for its tags and version (None: it does not exist or is
    not visible; the handler then answers as it always does)."""
    try:
        return ops.pipeline(name_or_arn, ctx, operation)
    except PipelinesError:
        return None


def checked_role(role_arn: Any, ctx: CallContext) -> str:
    """A RoleArn the caller may pass at all: well-formed and of the caller's own account."""
    match = _ROLE_ARN.match(role_arn) if isinstance(role_arn, str) else None
    if match is None:
        raise AccessDenied(
            f"User is not authorized to perform: iam:PassRole on resource: {role_arn!r}: not a role ARN"
        )
    if match["account"] != ctx.account_id:
        raise AccessDenied(
            f"User is not authorized to perform: iam:PassRole on resource: {role_arn} because a role can "
            f"only be passed to a service in its own account ({ctx.account_id})"
        )
    return str(role_arn)


def requests_for(
    operation: str, params: dict[str, Any], ctx: CallContext, ops: Operations
) -> list[AccessRequest]:
    """The IAM requests one call makes (see :mod:`pipelines.authorization.requests`)."""
    action = sagemaker_action(operation)
    if operation in PIPELINE_ACTIONS:
        named = str(params.get(_PIPELINE_MEMBER.get(operation, "PipelineName")) or "")
        record = None if operation == "CreatePipeline" else _pipeline(ops, named, ctx, operation)
        if record is not None:
            resource = record.arn
        elif named.startswith("arn:"):
            resource = named
        else:
            resource = pipeline_arn(ctx.region, ctx.account_id, named)
        context: dict[str, list[str]] = resource_tag_context(record.tags if record else [])
        if operation in ("CreatePipeline", "AddTags"):
            context.update(request_tag_context(params.get("Tags") or []))
        if operation == "DeleteTags":
            context["aws:TagKeys"] = [str(k) for k in params.get("TagKeys") or []]
        if operation in VERSIONED_ACTIONS:
            version = params.get("PipelineVersionId")
            if version is None and not params.get("PipelineVersionAlias") and record is not None:
                version = record.latest_version_id  # what an unqualified start runs
            if version is not None:
                context[PIPELINE_VERSION_KEY] = [str(version)]
        requests = [AccessRequest.of(action, resource, context)]
        if operation in _PASSES_ROLE and params.get("RoleArn") is not None:
            requests.append(pass_role_request(checked_role(params["RoleArn"], ctx)))
        return requests
    if operation in EXECUTION_ACTIONS:
        arn = str(params.get("PipelineExecutionArn") or "")
        tags: list[dict[str, str]] = []
        try:
            pipeline = _pipeline(ops, ops.execution(arn, ctx, operation).pipeline_arn, ctx, operation)
            tags = pipeline.tags if pipeline is not None else []
        except PipelinesError:
            pass
        return [AccessRequest.of(action, arn or "*", resource_tag_context(tags))]
    resource = resource_arn(operation, params, ctx.region, ctx.account_id)
    context = request_tag_context(params.get("Tags") or []) if operation in TAGGING_CREATES else {}
    return [AccessRequest.of(action, resource, context)]
