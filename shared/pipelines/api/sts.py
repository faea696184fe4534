"""The STS subset of ``pipelines serve``: GetCallerIdentity, so boto3, the SageMaker SDK v3 and
scripts that ask who they are get the account the endpoint acts as for them (the ``[accounts]``
entry of their access key, else the configured ``account_id``) instead of reaching AWS."""

from __future__ import annotations

from typing import Any

from pipelines.api.rest import RestService
from pipelines.api.wire import CallContext, Handler


def caller_identity(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    return {"UserId": ctx.account_id, "Account": ctx.account_id, "Arn": f"arn:aws:iam::{ctx.account_id}:root"}


def sts_handlers() -> dict[str, Handler]:
    return {"GetCallerIdentity": caller_identity}


def sts_service(*, strict_shapes: bool = False) -> RestService:
    """STS over the query protocol (:class:`pipelines.api.query.QueryCodec`)."""
    return RestService("sts", sts_handlers(), strict_shapes=strict_shapes)
