"""Experiment tracking outside the engine: MLflow runs for executions whose definition has
``MlflowConfig``.

The engine only records where an execution logs (``ExecutionRecord.mlflow``, bound at start:
the definition's MlflowResourceArn, the experiment = StartPipelineExecution's
MlflowExperimentName, else the definition's, else the pipeline name). A runtime hands its
outcomes to an :class:`ExecutionObserver`; :class:`MlflowObserver` turns them into runs:

* one parent run per execution (named by the display name or id; tags ``pipelines.*`` with
  the execution ARN, pipeline name and version; params = coerced parameters; status follows);
* one nested run per step attempt (tags: step name, type, attempt, status, cache hit; metric
  ``duration_seconds``; Training's FinalMetricDataList as metrics; Condition outcome and
  Lambda/Callback outputs as params);
* job processes (Processing, Training incl. @step and NotebookJob, Transform) get
  MLFLOW_TRACKING_URI (cloud: MLFLOW_TRACKING_ARN), MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID,
  so ``mlflow.log_metric`` in a script lands in its step's nested run.

It never breaks a run: writes go through one bounded background worker (a few tries with
backoff, then dropped); each dropped write is a warning kept in the runtime's store
(``Store.add_tracking_warning``: SQLite embedded, DynamoDB in the cloud) that ``pipelines steps``
prints, the same way for both. A job waits at most ``job_wait_seconds``
for its nested run, and not at all once a write failed or a wait ran out (until the worker
caught up); a job without its run gets no MLflow variables.

Public API::

    ExecutionObserver (Protocol): observe(outcome), job_environment(request) -> Mapping, close(timeout)
    Observers([...])                       # several as one; swallows (and logs) their errors
    MlflowObserver(tracking_uri, warnings, *, job_uri_variable="MLFLOW_TRACKING_URI",
                   job_wait_seconds=10.0, client_factory=MlflowClient, attempts=3, backoff_seconds=0.5)
    embedded_observers(config, store) -> Observers  # what EmbeddedRuntime uses by default
    embedded_tracking_uri(arn, mapping, state_dir), default_tracking_uri(state_dir), cloud_tracking_uri(arn)
    StoreWarnings(store, *, also_log=False)  # the warning sink of both runtimes
    read_warnings(store, execution_id) -> [TrackingWarningRecord(execution_id, step_name, message, at)]

Cloud (``tracking.cloud``): ``CloudMlflowObserver(session_for, warnings)`` is MlflowObserver
writing through the ``sagemaker-mlflow`` plugin (tracking URI = the ARN, SigV4 as the
execution's role), warnings in the store and the engine's log; ``cloud_observers(session_for,
store)`` makes one set per engine invocation, which ``CloudRuntime.observing()`` settles before
the handler returns.

Modules: observer (the protocol), mlflow_observer, content (names/tags/params/metrics: pure),
worker (bounded background writes), destinations (tracking URIs), notices (warnings file),
cloud (the engine Lambda's observer).
The dependency is the optional extra ``mlflow-skinny`` (requirements-extras.txt), imported
only on the worker thread; without it an execution with MlflowConfig gets one warning.
"""

from __future__ import annotations

from pipelines.config import Config
from pipelines.store.base import Store
from pipelines.tracking.destinations import cloud_tracking_uri, default_tracking_uri, embedded_tracking_uri
from pipelines.tracking.mlflow_observer import MlflowObserver
from pipelines.tracking.notices import StoreWarnings, read_warnings, warning_json
from pipelines.tracking.observer import ExecutionObserver, Observers


def embedded_observers(config: Config, store: Store) -> Observers:
    """The embedded runtime's observers: MLflow with the config's ``[mlflow]`` map, warnings
    kept in the runtime's store."""
    mapping = dict(config.mlflow)
    state_dir = config.state_dir
    observer = MlflowObserver(
        lambda arn: embedded_tracking_uri(arn, mapping, state_dir), StoreWarnings(store)
    )
    return Observers([observer])


__all__ = [
    "ExecutionObserver",
    "MlflowObserver",
    "Observers",
    "StoreWarnings",
    "cloud_tracking_uri",
    "default_tracking_uri",
    "embedded_observers",
    "embedded_tracking_uri",
    "read_warnings",
    "warning_json",
]
