"""Persistence behind one protocol: SQLite (embedded) and DynamoDB (cloud).

Public API (``pipelines.store``)::

    Store (Protocol)                       see store/base.py for every method
      # pipelines, keyed by ARN: names are per account (the API layer builds on these)
      create_pipeline(pipeline: PipelineRecord, version: PipelineVersionRecord) -> None   # RecordExists
      update_pipeline(pipeline, expected_version: int, new_version: PipelineVersionRecord | None = None)
      delete_pipeline(arn) -> None
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
      get_idempotency(token, operation) / put_idempotency(record) -> bool
      acquire_lease / force_lease / renew_lease / release_lease / get_lease   # embedded driver ownership
      close()

    SQLiteStore(path)                      WAL, versioned migrations (store/migrations/*.sql)
    open_store(config) -> SQLiteStore      the embedded store at config.database_path

Records (frozen pydantic; change with ``model_copy(update=...)``): PipelineRecord,
PipelineVersionRecord, ExecutionRecord, StepRecord, CacheEntry, CallbackTokenRecord,
ExperimentRecord, TrialRecord, TrialComponentRecord, IdempotencyRecord, LeaseRecord,
SelectiveExecutionConfig, ExperimentBinding, MlflowBinding, FailureNote, RoleGrant (who passed a
pipeline's RoleArn: the engine runs only as granted roles). Listing: ListQuery(limit, next_token,
ascending, sort_by, created_after, created_before, name_prefix) -> Page(items, next_token).
Errors: StaleWrite, RecordExists (ConflictError), RecordNotFound (ResourceNotFound),
InvalidNextToken (ValidationError).
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
    Page,
    PipelineRecord,
    PipelineVersionRecord,
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
    "Page",
    "PipelineRecord",
    "PipelineVersionRecord",
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
