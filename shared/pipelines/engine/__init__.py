"""The engine: every decision about an execution, for both runtimes.

The engine is transport-free and keeps no state between calls. Each call reads the execution
from the :class:`~pipelines.store.Store`, decides, writes the decision as one conditional
:class:`~pipelines.store.Transition`, and only then returns the actions for a runtime to carry
out. A duplicate or racing call loses the conditional write and is re-decided on fresh state,
so a step attempt never starts twice and no result is lost.

Public API (``from pipelines.engine import Engine, ...``)::

    Engine(store, *, objects=None, clock=None, region="us-east-1", account_id="000000000000",
           unsupported_steps=None, outbox=None)
        # unsupported_steps: Callable[[PipelineDefinition, set[str] | None], list[(step, reason)]]
        # e.g. lambda d, names: registry.unsupported_steps(d, config, names)
        # outbox: (changes, execution, steps) -> OutboxRecord, e.g. pipelines.events.Outbox.record:
        # each transition that changes a status carries its status events in its own
        # transaction (Transition.outbox; Outcome.outbox lists what a call wrote)

      start(request: StartRequest, *, definition: str | None = None) -> Outcome
          StartRequest (engine/start_request.py, frozen; also the engine Lambda's wire shape):
          pipeline_name, parameters (raw start values), parallelism, selective,
          display_name, description, client_request_token, created_by (UserContext),
          pipeline_version_id, mlflow_experiment_name.
          Snapshot the definition (default: the pipeline's latest; ``pipeline_version_id``: that
          stored version, which the execution is then bound to), coerce parameters, record
          parallelism (this call's value wins over the pipeline's), the selective config and
          the MLflow binding (ExecutionRecord.mlflow, when the definition has MlflowConfig;
          engine/experiments.bind_mlflow), and move the pipeline's ``last_run_at`` (LastRunTime) forward.
          Raises UnsupportedSteps, UnsupportedRunConditions (an unknown DependsOn trigger),
          ParameterError (pipelines.expressions), InvalidSelection, DefinitionError (an explicit
          ``definition`` is validated; a pipeline's own was validated when it was created or
          updated), PipelineNotFound, PipelineVersionNotFound, ValidationError (both a
          definition and a version), ConflictError (a reused ClientRequestToken with a different
          request; the same request replays the execution with ``accepted`` False and no actions).
      step_started(execution, step_name, attempt) -> Outcome          # claim; outcome.accepted False = lost
      steps_started(execution, [(step_name, attempt), ...]) -> Outcome  # batch claim; outcome.claimed
      step_succeeded(execution, step_name, attempt, result: StepResult) -> Outcome
      step_pending(execution, step_name, attempt, pending: StepPending) -> Outcome   # Callback handed off
      step_failed(execution, step_name, attempt, error: StepFailed) -> Outcome
      report(execution, [(step_name, attempt, StepResult | StepPending | StepFailed), ...]) -> Outcome
      stop_notified(execution, step_name, attempt) -> Outcome         # a NotifyStopping was sent
      stop(execution, *, client_request_token=None) -> Outcome        # StopPipelineExecution
      retry(execution, *, parallelism=None, client_request_token=None) -> Outcome  # RetryPipelineExecution
          (``check_retryable(record)`` in engine.lifecycle raises the same refusal up front)
      update_execution(execution, *, parallelism=None, display_name=None, description=None) -> Outcome
      callback_success(token, outputs: Mapping[str, Any], *, client_request_token=None) -> Outcome
      callback_failure(token, reason: str, *, client_request_token=None) -> Outcome
          # SendPipelineExecutionStepSuccess / SendPipelineExecutionStepFailure
      replay(RequestToken | None) -> Outcome | None   # a repeat's answer (engine/idempotency.py)

    ClientRequestToken (engine/idempotency.py): start, stop, retry and the callbacks write the
    request's token in the transaction of their decision (``Transition.idempotency``). A repeat
    (same token, same request) is answered with the execution as it is now, ``accepted`` False,
    its steps and no actions, and writes nothing (a runtime re-derives what the first call may
    have left undone); the same token with another request is a ConflictError; a new token is
    decided afresh. A stop that finds the execution Stopping records its token on its own.
      pending_actions(execution) -> Outcome   # every action the stored state still calls for
      owed_starts(execution, [(step_name, attempt), ...]) -> Outcome  # just those starts (no decision)
      recover(execution) -> Outcome           # after a crashed driver: running steps get a new attempt
      record_run(action: RunStep) -> None     # the job's run (trial component), recorded if absent
      state(execution) -> ExecutionState

    A runtime calls ``record_run`` right before it starts a RunStep's job (after winning its
    claim): runs are not part of the decision that launched the step, so a run exists once its
    job may, and a start repeated after a crash records it once.

    ``execution`` is an execution id or ARN. Reports for an old attempt, or repeated reports
    of the same attempt, are no-ops (``outcome.accepted`` is False).

    Outcome(execution, actions, changes, steps, accepted, read_version, claimed, outbox)
    Actions: RunStep(execution_id, step_name, attempt, not_before, request: StepRequest)
             StopStep(execution_id, step_name, attempt)
             NotifyStopping(execution_id, step_name, attempt, request)
             ExecutionFinished(execution_id, status, failure_reason)
    StatusChange(execution_id, step_name | None, old_status, new_status)

    Callback steps: ``request.step_fields["CallbackToken"]`` holds the 10-character token the
    runner must put in its message (``{"token", "pipelineExecutionArn", "arguments", "status"}``).
    Callback outputs are typed by runners/outputs.py's rules (see decisions.callback_outputs for
    the one difference); a value that does not fit its OutputType fails the step.

    DependsOn run conditions (v3 SDK ``{"Step", "Trigger": "Failed"|"Stopped"|"Any"}``) are
    honoured (readiness.py); an execution whose failures were all handled by such steps ends
    ``CompletedWithFailures`` (failure_policy.py).

    ForEach steps (for_each.py) are decided by the engine: a ready ForEach resolves its
    IterableItems (a non-list or empty list fails it with the reason) and stays Executing while
    its iterations run as ordinary step records ``<BodyStep>-<i>`` (``StepRecord.iteration`` =
    IterationContext; ``engine.step_of(state, name)`` gives the step an iteration runs, with
    ``ForEach.CurrentItem`` bound). MaxConcurrency caps them per ForEach, MaxParallelExecutionSteps
    per execution (the ForEach's own record does not count). Cleanup steps (cleanup.py): the
    engine puts what to delete into ``request.step_fields["CleanupTargets"]`` at launch (a source
    that did not run fails the step there); runtimes delete with ``cleanup.clean``. Lineage
    steps run through ``pipelines.lineage.record_lineage`` in both runtimes.

    Clocks: SystemClock, FakeClock (engine/clock.py). Ids/ARNs: engine/ids.py.
    Pipelines: upsert_pipeline(store, name, definition, ...) (engine/pipelines.py).
    DeletePipeline: delete_pipeline(store, record, cleanup_hooks, request_token, now) marks it
    Deleting, runs the hooks, deletes it with the token; whatever points a schedule, rule target
    or share at a pipeline registers through attach(store, pipelines, write, undo, refusal), which
    checks again after writing (engine/pipelines.py says why no orphan survives either order);
    refuse_deleting(record) -> PipelineDeleting (ConflictError) for starts and changes.

Runner results the engine reads: job steps return the Describe* response as properties and
their Metadata member (e.g. ``{"TrainingJob": {"Arn": ...}}``; the engine pre-fills the job
ARN); Lambda steps return ``properties={"OutputParameters": [{"Name", "Value"}]}`` (typed
values, runners/outputs.py) and metadata
``{"Lambda": {"Arn": ..., "OutputParameters": [{"Name", "Value"}]}}``; Processing steps with
PropertyFiles must have written them under the output's S3Uri before returning.

Modules: lifecycle (Engine: the entry points and the optimistic write loop), decisions (the
step lifecycle and the scheduler; ``compile_definition``: one parse and DAG per definition text
per process, shared by every Engine and warmed by ``upsert_pipeline``'s validation), planner (a
working copy -> one Transition, cut at the store's ``transition_limit``), readiness (the
``Frontier``: ready set, running count and blocking failures kept incrementally through one
decision instead of rescanning the DAG after each inline step; skips, run conditions), failure_policy, retry (error classification and retry decisions),
caching, job_names, selective, idempotency (ClientRequestToken), resolution (parameters,
expressions, execution variables), experiments, for_each (ForEach expansion and iteration
scheduling), cleanup (Cleanup targets and deletion), pipelines (upsert), roles (an execution runs
only as a role its pipeline records as passed: before any step starts, ``Decisions.advance``
checks ``ExecutionRecord.role_arn`` against the pipeline's ``role_grants``; an ungranted role
starts nothing and the execution fails naming it), actions, clock, ids, errors.
"""

from pipelines.engine.actions import (
    Action,
    ExecutionFinished,
    NotifyStopping,
    Outcome,
    RunStep,
    StatusChange,
    StopStep,
)
from pipelines.engine.clock import Clock, FakeClock, SystemClock
from pipelines.engine.errors import (
    CallbackStepConflict,
    CallbackTokenNotFound,
    ExecutionNotFound,
    ExecutionStateConflict,
    InvalidCallbackOutputs,
    InvalidSelection,
    PipelineNotFound,
    PipelineVersionNotFound,
    UnsupportedRunConditions,
    UnsupportedSteps,
)
from pipelines.engine.lifecycle import Engine
from pipelines.engine.pipelines import upsert_pipeline
from pipelines.engine.start_request import StartRequest

__all__ = [
    "Action",
    "CallbackStepConflict",
    "CallbackTokenNotFound",
    "Clock",
    "Engine",
    "ExecutionFinished",
    "ExecutionNotFound",
    "ExecutionStateConflict",
    "FakeClock",
    "InvalidCallbackOutputs",
    "InvalidSelection",
    "NotifyStopping",
    "Outcome",
    "PipelineNotFound",
    "PipelineVersionNotFound",
    "RunStep",
    "StartRequest",
    "StatusChange",
    "StopStep",
    "SystemClock",
    "UnsupportedRunConditions",
    "UnsupportedSteps",
    "upsert_pipeline",
]
