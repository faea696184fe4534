"""Persistence behind one protocol: SQLite (embedded) and DynamoDB (cloud).

Public API (``pipelines.store``)::

    Store (abstract base class)            see store/base.py for every method
      # pipelines, keyed by ARN: names are per account (the API layer builds on these)
      create_pipeline(pipeline: PipelineRecord, version: PipelineVersionRecord) -> None   # RecordExists
      update_pipeline(pipeline, expected_version: int, new_version: PipelineVersionRecord | None = None)
      delete_pipeline(arn, *, expected_version=None, request: IdempotencyRecord | None = None)
                                                              # all or nothing, the token with it
      record_last_run(arn, started_at) -> None                # LastRunTime, only ever forward;
                                                              # never recreates a deleted pipeline's
      get_pipeline(arn) -> PipelineRecord | None
      list_pipelines(query: ListQuery) -> Page[PipelineRecord]
      get_pipeline_version(arn, version_id) -> PipelineVersionRecord | None
      list_pipeline_versions(arn, query) -> Page[PipelineVersionRecord]
      # executions: the engine writes only through apply()
      apply(transition: Transition) -> None                   # all-or-nothing; StaleWrite on conflict
      get_execution(execution_id) -> ExecutionRecord | None
      load_state(execution_id) -> ExecutionState | None       # execution + all step records
      list_executions(pipeline_arn | None, query) -> Page[ExecutionRecord]
      list_unfinished_executions() -> list[ExecutionRecord]
      list_steps(execution_id, query) -> Page[StepRecord]
      find_cache_entry(pipeline_arn, cache_key, newer_than) -> CacheEntry | None
      get_callback(token) -> CallbackTokenRecord | None
      list_experiments(query) / list_trials(experiment_name, query) / list_trial_components(trial_name, query)
      record_run(run: TrialComponentRecord) -> None           # if absent; runtimes, before the job starts
      get_idempotency(token, operation) / put_idempotency(record) -> bool
      add_tracking_warning(warning) / list_tracking_warnings(execution_id)   # dropped MLflow writes
      # the transactional outbox: a transition's status events (Transition.outbox) until published
      list_outbox(execution_id | None, limit, skip=versions) -> list[OutboxRecord]
      claim_outbox(record, claimant, now) -> OutboxRecord | None   # compare-and-swap on the claim
      delete_outbox(records) -> None                                # published
      acquire_lease / force_lease / renew_lease / release_lease / get_lease   # embedded driver ownership
      close()

    SQLiteStore(path)                      WAL; migrations store/migrations/NNNN_*.sql, applied on open by the
                                           state file's one runner (pipelines.sqlite_schema: schema_migrations)
    open_store(config) -> SQLiteStore      the embedded store at config.database_path
    DynamoDBStore(tables, ...)             store/dynamodb.py (docs/dynamodb.md); open_backend(kind, location)

Records (frozen pydantic; change with ``model_copy(update=...)``): PipelineRecord,
PipelineVersionRecord, ExecutionRecord, StepRecord, CacheEntry, CallbackTokenRecord,
ExperimentRecord, TrialRecord, TrialComponentRecord, IdempotencyRecord, TrackingWarningRecord,
OutboxRecord (a transition's status-change events, pipelines.events.outbox), LeaseRecord,
SelectiveExecutionConfig, ExperimentBinding, MlflowBinding, FailureNote, RoleGrant
(who passed a pipeline's RoleArn: the engine runs only as granted roles). A backend's pipeline write: PipelineWrite. Listing: ListQuery(limit, next_token,
ascending, sort_by, created_after, created_before, name_prefix) -> Page(items, next_token).
Errors: StaleWrite, RecordExists (ConflictError), RecordNotFound (ResourceNotFound),
InvalidNextToken (ValidationError).

How the modules split the work (a new backend follows the same split):

* ``base.py``: the records and ``Store``: the contract, and the flow both backends share (as
  Powertools' idempotency persistence layers do) over the primitives a backend implements:
  ``apply`` (commit, then keep the execution-state memo right) and ``load_state`` (the memo: an
  unchanged execution is one small version read) over ``_commit(transition)``,
  ``_stored_version(id)`` and ``_read_state(id)``; ``create_pipeline``/``update_pipeline``
  (what a lost condition means: RecordExists, RecordNotFound or StaleWrite) over
  ``_write_pipeline(PipelineWrite)``; ``acquire_lease``/``force_lease`` over
  ``_take_lease(lease, holder, stale_before)``. Every other method is abstract: one storage
  operation each.
* ``mapping.py``: records <-> stored text, the one mapping both backends use: ``dump(record)``
  is a compact JSON body (no defaults, no fields the row/item keeps beside it),
  ``load(Model, body, **beside)`` reads it back. Backends never build or parse bodies.
* ``sqlite.py`` / ``dynamodb.py``: only storage: rows and columns, items, keys, conditions,
  transactions, and each backend's listing.
"""

from pipelines.store.base import (
    ACTIVE_EXECUTION_STATUSES,
    RUNNING_STEP_STATUSES,
    TERMINAL_EXECUTION_STATUSES,
    TERMINAL_STEP_STATUSES,
    CacheEntry,
    CallbackTokenRecord,
    ExecutionRecord,
    ExecutionState,
    ExecutionStatus,
    ExperimentBinding,
    ExperimentRecord,
    FailureNote,
    IdempotencyRecord,
    InvalidNextToken,
    LeaseRecord,
    ListQuery,
    MlflowBinding,
    OutboxRecord,
    Page,
    PipelineRecord,
    PipelineVersionRecord,
    PipelineWrite,
    RecordExists,
    RecordNotFound,
    RoleGrant,
    SelectiveExecutionConfig,
    StaleWrite,
    StepRecord,
    StepStatus,
    StepWrite,
    Store,
    Transition,
    TrialComponentRecord,
    TrialRecord,
)

__all__ = [
    "ACTIVE_EXECUTION_STATUSES",
    "RUNNING_STEP_STATUSES",
    "TERMINAL_EXECUTION_STATUSES",
    "TERMINAL_STEP_STATUSES",
    "CacheEntry",
    "CallbackTokenRecord",
    "ExecutionRecord",
    "ExecutionState",
    "ExecutionStatus",
    "ExperimentBinding",
    "ExperimentRecord",
    "FailureNote",
    "IdempotencyRecord",
    "InvalidNextToken",
    "LeaseRecord",
    "ListQuery",
    "MlflowBinding",
    "OutboxRecord",
    "Page",
    "PipelineRecord",
    "PipelineVersionRecord",
    "PipelineWrite",
    "RecordExists",
    "RecordNotFound",
    "RoleGrant",
    "SelectiveExecutionConfig",
    "StaleWrite",
    "StepRecord",
    "StepStatus",
    "StepWrite",
    "Store",
    "Transition",
    "TrialComponentRecord",
    "TrialRecord",
]
