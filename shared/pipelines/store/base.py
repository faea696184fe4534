"""The Store: every record the service keeps, and the one way the engine changes them.

Both runtimes keep the same records (SQLite embedded, DynamoDB in the cloud). The engine never
updates a record in place: it reads an :class:`ExecutionState`, decides, and hands the store a
:class:`Transition` that is applied atomically and only if nothing changed since the read (the
execution's ``version`` and each written step's ``version`` must still match). A duplicate or
racing event therefore loses the race with :class:`StaleWrite` and is re-decided against the
fresh state, so no step starts twice and no result is lost.

Records are frozen pydantic models: derive a changed record with ``record.model_copy(update=...)``.
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from pipelines.errors import ConflictError, ResourceNotFound, ValidationError

ExecutionStatus = Literal["Executing", "Stopping", "Stopped", "Failed", "Succeeded", "CompletedWithFailures"]
"""botocore's PipelineExecutionStatus. CompletedWithFailures: every failure was handled by a step
with a ``Failed``/``Any`` DependsOn trigger (engine/failure_policy.py)."""
StepStatus = Literal["Starting", "Executing", "Stopping", "Stopped", "Failed", "Succeeded"]
PipelineStatus = Literal["Active", "Deleting"]
"""botocore's PipelineStatus. Deleting: a DeletePipeline is removing what points at the pipeline
(schedules, rule targets, shares) before it deletes the record (engine/pipelines.py)."""

TERMINAL_EXECUTION_STATUSES: frozenset[str] = frozenset(
    {"Stopped", "Failed", "Succeeded", "CompletedWithFailures"}
)
ACTIVE_EXECUTION_STATUSES: frozenset[str] = frozenset({"Executing", "Stopping"})
TERMINAL_STEP_STATUSES: frozenset[str] = frozenset({"Stopped", "Failed", "Succeeded"})
RUNNING_STEP_STATUSES: frozenset[str] = frozenset({"Starting", "Executing", "Stopping"})


class StoreError(ConflictError):
    """Base of the store's own errors."""


class StaleWrite(StoreError):
    """A conditional write lost: the record changed (or appeared) since it was read."""


class RecordExists(StoreError):
    """An insert found the record already there."""


class RecordNotFound(ResourceNotFound):
    """The record to change does not exist."""


class InvalidNextToken(ValidationError):
    """A NextToken this store did not issue, or one issued for another listing."""

    def __init__(self) -> None:
        super().__init__("Invalid pagination token (NextToken).")


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- pipelines ----------------------------------------------------------------------------------


class RoleGrant(Record):
    """A RoleArn passed for a pipeline, with who passed it (after the caller's ``iam:PassRole``
    check): the engine runs an execution only as a role its pipeline holds a grant for."""

    role_arn: str
    passed_by: str  # the principal ARN that passed it
    passed_at: datetime


class PipelineRecord(Record):
    """A pipeline belongs to the account in its ARN and is keyed by that ARN (names are per
    account and, as the ARN holds the lower-cased name, unique regardless of case)."""

    name: str
    arn: str
    definition: str  # the latest version's definition text
    role_arn: str | None = None
    display_name: str | None = None
    description: str | None = None
    parallelism: int | None = None  # MaxParallelExecutionSteps
    tags: list[dict[str, str]] = Field(default_factory=list)
    latest_version_id: int = 1
    created_at: datetime
    modified_at: datetime
    last_run_at: datetime | None = None
    created_by: dict[str, Any] | None = None
    modified_by: dict[str, Any] | None = None
    # PipelineVersionAliases: alias -> the version it names. Kept on the pipeline row so moving
    # an alias between versions is one conditional write.
    aliases: dict[str, int] = Field(default_factory=dict)
    # Every role ever passed for this pipeline (a running execution keeps the role it started
    # with). A record written before grants existed has none: see pipelines.engine.roles.
    role_grants: list[RoleGrant] = Field(default_factory=list)
    status: PipelineStatus = "Active"
    """Deleting from the first write of a DeletePipeline until its last: nothing new may point
    at the pipeline meanwhile (no start, update, schedule, rule target or share)."""
    version: int = 1  # row version for conditional updates

    def granted(self, role_arn: str) -> RoleGrant | None:
        """The grant recording who passed ``role_arn`` for this pipeline (None: never passed)."""
        return next((g for g in self.role_grants if g.role_arn == role_arn), None)

    def with_grant(self, role_arn: str, passed_by: str, at: datetime) -> list[RoleGrant]:
        """``role_grants`` with ``role_arn`` recorded as passed by ``passed_by`` (the latest
        passer replaces an earlier one of the same role)."""
        kept = [g for g in self.role_grants if g.role_arn != role_arn]
        return [*kept, RoleGrant(role_arn=role_arn, passed_by=passed_by, passed_at=at)]


class PipelineVersionRecord(Record):
    pipeline_name: str
    version_id: int
    pipeline_arn: str  # the key of its pipeline
    definition: str
    created_at: datetime
    display_name: str | None = None
    description: str | None = None
    created_by: dict[str, Any] | None = None


# -- executions and steps -----------------------------------------------------------------------


class SelectiveExecutionConfig(Record):
    source_execution_arn: str | None = None
    selected_steps: list[str]


class ExperimentBinding(Record):
    """The experiment and run group (trial) an execution's jobs are recorded under."""

    experiment_name: str
    trial_name: str


class MlflowBinding(Record):
    """Where an execution's MLflow runs go, fixed at start (DescribePipelineExecution's
    ``MLflowConfig``): the definition's tracking server, the experiment (the start request's
    MlflowExperimentName, else the definition's, else the pipeline name) and the parent run's
    name (the definition's MlflowRunName, else the display name, else the execution id)."""

    resource_arn: str
    experiment_name: str
    run_name: str


class ExecutionRecord(Record):
    execution_id: str  # 12 lowercase alphanumerics
    execution_arn: str
    pipeline_name: str
    pipeline_arn: str
    pipeline_version_id: int | None = None
    role_arn: str | None = None
    """The pipeline's RoleArn when the execution started: every step of it runs as that role,
    whatever UpdatePipeline does to the pipeline meanwhile (as the service binds it)."""
    definition: str  # snapshot taken at start (DescribePipelineDefinitionForExecution)
    parameters: dict[str, Any] = Field(default_factory=dict)  # coerced by declared type
    status: ExecutionStatus = "Executing"
    failure_reason: str | None = None
    parallelism: int | None = None  # the effective MaxParallelExecutionSteps (None: unlimited)
    selective: SelectiveExecutionConfig | None = None
    experiment: ExperimentBinding | None = None
    mlflow: MlflowBinding | None = None  # None: the definition has no MlflowConfig
    display_name: str | None = None
    description: str | None = None
    created_at: datetime
    modified_at: datetime
    ended_at: datetime | None = None
    created_by: dict[str, Any] | None = None
    modified_by: dict[str, Any] | None = None
    run: int = 1  # 1 + the number of RetryPipelineExecution calls
    ended_at_fail_step: bool = False
    version: int = 1  # bumped by every transition; the engine's compare-and-swap token


class FailureNote(Record):
    """One failed attempt, kept so retry policies can count per exception type and run."""

    attempt: int
    run: int
    exception_type: str | None  # one of the five retry exception types, or None
    reason: str
    at: datetime


class IterationContext(Record):
    """Which ForEach iteration a step record runs (botocore ``IterationContext``): the ForEach
    step, the iteration's index and its item. ``item`` is the item as the API lists it (text,
    at most 12,800 characters); ``value`` is the item itself (a JSON value), which
    ``ForEach.CurrentItem`` reads."""

    parent_step_name: str
    index: int
    item: str
    value: Any = None


class StepRecord(Record):
    """One step of one execution. A record exists only once the step started, was reused from
    the cache or a reference execution, or was decided (Condition/Fail): there is no Skipped."""

    execution_id: str
    step_name: str
    step_type: str
    display_name: str | None = None
    description: str | None = None
    status: StepStatus = "Starting"
    attempt: int = 1  # AttemptCount; 0 for reused steps
    run: int = 1  # the execution run this attempt belongs to
    job_name: str | None = None
    arguments: Any = None  # resolved Arguments of the current attempt
    step_fields: dict[str, Any] = Field(default_factory=dict)  # resolved step-level fields
    experiment_config: dict[str, str] | None = None
    not_before: datetime | None = None  # a retry waits until then
    first_started_at: datetime | None = None  # start of attempt 1 (ExpireAfterMin counts from it)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)  # PipelineExecutionStep.Metadata
    properties: dict[str, Any] | None = None  # what Steps.<name>.<path> reads
    property_files: dict[str, Any] = Field(default_factory=dict)  # PropertyFileName -> parsed JSON
    failure_reason: str | None = None
    failures: list[FailureNote] = Field(default_factory=list)
    cache_key: str | None = None
    cache_hit_source_arn: str | None = None  # CacheHitResult.SourcePipelineExecutionArn
    selective_source_arn: str | None = None  # SelectiveExecutionResult.SourcePipelineExecutionArn
    callback_token: str | None = None
    waiting_for_callback: bool = False  # the runner handed off; only a callback completes it
    stop_notice_pending: bool = False  # a Callback step still owes its "Stopping" message
    iteration: IterationContext | None = None
    """Set on a ForEach iteration's step (``<BodyStep>-<index>``): see engine/for_each.py."""
    start_sequence: int = 0
    """Where this attempt's start falls among the execution's step starts (1, 2, ...; 0: never
    started, or written before sequences existed). Several steps often share a StartTime (cache
    hits, or a batch claimed in one decision); listings break that tie by this engine order."""
    version: int = 1


class CacheEntry(Record):
    """A successful run of a cacheable step, reusable by later executions of the same pipeline
    (the same ARN: another account's pipeline of the same name never shares it)."""

    pipeline_name: str
    pipeline_arn: str  # the lookup key
    cache_key: str
    step_type: str
    step_name: str
    execution_id: str
    execution_arn: str
    completed_at: datetime
    properties: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)
    property_files: dict[str, Any] = Field(default_factory=dict)


class CallbackTokenRecord(Record):
    token: str  # 10 chars [a-zA-Z0-9]
    execution_id: str
    step_name: str
    attempt: int
    created_at: datetime


class ExperimentRecord(Record):
    name: str
    created_at: datetime
    source_pipeline_name: str | None = None


class TrialRecord(Record):
    """A run group: one per execution unless a custom TrialName groups several."""

    name: str
    experiment_name: str
    created_at: datetime
    source_execution_arn: str | None = None


class TrialComponentRecord(Record):
    """A run: one per job a pipeline step started."""

    name: str  # the job name
    trial_name: str
    experiment_name: str
    display_name: str | None = None
    execution_id: str
    step_name: str
    step_type: str
    created_at: datetime


class IdempotencyRecord(Record):
    """The outcome of a request made with a ClientRequestToken, replayed for a repeat."""

    token: str
    operation: str
    fingerprint: str  # hash of the request; a different request with the same token is an error
    result: dict[str, Any]
    created_at: datetime


class TrackingWarningRecord(Record):
    """A tracking write that was dropped (the MLflow server was down or slow): it never fails a
    step, so it is kept here, where ``pipelines steps`` finds it in either runtime
    (``pipelines.tracking.notices``). ``step_name`` None: the execution's own run."""

    execution_id: str
    step_name: str | None = None
    message: str
    at: datetime


class OutboxRecord(Record):
    """The status-change events one transition made, written in that transition's transaction
    (the transactional outbox): a decision and its events are recorded together or not at all.

    ``events`` are the events as a rule target receives them (``pipelines.events``' envelope,
    each with its stable ``id``), in the order the engine made the changes. ``version`` is the
    execution version the transition wrote, so (execution, version) names one decision: only
    one transition ever commits a version. The record lives until the events are published,
    then it is deleted. ``claimant`` is the process that is to publish them and ``claimed_at``
    when it took that on (first the process that committed them); another process claims a
    record only once that claim is abandoned (see ``pipelines.events.outbox``).

    ``launched``: the (step, attempt) of the StepRunners the decision launched, when its
    publisher holds the record until the decision on one of their reports settles it instead
    of removing it itself (the cloud runtime: no write of its own). Listed only while the
    execution is active; a record listed with ``launched`` is not abandoned by age.
    ``settles``: versions of the execution whose events are known published, removed by the
    transaction that writes this record (not stored)."""

    execution_id: str
    version: int
    claimant: str
    claimed_at: datetime
    events: list[dict[str, Any]]
    launched: list[tuple[str, int]] = Field(default_factory=list)
    settles: list[int] = Field(default_factory=list)


class LeaseRecord(Record):
    """Which embedded driver is carrying out an execution's actions, and its last heartbeat."""

    execution_id: str
    owner: str  # "<host>:<pid>:<nonce>"
    heartbeat_at: datetime


# -- reading and writing executions ---------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionState:
    """A consistent read of one execution and all its step records."""

    execution: ExecutionRecord
    steps: dict[str, StepRecord]


@dataclass(frozen=True)
class StepWrite:
    """Put ``record``; ``expected_version`` None means the step must not have a record yet."""

    record: StepRecord
    expected_version: int | None


@dataclass
class Transition:
    """Everything one engine decision changes, applied all-or-nothing.

    ``execution`` is the new execution record; it is written only if the stored version is
    ``expected_version`` (None: the execution is new and must not exist). Each step write is
    conditional too. Cache entries, callback tokens and experiment records are inserted
    (experiment/trial records only if absent). ``release_callback_tokens`` are deleted.
    ``outbox`` (the status-change events of the decision) is inserted with it, and the
    earlier records it settles are removed. Runs
    (trial components) are not part of a decision: the runtime records one when it starts the
    job (:meth:`Store.record_run`).
    """

    execution: ExecutionRecord
    expected_version: int | None
    steps: list[StepWrite] = field(default_factory=list)
    cache_entries: list[CacheEntry] = field(default_factory=list)
    callback_tokens: list[CallbackTokenRecord] = field(default_factory=list)
    release_callback_tokens: list[str] = field(default_factory=list)
    experiments: list[ExperimentRecord] = field(default_factory=list)
    trials: list[TrialRecord] = field(default_factory=list)
    idempotency: IdempotencyRecord | None = None
    outbox: OutboxRecord | None = None


# -- listing ------------------------------------------------------------------------------------


def pipeline_key(arn: str) -> str:
    """How both stores key a pipeline: its ARN, lower-cased (ARNs carry the lower-cased name, so
    a client's ``.../pipeline/MyPipeline`` finds ``mypipeline``)."""
    return arn.lower()


@lru_cache(maxsize=1024)
def timestamp(value: datetime) -> str:
    """Fixed-width UTC text, so string order is time order (memoised: one decision stamps
    every record it writes with the same few times)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def step_listing_key(record: StepRecord) -> str:
    """The sort key of ListPipelineExecutionSteps: StartTime, then the order the steps started.

    Both stores order step listings by this key, then by step name, so ties within one start
    follow the engine rather than the alphabet; never-started steps come first.
    """
    started = timestamp(record.started_at) if record.started_at is not None else ""
    return f"{started}#{record.start_sequence:010d}"


@dataclass(frozen=True)
class ListQuery:
    """One page of a listing ordered by ``sort_by`` then id (stable for NextToken)."""

    limit: int = 100
    next_token: str | None = None
    ascending: bool = False
    sort_by: Literal["CreationTime", "Name"] = "CreationTime"
    created_after: datetime | None = None
    created_before: datetime | None = None
    name_prefix: str | None = None  # pipelines only: PipelineNamePrefix (case-insensitive contains)


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None = None


def encode_token(listing: str, key: Sequence[str]) -> str:
    """A NextToken carrying the sort key of the last item returned, bound to one listing."""
    return base64.urlsafe_b64encode(json.dumps([listing, *key]).encode()).decode()


def decode_token(listing: str, token: str) -> list[str]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidNextToken() from exc
    if not isinstance(parts, list) or not parts or parts[0] != listing:
        raise InvalidNextToken()
    return [str(p) for p in parts[1:]]


# -- the store ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineWrite:
    """One all-or-nothing write of a pipeline: its row, conditional on ``expected_version``
    (None: the pipeline must not exist yet), with ``new_version`` inserted (it must not exist)
    and ``changed_version`` replaced (it must exist)."""

    pipeline: PipelineRecord
    expected_version: int | None
    new_version: PipelineVersionRecord | None = None
    changed_version: PipelineVersionRecord | None = None


MAX_CACHED_STATES = 256


class Store(ABC):
    """What the engine, the API and the CLI need from persistence (see the module docstring),
    and the flow both backends share, over the storage primitives each implements -- the shape
    of Powertools' idempotency persistence layers. The flow: :meth:`apply` and
    :meth:`load_state` (through the per-process memo below), the pipeline writes (one
    :meth:`_write_pipeline`; what a lost condition means is decided here) and the lease
    takeovers (one :meth:`_take_lease`). A backend implements the abstract methods and maps
    records with :mod:`pipelines.store.mapping`.

    The memo: a state is remembered after a read or an applied transition and forgotten whenever
    the cached version cannot be trusted. Since every change to an execution's steps goes through
    :meth:`apply`, which bumps the execution's version, a state whose version still matches the
    stored one is exactly what a full read would return, so a read of an unchanged execution is
    one small lookup.
    """

    transition_limit: int | None
    """The most step and callback-token records one :class:`Transition` may write (None: any
    number). The engine cuts a larger decision into several, each a valid state."""

    def __init__(self) -> None:
        self._states: dict[str, ExecutionState] = {}
        self._states_lock = threading.Lock()
        """Guards the memo (backends guard their own per-process memos with it too)."""

    # pipelines: keyed by ARN (``pipeline_arn(region, account, name)``), so names are per account
    def create_pipeline(self, pipeline: PipelineRecord, version: PipelineVersionRecord) -> None:
        """Insert a pipeline and its first version; RecordExists if its ARN is taken (the same
        name, in any case, in the same account and region)."""
        try:
            self._write_pipeline(PipelineWrite(pipeline, None, new_version=version))
        except StaleWrite as exc:
            raise RecordExists(f"Pipeline {pipeline.name} already exists.") from exc

    def update_pipeline(
        self,
        pipeline: PipelineRecord,
        expected_version: int,
        new_version: PipelineVersionRecord | None = None,
        changed_version: PipelineVersionRecord | None = None,
    ) -> None:
        """Replace the pipeline row if its ``version`` is still ``expected_version`` (else
        StaleWrite; RecordNotFound if gone), adding ``new_version`` when the definition changed
        and, in the same write, replacing the existing ``changed_version`` (UpdatePipelineVersion;
        RecordNotFound if there is no such version)."""
        try:
            self._write_pipeline(PipelineWrite(pipeline, expected_version, new_version, changed_version))
        except StaleWrite:
            if self.get_pipeline(pipeline.arn) is None:
                raise RecordNotFound(f"Pipeline {pipeline.name} does not exist.") from None
            if changed_version is not None and (
                self.get_pipeline_version(changed_version.pipeline_arn, changed_version.version_id) is None
            ):
                raise RecordNotFound(
                    f"Pipeline {pipeline.name} has no version {changed_version.version_id}."
                ) from None
            raise StaleWrite(f"Pipeline {pipeline.name} changed concurrently.") from None

    @abstractmethod
    def delete_pipeline(
        self, arn: str, *, expected_version: int | None = None, request: IdempotencyRecord | None = None
    ) -> None:
        """Delete the pipeline, its versions and its last run, all or nothing (executions stay,
        as the service keeps them). RecordNotFound when there is no such pipeline; StaleWrite
        when its ``version`` is not ``expected_version`` (if given) or ``request`` (the
        DeletePipeline's ClientRequestToken and answer, inserted in the same write, so a retry
        of a call that died after it replays the answer) is already recorded."""

    @abstractmethod
    def record_last_run(self, arn: str, started_at: datetime) -> None:
        """Move the pipeline's ``last_run_at`` (LastRunTime) forward to ``started_at``; never
        back, so concurrent starts converge. A missing pipeline is left alone, and nothing of it
        is written: a start racing its DeletePipeline never brings a deleted pipeline's state
        back."""

    @abstractmethod
    def get_pipeline(self, arn: str) -> PipelineRecord | None: ...

    @abstractmethod
    def list_pipelines(self, query: ListQuery) -> Page[PipelineRecord]:
        """Every account's pipelines (the API layer shows each account its own)."""

    @abstractmethod
    def get_pipeline_version(self, arn: str, version_id: int) -> PipelineVersionRecord | None: ...

    @abstractmethod
    def list_pipeline_versions(self, arn: str, query: ListQuery) -> Page[PipelineVersionRecord]: ...

    # executions
    def apply(self, transition: Transition) -> None:
        """Apply atomically; StaleWrite if any condition fails (nothing is written then)."""
        try:
            self._commit(transition)
        except StaleWrite:
            self._forget(transition.execution.execution_id)
            raise
        self._remember_applied(transition)

    @abstractmethod
    def get_execution(self, execution_id: str) -> ExecutionRecord | None: ...

    def load_state(self, execution_id: str) -> ExecutionState | None:
        """The execution and all its step records (one small version read when the memo holds
        the execution at its stored version)."""
        with self._states_lock:
            cached = self._states.get(execution_id)
        if cached is not None:
            version = self._stored_version(execution_id)
            if version is None:
                return None
            if version == cached.execution.version:
                return cached
        state = self._read_state(execution_id)
        if state is not None:
            self._remember(state)
        return state

    @abstractmethod
    def list_executions(self, pipeline_arn: str | None, query: ListQuery) -> Page[ExecutionRecord]:
        """The executions of one pipeline (by ARN), or of all."""

    @abstractmethod
    def list_unfinished_executions(self) -> list[ExecutionRecord]:
        """Executions still Executing or Stopping (what ``resume`` picks up)."""

    @abstractmethod
    def list_steps(self, execution_id: str, query: ListQuery) -> Page[StepRecord]:
        """Step records ordered by :func:`step_listing_key` (start time, then start order), then name."""

    # cache and callbacks
    @abstractmethod
    def find_cache_entry(self, pipeline_arn: str, cache_key: str, newer_than: datetime) -> CacheEntry | None:
        """The newest entry for the key completed at or after ``newer_than``."""

    @abstractmethod
    def get_callback(self, token: str) -> CallbackTokenRecord | None: ...

    # experiments
    @abstractmethod
    def list_experiments(self, query: ListQuery) -> Page[ExperimentRecord]: ...

    @abstractmethod
    def list_trials(self, experiment_name: str | None, query: ListQuery) -> Page[TrialRecord]: ...

    @abstractmethod
    def list_trial_components(
        self, trial_name: str | None, query: ListQuery
    ) -> Page[TrialComponentRecord]: ...

    @abstractmethod
    def record_run(self, run: TrialComponentRecord) -> None:
        """Insert a run unless one of that name exists: a runtime records it right before it
        starts the run's job, so a start repeated after a crash records it once."""

    # idempotency (ClientRequestToken)
    @abstractmethod
    def get_idempotency(self, token: str, operation: str) -> IdempotencyRecord | None: ...

    @abstractmethod
    def put_idempotency(self, record: IdempotencyRecord) -> bool:
        """Insert; False when a record for (token, operation) already exists."""

    # driver leases (embedded runtime)
    def acquire_lease(self, execution_id: str, owner: str, now: datetime, stale_before: datetime) -> bool:
        """Take the lease if free, already ours, or its heartbeat is older than ``stale_before``."""
        lease = LeaseRecord(execution_id=execution_id, owner=owner, heartbeat_at=now)
        return self._take_lease(lease, holder=owner, stale_before=stale_before)

    def force_lease(self, execution_id: str, owner: str, now: datetime, expected_owner: str) -> bool:
        """Take the lease from ``expected_owner`` (known dead) if it still holds it."""
        lease = LeaseRecord(execution_id=execution_id, owner=owner, heartbeat_at=now)
        return self._take_lease(lease, holder=expected_owner, stale_before=None)

    @abstractmethod
    def renew_lease(self, execution_id: str, owner: str, now: datetime) -> bool: ...

    @abstractmethod
    def release_lease(self, execution_id: str, owner: str) -> None: ...

    @abstractmethod
    def get_lease(self, execution_id: str) -> LeaseRecord | None: ...

    @abstractmethod
    def add_tracking_warning(self, warning: TrackingWarningRecord) -> None:
        """Keep one dropped tracking write; never part of a transition (it must not contend
        with the engine's writes), and every call adds one record."""

    @abstractmethod
    def list_tracking_warnings(self, execution_id: str) -> list[TrackingWarningRecord]:
        """The execution's tracking warnings, oldest first."""

    # status-change events not yet published (the outbox: Transition.outbox)
    @abstractmethod
    def list_outbox(
        self, execution_id: str | None, limit: int = 100, skip: Collection[int] = ()
    ) -> list[OutboxRecord]:
        """Unpublished outbox records of one execution (None: of every execution), at most
        ``limit``, each execution's in version order, leaving out (and not decoding) the
        versions in ``skip``: those the caller holds, such as the records it just wrote."""

    @abstractmethod
    def claim_outbox(self, record: OutboxRecord, claimant: str, now: datetime) -> OutboxRecord | None:
        """Make ``claimant`` the publisher of ``record``, if its stored claim is still the one
        ``record`` holds (else None: another process claimed or published it meanwhile); the
        stored ``launched`` becomes ``record.launched`` (an empty one drops the hold)."""

    @abstractmethod
    def delete_outbox(self, records: Sequence[OutboxRecord]) -> None:
        """Forget published records (deleting one already gone is no error)."""

    @abstractmethod
    def close(self) -> None: ...

    # -- the backend's primitives -------------------------------------------------------------------

    @abstractmethod
    def _write_pipeline(self, write: PipelineWrite) -> None:
        """Write every record of ``write`` or none; StaleWrite when a condition fails."""

    @abstractmethod
    def _commit(self, transition: Transition) -> None:
        """Write every record of ``transition`` or none; StaleWrite when a condition fails."""

    @abstractmethod
    def _stored_version(self, execution_id: str) -> int | None:
        """The execution's stored version (None: no such execution), read cheaply."""

    @abstractmethod
    def _read_state(self, execution_id: str) -> ExecutionState | None:
        """The execution and all its step records, read consistently."""

    @abstractmethod
    def _take_lease(self, lease: LeaseRecord, holder: str, stale_before: datetime | None) -> bool:
        """Write ``lease`` if the execution has none, ``holder`` holds it, or (``stale_before``
        given) its heartbeat is older than ``stale_before``; else False, writing nothing."""

    # -- the memo -----------------------------------------------------------------------------------

    def _remember(self, state: ExecutionState) -> None:
        with self._states_lock:
            self._states[state.execution.execution_id] = state
            if len(self._states) > MAX_CACHED_STATES:
                self._states.pop(next(iter(self._states)))

    def _forget(self, execution_id: str) -> None:
        with self._states_lock:
            self._states.pop(execution_id, None)

    def _remember_applied(self, transition: Transition) -> None:
        execution_id = transition.execution.execution_id
        with self._states_lock:
            cached = self._states.get(execution_id)
        if transition.expected_version is None:
            steps: dict[str, StepRecord] = {}
        elif cached is not None and cached.execution.version == transition.expected_version:
            steps = dict(cached.steps)
        else:
            self._forget(execution_id)
            return
        for write in transition.steps:
            steps[write.record.step_name] = write.record
        self._remember(ExecutionState(transition.execution, steps))
