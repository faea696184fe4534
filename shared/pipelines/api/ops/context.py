"""What every SageMaker operation shares: the store, the engine, who the caller is, and the
rules for naming pipelines and executions, paging and idempotency."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from pipelines.api.ops.access import NoSharing, SharingPolicy, authorize, owner_of
from pipelines.api.wire import CallContext
from pipelines.engine import Clock, ExecutionNotFound, PipelineNotFound, StartRequest, SystemClock
from pipelines.engine.idempotency import RequestToken
from pipelines.engine.ids import InvalidArn, execution_id_of, pipeline_arn
from pipelines.errors import ValidationError
from pipelines.objects import ObjectStore
from pipelines.store import (
    ExecutionRecord,
    IdempotencyRecord,
    InvalidNextToken,
    ListQuery,
    PipelineRecord,
    Store,
)

T = TypeVar("T")
DEFAULT_MAX_RESULTS = 10  # SageMaker's List* default page size
_ARN_NAME = "pipeline/"


class ExecutionRuntime(Protocol):
    """Starts and controls executions: the engine's decisions plus something that carries them
    out in the background (:class:`pipelines.runtime.embedded.EmbeddedRuntime` in ``pipelines
    serve``; the engine Lambda's event loop in the cloud). Each call returns at once.

    ``client_request_token`` (a request's ClientRequestToken; StartRequest carries its own) is
    recorded by the engine in the transaction of the decision, so a repeat answers as the
    first call did (``pipelines.engine.idempotency``)."""

    def start(self, request: StartRequest) -> ExecutionRecord: ...

    def stop(self, execution: str, *, client_request_token: str | None = None) -> ExecutionRecord: ...

    def retry(
        self, execution: str, *, parallelism: int | None = None, client_request_token: str | None = None
    ) -> ExecutionRecord: ...

    def update_execution(self, execution: str, **changes: Any) -> ExecutionRecord: ...

    def callback_success(
        self,
        token: str,
        outputs: Mapping[str, Any],
        *,
        background: bool = False,
        client_request_token: str | None = None,
    ) -> ExecutionRecord: ...

    def callback_failure(
        self, token: str, reason: str, *, background: bool = False, client_request_token: str | None = None
    ) -> ExecutionRecord: ...


class IdempotencyMismatch(ValidationError):
    """A ClientRequestToken reused for a different request."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"The ClientRequestToken was already used for a different {operation} request; "
            "use a new token for a new request."
        )


@dataclass
class Operations:
    """The dependencies of the SageMaker operations (see :mod:`pipelines.api.ops`)."""

    store: Store
    runtime: ExecutionRuntime
    objects: ObjectStore
    region: str
    sharing: SharingPolicy = field(default_factory=NoSharing)
    clock: Clock = field(default_factory=SystemClock)
    # DeletePipeline calls each with the pipeline's ARN once it is marked Deleting and *before*
    # it deletes the record (the scheduler drops its schedules, the rules their targets, RAM its
    # shares), so a call that dies half-way is finished by its retry: each must be idempotent, a
    # no-op when nothing is left (pipelines.engine.pipelines.delete_pipeline).
    on_pipeline_deleted: list[Callable[[str], object]] = field(default_factory=list)

    # -- naming -----------------------------------------------------------------------------
    def pipeline(self, name_or_arn: str, ctx: CallContext, action: str) -> PipelineRecord:
        """The pipeline a request names, if the caller may perform ``action`` on it.

        A bare name means the caller's own pipeline; an ARN may name another account's
        pipeline, which then needs a share granting ``action``.
        """
        if name_or_arn.startswith("arn:"):
            if owner_of(name_or_arn) != ctx.account_id:
                # another account's pipeline: denied unless shared, before any lookup, so that
                # whether an unshared pipeline exists is never revealed
                authorize(self.sharing, ctx.account_id, action, name_or_arn)
            named = self._pipeline_by_arn(name_or_arn)
            authorize(self.sharing, ctx.account_id, action, named.arn)
            return named
        # names are per account: a bare name is looked up in the caller's account only
        own = self.store.get_pipeline(pipeline_arn(ctx.region, ctx.account_id, name_or_arn))
        if own is None:
            raise PipelineNotFound(name_or_arn)
        return own

    def _pipeline_by_arn(self, arn: str) -> PipelineRecord:
        name = arn.partition(_ARN_NAME)[2]
        if not name or "/" in name:
            raise ValidationError(f"Invalid pipeline ARN: {arn!r}")
        record: PipelineRecord | None = self.store.get_pipeline(arn)
        if record is None:
            raise PipelineNotFound(arn)
        return record

    def execution(self, execution_arn: str, ctx: CallContext, action: str) -> ExecutionRecord:
        """The execution an ARN names, if the caller may perform ``action`` on its pipeline."""
        try:
            execution_id = execution_id_of(execution_arn)
        except InvalidArn as exc:
            raise ValidationError(str(exc)) from exc
        pipeline_part = execution_arn.rpartition("/execution/")[0]
        if owner_of(execution_arn) != ctx.account_id:  # as in pipeline(): no lookup before the share check
            authorize(self.sharing, ctx.account_id, action, pipeline_part)
        record = self.store.get_execution(execution_id)
        if record is None or record.execution_arn.lower() != execution_arn.lower():
            raise ExecutionNotFound(execution_arn)
        authorize(self.sharing, ctx.account_id, action, record.pipeline_arn)
        return record

    # -- idempotency ------------------------------------------------------------------------
    def idempotent(
        self, operation: str, params: dict[str, Any], ctx: CallContext, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run once per ClientRequestToken: a repeat of the same request gets the first answer,
        the same token on a different request is refused."""
        token = params.get("ClientRequestToken")
        if not token:
            return run()
        fingerprint = _fingerprint(ctx.account_id, params)
        previous = self.store.get_idempotency(token, operation)
        if previous is not None:
            if previous.fingerprint != fingerprint:
                raise IdempotencyMismatch(operation)
            return dict(previous.result)
        result = run()
        self.store.put_idempotency(
            IdempotencyRecord(
                token=token,
                operation=operation,
                fingerprint=fingerprint,
                result=result,
                created_at=self.clock.now(),
            )
        )
        return result


def request_token(operation: str, params: dict[str, Any], ctx: CallContext) -> RequestToken | None:
    """The request's ClientRequestToken, for an operation that records it in the same write as
    what it changes (``pipelines.engine.idempotency``); None without one. The digest is the one
    :meth:`Operations.idempotent` records, so a token recorded either way replays."""
    token = params.get("ClientRequestToken")
    return RequestToken(operation, token, _fingerprint(ctx.account_id, params)) if token else None


def _fingerprint(account_id: str, params: dict[str, Any]) -> str:
    relevant = {k: v for k, v in params.items() if k != "ClientRequestToken"}
    text = json.dumps([account_id, relevant], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- paging ---------------------------------------------------------------------------------------


def list_query(
    params: dict[str, Any], *, sort_by: str = "CreationTime", name_prefix: str | None = None
) -> ListQuery:
    """A store query from a List* request's common members."""
    store_sort: Literal["CreationTime", "Name"] = "Name" if sort_by == "Name" else "CreationTime"
    return ListQuery(
        limit=params.get("MaxResults", DEFAULT_MAX_RESULTS),
        next_token=params.get("NextToken"),
        ascending=params.get("SortOrder") == "Ascending",
        sort_by=store_sort,
        created_after=params.get("CreatedAfter"),
        created_before=params.get("CreatedBefore"),
        name_prefix=name_prefix,
    )


def page_of(
    items: Sequence[T],
    params: dict[str, Any],
    listing: str,
    *,
    limit: int | None = None,
    token_member: str = "NextToken",
    invalid: Callable[[], Exception] = InvalidNextToken,
) -> tuple[list[T], str | None]:
    """One page of an in-memory list, with a next token bound to ``listing`` (``invalid()`` is
    raised for a token that is not one of ours or belongs to another listing)."""
    limit = params.get("MaxResults", DEFAULT_MAX_RESULTS) if limit is None else limit
    start = 0
    token = params.get(token_member)
    if token:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise invalid() from exc
        if not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] != listing:
            raise invalid()
        start = int(decoded[1])
    end = start + limit
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps([listing, end]).encode()).decode()
    return list(items[start:end]), next_token


def parallelism(value: int | None) -> dict[str, int] | None:
    return None if value is None else {"MaxParallelExecutionSteps": value}


def user_context(value: dict[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


def caller_user_context(ctx: CallContext) -> dict[str, Any]:
    """SageMaker's UserContext for the caller (CreatedBy / LastModifiedBy): its IAM identity.
    Without a known principal (the local server has no IAM) the caller is its account's root,
    whose PrincipalId is the account id, as STS reports it."""
    arn = ctx.principal_arn or f"arn:aws:iam::{ctx.account_id}:root"
    identity: dict[str, str] = {"Arn": arn}
    if ctx.principal_arn is None:
        identity["PrincipalId"] = ctx.account_id
    return {"IamIdentity": identity}


def latest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None
