"""MLflow from the deployed engine: the same runs as embedded, written by the engine Lambda.

The engine Lambda runs :class:`CloudMlflowObserver`, which is :class:`MlflowObserver` (one
run mapping for both runtimes) with three cloud choices:

* the tracking URI is the MlflowResourceArn itself; the ``sagemaker-mlflow`` plugin (an MLflow
  ``arn`` tracking-store/auth entry point) resolves it to the server's URL and signs each
  request with SigV4, here with the credentials of the execution's RoleArn
  (``sagemaker_mlflow.set_session`` on the writing thread), as the service does;
* a job gets MLFLOW_TRACKING_ARN and MLFLOW_TRACKING_URI (both the ARN: a container with mlflow
  and the plugin logs with either), MLFLOW_EXPERIMENT_NAME and MLFLOW_RUN_ID of its nested run;
  when its run could not be made in time, the same minus MLFLOW_RUN_ID (the script's own run);
* every step starts only after its nested run exists (bounded by ``CLOUD_JOB_WAIT_SECONDS``,
  plus ``FIRST_IMPORT_SECONDS`` once per container while mlflow imports, and not at all while
  the server fails), so the execution's parent run exists before any
  report reaches another container: two containers never both create it;
* a dropped write is a warning kept in the deployed store (DynamoDB), as embedded, where
  ``pipelines steps`` finds it, and a line in the engine's log (CloudWatch Logs, with the
  execution id and step name).

A Lambda is frozen between invocations, so a background thread cannot outlive one: the
runtime makes an observer per invocation and settles it (``close(timeout)``) before the
handler returns; what is not written by then is dropped with a warning. Runs are found again
by their tags, so the next invocation (any container) continues the same runs.

The dependencies (mlflow-skinny, sagemaker-mlflow) live in the engine's own tracking layer
(``functions/requirements-tracking.txt``), imported only on the writing thread, only for an
execution with MlflowConfig. Without them the job still gets the ARN and experiment (no run id)
and the execution logs one warning.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pipelines.runners.base import StepRequest
from pipelines.store.base import ExecutionRecord, StepRecord, Store
from pipelines.tracking.content import step_key
from pipelines.tracking.destinations import cloud_job_environment, cloud_tracking_uri
from pipelines.tracking.mlflow_observer import (
    JOB_STEP_TYPES,
    MLFLOW_MISSING,
    ClientFactory,
    MlflowMissing,
    MlflowObserver,
    _mlflow_client,
)
from pipelines.tracking.notices import StoreWarnings, WarningSink
from pipelines.tracking.observer import Observers

log = logging.getLogger(__name__)

CLOUD_JOB_WAIT_SECONDS = 5.0
"""How long a job's start waits for its nested run (the engine Lambda is waiting meanwhile)."""

FIRST_IMPORT_SECONDS = 20.0
"""How long, once per container, a job's start also waits for mlflow and the plugin to import
(about 1.7 s of CPU: several seconds on a 512 MB engine's share of a vCPU). The writing thread
imports them on its first write, so without this the first job of a cold container would miss
its run whenever the import alone took longer than ``CLOUD_JOB_WAIT_SECONDS``."""

SETTLE_SECONDS = 10.0
"""How long an engine invocation waits, at its end, for its queued tracking writes."""

SessionFor = Callable[[str | None], Any]
"""A boto3 Session for a role ARN (None: the engine's own role)."""

_clients: dict[str, Any] = {}  # per container: the plugin resolves and signs per request
_clients_lock = threading.Lock()
_imported = threading.Event()  # mlflow and the plugin are loaded in this container


def _shared_client(tracking_uri: str) -> Any:
    with _clients_lock:
        client = _clients.get(tracking_uri)
        if client is None:
            client = _clients[tracking_uri] = _mlflow_client(tracking_uri)
        _imported.set()
        return client


class CloudMlflowObserver(MlflowObserver):
    """MlflowObserver writing through the sagemaker-mlflow plugin as each execution's role."""

    def __init__(
        self,
        session_for: SessionFor,
        warnings: WarningSink,
        *,
        job_wait_seconds: float = CLOUD_JOB_WAIT_SECONDS,
        client_factory: ClientFactory = _shared_client,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        super().__init__(
            cloud_tracking_uri,
            warnings,
            job_uri_variable="MLFLOW_TRACKING_ARN",
            job_wait_seconds=job_wait_seconds,
            client_factory=client_factory,
            attempts=attempts,
            backoff_seconds=backoff_seconds,
        )
        if client_factory is _shared_client:
            self.available = _mlflow_importable()
        self.session_for = session_for

    def job_environment(self, request: StepRequest) -> Mapping[str, str]:
        with self._lock:
            execution = self._executions.get(request.execution_id)
        if execution is None or execution.mlflow is None:
            return {}
        if not self.available:  # no MLflow in the engine: the job still gets where to log
            return cloud_job_environment(execution.mlflow, request.step_type)
        if request.step_type not in JOB_STEP_TYPES:
            # Every step starts after its nested run exists (bounded, as for jobs): the run's
            # parent then exists before any report can reach another container, so two
            # containers never both create the execution's run.
            self._run_of(execution, request)
            return {}
        environment = dict(super().job_environment(request))
        if not environment:
            # No run for it (the server did not answer the engine): the job still learns where
            # to log, as without MLflow in the engine; the engine's network or role may be the
            # problem, not the job's, and a script's own run is better than none.
            return cloud_job_environment(execution.mlflow, request.step_type)
        environment["MLFLOW_TRACKING_URI"] = environment["MLFLOW_TRACKING_ARN"]
        return environment

    def _wait_for(self, ready: threading.Event) -> bool:
        """As embedded, plus (once per container) the time the writing thread spends importing
        mlflow, bounded by ``FIRST_IMPORT_SECONDS`` and only while that thread has not failed."""
        if self.client_factory is _shared_client and not ready.is_set():
            deadline = time.monotonic() + FIRST_IMPORT_SECONDS
            while not _imported.is_set() and self.worker.healthy and time.monotonic() < deadline:
                if ready.wait(0.05):
                    return True
        return super()._wait_for(ready)

    def _run_of(self, execution: ExecutionRecord, request: StepRequest) -> str | None:
        key = step_key(execution.execution_arn, request.step_name, request.attempt)
        with self._lock:
            ready = self._ready.get(key)
        if ready is None or not self._wait_for(ready):
            return None
        return self._runs.get(key)

    def _sync_execution(self, execution: ExecutionRecord) -> None:
        with _signing_as(execution, self.session_for):
            super()._sync_execution(execution)

    def _sync_step(self, execution: ExecutionRecord, step: StepRecord) -> None:
        with _signing_as(execution, self.session_for):
            super()._sync_step(execution, step)


@contextmanager
def _signing_as(execution: ExecutionRecord, session_for: SessionFor) -> Iterator[None]:
    """Around one write on the worker thread: the plugin signs as the execution's role, and its
    signer (which reads the server from the process's tracking URI, not the client's) sees the
    ARN. The process's tracking URI and MLFLOW_TRACKING_URI are restored after, so nothing else
    in the process (or a job it spawns) inherits them."""
    try:  # optional: the engine's layer may not carry them (module docstring)
        import sagemaker_mlflow
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri
    except ImportError as exc:
        raise MlflowMissing(MLFLOW_MISSING) from exc

    assert execution.mlflow is not None
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    sagemaker_mlflow.set_session(session_for(execution.role_arn or None))
    try:
        with _use_tracking_uri(cloud_tracking_uri(execution.mlflow.resource_arn)):
            yield
    finally:
        sagemaker_mlflow.set_session(None)
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved


def _mlflow_importable() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("mlflow", "sagemaker_mlflow"))


def cloud_observers(session_for: SessionFor, store: Store) -> Observers:
    """A fresh set of observers for one engine invocation (see the module docstring)."""
    return Observers([CloudMlflowObserver(session_for, StoreWarnings(store, also_log=True))])
