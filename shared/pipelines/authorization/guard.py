"""The SageMaker handler table with authorization in front of every call.

For a governed caller (see :class:`~pipelines.authorization.authorizer.Authorizer`), each
operation becomes its IAM requests (:func:`requests_for`) -- the resource's existing tags
and the version being started are looked up first -- and is refused with
``AccessDeniedException`` before the handler runs, so a refused request changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.api.errors import AccessDenied
from pipelines.api.ops.context import Operations
from pipelines.api.wire import CallContext, Handler
from pipelines.authorization.authorizer import Authorizer
from pipelines.authorization.requests import (
    EXECUTION_ACTIONS,
    PIPELINE_ACTIONS,
    PIPELINE_VERSION_KEY,
    VERSIONED_ACTIONS,
    AccessRequest,
    pass_role_request,
    request_tag_context,
    resource_tag_context,
    sagemaker_action,
)
from pipelines.engine.ids import pipeline_arn
from pipelines.errors import PipelinesError
from pipelines.store import PipelineRecord

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]+$")
# The request member naming the pipeline, per operation (the rest use PipelineName).
_PIPELINE_MEMBER = {
    "UpdatePipelineVersion": "PipelineArn",
    "ListTags": "ResourceArn",
    "AddTags": "ResourceArn",
    "DeleteTags": "ResourceArn",
}


def authorized_handlers(
    handlers: dict[str, Handler], authorizer: Authorizer, ops: Operations
) -> dict[str, Handler]:
    """``handlers`` with each call authorized first (same names, same signatures)."""
    return {name: _guarded(name, handler, authorizer, ops) for name, handler in handlers.items()}


def _guarded(operation: str, handler: Handler, authorizer: Authorizer, ops: Operations) -> Handler:
    def run(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        principal = authorizer.principal(ctx.account_id, ctx.principal_arn)
        if authorizer.governs(principal):
            authorizer.check(principal, requests_for(operation, params, ctx, ops))
        return handler(params, ctx)

    run.__name__ = getattr(handler, "__name__", operation)
    run.__doc__ = handler.__doc__
    return run


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
            version = params.get("PipelineVersionId") or (record.latest_version_id if record else None)
            if version is not None:
                context[PIPELINE_VERSION_KEY] = [str(version)]
        requests = [AccessRequest.of(action, resource, context)]
        if operation in ("CreatePipeline", "UpdatePipeline") and params.get("RoleArn") is not None:
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
    return [AccessRequest.of(action, "*")]
