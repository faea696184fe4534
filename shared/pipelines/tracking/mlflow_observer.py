"""MlflowObserver: an execution as a parent MLflow run, each step attempt as a nested run.

It follows the outcomes a runtime announces (see ``observer.ExecutionObserver``) and writes on
one background worker (``worker.BackgroundWorker``): nothing here runs on the runtime's
threads except queueing and ``job_environment``'s bounded wait. Every write is idempotent and
finds its run again by tags (``content``), so a second process (``pipelines resume``, a stop
from ``pipelines serve``) continues the same runs instead of making new ones.

Executions whose definition has no ``MlflowConfig`` (``ExecutionRecord.mlflow`` is None) are
ignored. ``mlflow`` is imported on the worker thread, on first use: a machine without the
extra logs a warning per execution and runs everything as before.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from pipelines.engine.actions import Outcome
from pipelines.runners.base import StepRequest
from pipelines.store.base import (
    TERMINAL_EXECUTION_STATUSES,
    TERMINAL_STEP_STATUSES,
    ExecutionRecord,
    StepRecord,
)
from pipelines.tracking.content import (
    PARENT_RUN_TAG,
    RunContent,
    execution_key,
    execution_run,
    execution_search_tags,
    step_key,
    step_run,
    step_search_tags,
)
from pipelines.tracking.notices import WarningSink
from pipelines.tracking.worker import BackgroundWorker, Task

log = logging.getLogger(__name__)

JOB_STEP_TYPES: frozenset[str] = frozenset({"Processing", "Training", "Transform"})
"""Steps whose job process gets the MLflow variables (@step and NotebookJob run as Training)."""

# The MLflow REST client retries a refused connection for minutes by default; bound it here
# (in this process only; a variable the user set wins).
_HTTP_BOUNDS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}

MLFLOW_MISSING = (
    "MLflow: the definition has MlflowConfig but mlflow is not installed here, so nothing is "
    "logged (make install installs it; or pip install -r requirements-extras.txt)"
)

Key = tuple[str, ...]
ClientFactory = Callable[[str], Any]


class MlflowMissing(RuntimeError):
    """mlflow is not importable in this process (the optional extra is not installed)."""


def _mlflow_client(tracking_uri: str) -> Any:
    try:  # optional: the cloud's Lambda layer does not ship it
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise MlflowMissing(MLFLOW_MISSING) from exc
    return MlflowClient(tracking_uri=tracking_uri)


class MlflowObserver:
    """Logs executions with MlflowConfig to MLflow (see the module docstring).

    ``tracking_uri`` maps a binding's MlflowResourceArn to the URI to write to.
    ``job_uri_variable`` is what a job process reads it from: ``MLFLOW_TRACKING_URI``
    embedded, ``MLFLOW_TRACKING_ARN`` (with the sagemaker-mlflow plugin) in the cloud.
    ``job_wait_seconds`` bounds how long a job's start waits for its nested run to exist; it
    waits only while the server answers (after a failure, jobs start without waiting)."""

    def __init__(
        self,
        tracking_uri: Callable[[str], str],
        warnings: WarningSink,
        *,
        job_uri_variable: str = "MLFLOW_TRACKING_URI",
        job_wait_seconds: float = 10.0,
        client_factory: ClientFactory = _mlflow_client,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        for name, value in _HTTP_BOUNDS.items():
            os.environ.setdefault(name, value)
        self.tracking_uri = tracking_uri
        self.warnings = warnings
        self.job_uri_variable = job_uri_variable
        self.job_wait_seconds = job_wait_seconds
        self.client_factory = client_factory
        self.worker = BackgroundWorker(
            "mlflow-tracking", self._dropped, attempts=attempts, backoff_seconds=backoff_seconds
        )
        self._lock = threading.Lock()
        self._behind = False  # a job's wait ran out; later jobs start without waiting
        self._executions: dict[str, ExecutionRecord] = {}  # by execution id, the latest seen
        self._ready: dict[Key, threading.Event] = {}  # a nested run exists (or gave up)
        # worker-thread state
        self._clients: dict[str, Any] = {}
        self._experiments: dict[tuple[str, str], str] = {}
        self._runs: dict[Key, str] = {}
        self._ended: set[Key] = set()
        self.available = (
            client_factory is not _mlflow_client or importlib.util.find_spec("mlflow") is not None
        )

    # -- ExecutionObserver -----------------------------------------------------------------------

    def observe(self, outcome: Outcome) -> None:
        execution = outcome.execution
        if execution is None or execution.mlflow is None or not outcome.changes:
            return
        with self._lock:
            first_sight = execution.execution_id not in self._executions
            self._executions[execution.execution_id] = execution
        if not self.available:
            if first_sight:
                self.warnings.add(execution.execution_id, None, MLFLOW_MISSING)
            return
        for change in outcome.changes:
            if change.step_name is None:
                self._submit(
                    execution, None, "log the execution's run", partial(self._sync_execution, execution)
                )
                continue
            step = outcome.steps.get(change.step_name)
            if step is None:
                continue
            key = step_key(execution.execution_arn, step.step_name, step.attempt)
            with self._lock:
                self._ready.setdefault(key, threading.Event())
            self._submit(
                execution,
                step.step_name,
                f"log the run of step {step.step_name} (attempt {step.attempt})",
                partial(self._sync_step, execution, step),
                urgent=step.status not in TERMINAL_STEP_STATUSES,  # its job may wait for the run
            )

    def job_environment(self, request: StepRequest) -> Mapping[str, str]:
        """MLFLOW_TRACKING_URI (or _ARN), MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID of the
        attempt's nested run, so ``mlflow.log_metric`` in the job lands there."""
        if request.step_type not in JOB_STEP_TYPES:
            return {}
        with self._lock:
            execution = self._executions.get(request.execution_id)
        if execution is None or execution.mlflow is None:
            return {}
        binding = execution.mlflow
        key = step_key(execution.execution_arn, request.step_name, request.attempt)
        with self._lock:
            ready = self._ready.get(key)
        if ready is not None and self._wait_for(ready):
            run_id = self._runs.get(key)
            if run_id is not None:
                return {
                    self.job_uri_variable: self.tracking_uri(binding.resource_arn),
                    "MLFLOW_EXPERIMENT_NAME": binding.experiment_name,
                    "MLFLOW_RUN_ID": run_id,
                    **_HTTP_BOUNDS,
                }
        # Without its run the job gets no MLflow variables: its own mlflow calls must not reach
        # a server that just failed us (a script's failing log_metric would fail the step).
        self.warnings.add(
            execution.execution_id,
            request.step_name,
            f"MLflow: attempt {request.attempt} started without its MLflow run (the tracking server "
            "did not answer in time), so the job got no MLFLOW_* variables",
        )
        return {}

    def close(self, timeout: float) -> None:
        self.worker.close(timeout)

    def _wait_for(self, ready: threading.Event) -> bool:
        """Whether the run is there, waiting at most ``job_wait_seconds`` and only while the
        server answers and keeps up: a failed try ends the wait at once, and after a wait ran
        out, jobs do not wait again until the worker has caught up with its queue."""
        if ready.is_set():
            return True
        if self.worker.idle:
            self._behind = False
        if self._behind:
            return False
        deadline = time.monotonic() + self.job_wait_seconds
        while self.worker.healthy and time.monotonic() < deadline:
            if ready.wait(0.05):
                return True
        self._behind = not ready.is_set()
        return ready.is_set()

    # -- worker side -----------------------------------------------------------------------------

    def _submit(
        self,
        execution: ExecutionRecord,
        step_name: str | None,
        what: str,
        work: Callable[[], None],
        *,
        urgent: bool = False,
    ) -> None:
        self.worker.submit(Task(execution.execution_id, step_name, what, work, urgent))

    def _dropped(self, task: Task, reason: str) -> None:
        log.warning("MLflow: could not %s of execution %s: %s", task.what, task.execution_id, reason)
        self.warnings.add(task.execution_id, task.step_name, f"MLflow: could not {task.what}: {reason}")
        if task.step_name is not None:
            self._release(task.execution_id, task.step_name)

    def _release(self, execution_id: str, step_name: str) -> None:
        """Stop any job start waiting for a run of this step (the write was dropped)."""
        with self._lock:
            execution = self._executions.get(execution_id)
            prefix = (execution.execution_arn, step_name) if execution else None
            for key, event in self._ready.items():
                if prefix is not None and key[:2] == prefix:
                    event.set()

    def _client(self, execution: ExecutionRecord) -> Any:
        assert execution.mlflow is not None
        uri = self.tracking_uri(execution.mlflow.resource_arn)
        client = self._clients.get(uri)
        if client is None:
            client = self._clients[uri] = self.client_factory(uri)
        return client

    def _experiment_id(self, client: Any, execution: ExecutionRecord) -> str:
        assert execution.mlflow is not None
        name = execution.mlflow.experiment_name
        cache_key = (self.tracking_uri(execution.mlflow.resource_arn), name)
        found = self._experiments.get(cache_key)
        if found is not None:
            return found
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = str(client.create_experiment(name))
            except Exception:
                experiment = client.get_experiment_by_name(name)  # another process made it
                if experiment is None:
                    raise
                experiment_id = str(experiment.experiment_id)
        else:
            experiment_id = str(experiment.experiment_id)
        self._experiments[cache_key] = experiment_id
        return experiment_id

    def _find_or_create(
        self,
        client: Any,
        experiment_id: str,
        key: Key,
        search: Mapping[str, str],
        content: RunContent,
        parent: str | None,
        *,
        may_exist: bool = True,
    ) -> tuple[str, bool]:
        """(run id, created now) of the run with these search tags. ``may_exist`` False skips
        the search: a step attempt this process just claimed has no run anywhere yet."""
        run_id = self._runs.get(key)
        if run_id is not None:
            return run_id, False
        if may_exist and all("'" not in value for value in search.values()):
            query = " and ".join(f"tags.`{name}` = '{value}'" for name, value in search.items())
            found = client.search_runs([experiment_id], filter_string=query, max_results=1)
            if found:
                run_id = str(found[0].info.run_id)
                self._runs[key] = run_id
                return run_id, False
        tags = dict(content.tags)
        if parent is not None:
            tags[PARENT_RUN_TAG] = parent
        run = client.create_run(experiment_id, start_time=content.start_ms, tags=tags, run_name=content.name)
        run_id = str(run.info.run_id)
        self._runs[key] = run_id
        return run_id, True

    def _parent(self, client: Any, execution: ExecutionRecord) -> tuple[str, str, bool]:
        """(experiment id, parent run id, created now)."""
        experiment_id = self._experiment_id(client, execution)
        content = execution_run(execution)
        run_id, created = self._find_or_create(
            client, experiment_id, execution_key(execution), execution_search_tags(execution), content, None
        )
        if created:
            _write(client, run_id, content, params=True, metrics=False)
        return experiment_id, run_id, created

    def _sync_execution(self, execution: ExecutionRecord) -> None:
        client = self._client(execution)
        _experiment_id, run_id, _created = self._parent(client, execution)
        content = execution_run(execution)
        if execution.status in TERMINAL_EXECUTION_STATUSES:
            _write(client, run_id, content, params=False, metrics=False)
            client.set_terminated(run_id, status=content.status, end_time=content.end_ms)
            self._forget(execution)
        elif execution.run > 1:
            # RetryPipelineExecution: the same execution (and run) is executing again
            _write(client, run_id, content, params=False, metrics=False)
            client.update_run(run_id, status="RUNNING")
        else:
            _write(client, run_id, content, params=False, metrics=False)

    def _forget(self, execution: ExecutionRecord) -> None:
        """Drop what this process remembers of a finished execution (a long-lived server must
        not grow); a RetryPipelineExecution finds its runs again by their tags."""
        arn = execution.execution_arn
        for key in [k for k in self._runs if k[0] == arn]:
            del self._runs[key]
        self._ended = {k for k in self._ended if k[0] != arn}
        with self._lock:
            latest = self._executions.get(execution.execution_id)
            if latest is not None and latest.status not in TERMINAL_EXECUTION_STATUSES:
                return  # retried meanwhile: keep it
            for key in [k for k in self._ready if k[0] == arn]:
                del self._ready[key]
            self._executions.pop(execution.execution_id, None)

    def _sync_step(self, execution: ExecutionRecord, step: StepRecord) -> None:
        key = step_key(execution.execution_arn, step.step_name, step.attempt)
        try:
            client = self._client(execution)
            experiment_id, parent_id, _created = self._parent(client, execution)
            content = step_run(execution.execution_arn, step)
            run_id, created = self._find_or_create(
                client,
                experiment_id,
                key,
                step_search_tags(execution.execution_arn, step),
                content,
                parent_id,
                may_exist=step.status != "Starting",
            )
        finally:
            with self._lock:
                ready = self._ready.setdefault(key, threading.Event())
            ready.set()
        if step.status in TERMINAL_STEP_STATUSES and key not in self._ended:
            _write(client, run_id, content, params=True, metrics=True)
            client.set_terminated(run_id, status=content.status, end_time=content.end_ms)
            self._ended.add(key)
        elif step.status not in TERMINAL_STEP_STATUSES and not created:
            _write(client, run_id, content, params=False, metrics=False)


def _write(client: Any, run_id: str, content: RunContent, *, params: bool, metrics: bool) -> None:
    """Tags always (status changes); params and metrics when asked (they are written once)."""
    try:
        from mlflow.entities import Metric, Param, RunTag
    except ImportError as exc:
        raise MlflowMissing(MLFLOW_MISSING) from exc

    timestamp = content.end_ms or content.start_ms or 0
    client.log_batch(
        run_id,
        metrics=[Metric(name, value, timestamp, 0) for name, value in content.metrics.items()]
        if metrics
        else [],
        params=[Param(name, value) for name, value in content.params.items()] if params else [],
        tags=[RunTag(name, value) for name, value in content.tags.items()],
    )
