"""The embedded runtime: carries out the engine's actions on this machine.

A driver owns one execution at a time (a lease in the store, renewed by heartbeat). It runs
each RunStep on a thread pool through the runner registered for the step type, reports every
outcome back to the engine, and sets a runner's cancel event on StopStep. The engine enforces
MaxParallelExecutionSteps, so the pool only needs to be large enough.

Other processes may change an execution while a driver runs it (``pipelines stop``,
``pipelines callback succeed``, the API): they write through the engine, and the driver notices
within ``poll_interval`` (0.2 s) because the execution's version moved, then asks the engine for
the pending actions. When no driver is alive (its process died, or ``pipelines run`` exited),
:meth:`EmbeddedRuntime.resume` takes the execution over: steps that were running get a new
attempt, finished steps never run again. A step's processes die with their driver, and any that
survived it (recorded per attempt in :mod:`pipelines.runtime.attempt_processes`) are ended
before the takeover decides anything, so an old attempt never runs beside a new one. Completing a callback when no driver is alive resumes
the execution in the calling process, so ``pipelines callback succeed`` continues the run. A
stop, or an update that lets more steps start, is carried out the same way when no driver is
alive: the calling process takes the execution over (in a background thread unless told
otherwise) until it ends, so a stop always ends Stopped (or Failed) without a ``resume``.

Every status change an engine call makes is written, as its event, in the call's own SQLite
transaction (the transactional outbox, :mod:`pipelines.events.outbox`), and published right
after the call through the runtime's :class:`~pipelines.events.StatusPublisher` (default: the
JSON-lines file of :meth:`JsonLinesPublisher.for_config`), in SageMaker's event shapes, whichever
process makes it (a driver, ``stop``, a callback, a resume). Events a process left unpublished
(it was killed between its write and its publish) are published by the next engine call for
that execution in any process, by :meth:`EmbeddedRuntime.resume` (``pipelines serve`` runs it at
start-up) and at each start, at once when their process is dead. A failing publisher is logged,
not raised: the events stay in the outbox, and the run must go on.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.config import Config
from pipelines.definition.models import PipelineDefinition
from pipelines.engine import (
    Engine,
    ExecutionFinished,
    NotifyStopping,
    Outcome,
    RunStep,
    StopStep,
    upsert_pipeline,
)
from pipelines.engine.clock import Clock, SystemClock
from pipelines.engine.errors import ExecutionNotFound
from pipelines.engine.idempotency import retry_request
from pipelines.engine.ids import execution_id_of
from pipelines.engine.lifecycle import check_retryable
from pipelines.engine.start_request import StartRequest
from pipelines.errors import ConflictError
from pipelines.events import JsonLinesPublisher, Outbox, StatusPublisher
from pipelines.objects.base import ObjectStore
from pipelines.objects.local import LocalObjectStore
from pipelines.runners.base import RunContext, StepFailed, StepPending, StepResult
from pipelines.runners.jobs.describe import KIND_OF_STEP
from pipelines.runners.jobs.records import JobRecords, tracked_job
from pipelines.runners.processes import identify, terminate
from pipelines.runners.registry import NotifiesStop, RunnerRegistry, default_registry
from pipelines.runtime.attempt_processes import AttemptProcesses
from pipelines.store.base import (
    TERMINAL_EXECUTION_STATUSES,
    ExecutionRecord,
    StepRecord,
    Store,
)
from pipelines.tracking import Observers, embedded_observers

Progress = Callable[[ExecutionRecord, Mapping[str, StepRecord]], None]
"""Called after every change with the execution and its step records (e.g. a rich table)."""

DEFAULT_PIPELINE_NAME = "local-pipeline"

log = logging.getLogger(__name__)


class DriverBusy(ConflictError):
    """Another live driver is carrying out this execution."""


@dataclass
class _Running:
    attempt: int
    cancel: threading.Event


@dataclass
class _Report:
    action: RunStep | NotifyStopping
    result: StepResult | StepPending | StepFailed | None  # None: a NotifyStopping was sent


@dataclass
class _Driver:
    runtime: EmbeddedRuntime
    execution_id: str
    owner: str
    progress: Progress | None
    reports: queue.SimpleQueue[_Report] = field(default_factory=queue.SimpleQueue)
    wake: threading.Event = field(default_factory=threading.Event)
    running: dict[str, _Running] = field(default_factory=dict)
    scheduled: dict[str, RunStep] = field(default_factory=dict)
    notifying: set[tuple[str, int]] = field(default_factory=set)
    last_version: int | None = None
    reconcile: bool = False
    final: ExecutionRecord | None = None
    pool: ThreadPoolExecutor = field(init=False)

    def run(self, initial: Outcome) -> ExecutionRecord:
        engine = self.runtime.engine
        self.pool = pool = ThreadPoolExecutor(
            max_workers=self.runtime.max_workers, thread_name_prefix=f"step-{self.execution_id}"
        )
        next_poll = time.monotonic() + self.runtime.poll_interval
        next_renew = time.monotonic() + self.runtime.lease_ttl / 3
        try:
            self.handle(initial)
            while self.final is None:
                self.wake.clear()
                self.process_reports()
                if self.final is not None:
                    break
                self.launch_due()
                now_mono = time.monotonic()
                if self.reconcile or now_mono >= next_poll:
                    next_poll = now_mono + self.runtime.poll_interval
                    current = self.runtime.store.get_execution(self.execution_id)
                    if self.reconcile or current is None or current.version != self.last_version:
                        self.reconcile = False
                        self.last_version = None  # this read catches up with every foreign change
                        self.handle(self.runtime.announce(engine.pending_actions(self.execution_id)))
                        continue
                if now_mono >= next_renew:
                    next_renew = now_mono + self.runtime.lease_ttl / 3
                    self.runtime.store.renew_lease(self.execution_id, self.owner, _wall_now())
                if self.reports.empty():
                    self.runtime.clock.sleep(
                        self.until_next_timer(),
                        interrupt=self.wake,
                        real_limit=max(next_poll - time.monotonic(), 0.0),
                    )
        finally:
            for entry in self.running.values():
                entry.cancel.set()
            pool.shutdown(wait=True)
        assert self.final is not None
        return self.final

    # -- reacting to the engine ----------------------------------------------------------------

    def handle(self, outcome: Outcome) -> None:
        if (
            outcome.read_version is not None
            and self.last_version is not None
            and outcome.read_version != self.last_version
        ):
            self.reconcile = True  # someone else changed the execution: their actions are ours to do
        if outcome.execution is not None:
            self.last_version = outcome.execution.version
        if (
            self.progress is not None
            and outcome.execution is not None
            and (outcome.changes or outcome.read_version is None)
        ):
            self.progress(outcome.execution, outcome.steps)
        scheduled = False
        for action in outcome.actions:
            if isinstance(action, RunStep):
                scheduled |= self.schedule(action)
            elif isinstance(action, StopStep):
                entry = self.running.get(action.step_name)
                if entry is not None and entry.attempt == action.attempt:
                    entry.cancel.set()
            elif isinstance(action, NotifyStopping):
                self.notify(action)
            elif isinstance(action, ExecutionFinished):
                self.final = outcome.execution
        if scheduled:
            self.launch_due()

    def schedule(self, action: RunStep) -> bool:
        """Remember a RunStep unless that attempt is already running or waiting."""
        entry = self.running.get(action.step_name)
        if entry is not None and entry.attempt >= action.attempt:
            return False
        waiting = self.scheduled.get(action.step_name)
        if waiting is not None and waiting.attempt >= action.attempt:
            return False
        self.scheduled[action.step_name] = action
        return True

    def launch_due(self) -> None:
        """Claim every due attempt in one write, then run the ones won."""
        now = self.runtime.clock.now()
        due = [a for a in self.scheduled.values() if a.not_before is None or a.not_before <= now]
        if not due:
            return
        for action in due:
            del self.scheduled[action.step_name]
        claimed = self.runtime.announce(
            self.runtime.engine.steps_started(self.execution_id, [(a.step_name, a.attempt) for a in due])
        )
        if not claimed.accepted:
            return
        self.handle(claimed)
        won = set(claimed.claimed)
        for action in due:
            if action.step_name in won:
                self.runtime.engine.record_run(action)
                cancel = threading.Event()
                self.running[action.step_name] = _Running(action.attempt, cancel)
                self.pool.submit(self.work, action, cancel)

    def notify(self, action: NotifyStopping) -> None:
        key = (action.step_name, action.attempt)
        if key in self.notifying:
            return
        self.notifying.add(key)
        self.pool.submit(self.send_stopping, action)

    def until_next_timer(self) -> float | None:
        """Clock seconds until the earliest retry backoff ends (None: no retry is waiting)."""
        if not self.scheduled:
            return None
        now = self.runtime.clock.now()
        soonest = min((a.not_before or now) for a in self.scheduled.values())
        return max((soonest - now).total_seconds(), 0.0)

    # -- worker threads ------------------------------------------------------------------------

    def work(self, action: RunStep, cancel: threading.Event) -> None:
        step_type = action.request.step_type
        processes = self.runtime.processes
        result: StepResult | StepPending | StepFailed

        def on_process(pid: int) -> None:
            identity = identify(pid)
            if identity is not None:
                processes.record(action.execution_id, action.step_name, action.attempt, identity)

        try:
            runner = self.runtime.registry.get(step_type)
            ctx = RunContext(
                config=self.runtime.config,
                objects=self.runtime.objects,
                cancel=cancel,
                log=self.runtime.step_logger(action.execution_id, action.step_name),
                environment=self.runtime.observers.job_environment(action.request),
                on_process=on_process,
                jobs=self.runtime.jobs,
            )
            kind = KIND_OF_STEP.get(step_type)
            if kind is None:
                result = runner.run(action.request, ctx)
            else:  # a job: its record is what the API's Describe*Job, Stop*Job and logs serve
                with tracked_job(self.runtime.jobs, kind, action.request, ctx) as job:
                    result = runner.run(action.request, job.ctx)
                    if isinstance(result, StepResult):
                        job.completed(result.properties)
        except StepFailed as exc:
            result = exc
        except Exception as exc:  # a runner bug must fail the step, not hang the execution
            result = StepFailed(f"{type(exc).__name__}: {exc}")
        try:  # the runner returned, so the processes it started have ended
            processes.forget(action.execution_id, action.step_name, action.attempt)
        except Exception:
            log.exception("could not forget the processes of step %s", action.step_name)
        self.reports.put(_Report(action, result))
        self.wake.set()

    def send_stopping(self, action: NotifyStopping) -> None:
        try:
            runner = self.runtime.registry.get(action.request.step_type)
            if isinstance(runner, NotifiesStop):
                ctx = RunContext(config=self.runtime.config, objects=self.runtime.objects)
                runner.notify_stopping(action.request, ctx)
        finally:
            self.reports.put(_Report(action, None))
            self.wake.set()

    def process_reports(self) -> None:
        """Everything the workers reported since the last look, decided in one engine call."""
        results: list[tuple[str, int, StepResult | StepPending | StepFailed]] = []
        notified: list[NotifyStopping] = []
        while True:
            try:
                report = self.reports.get_nowait()
            except queue.Empty:
                break
            action = report.action
            if isinstance(action, NotifyStopping):
                notified.append(action)
                continue
            entry = self.running.get(action.step_name)
            if entry is not None and entry.attempt == action.attempt:
                del self.running[action.step_name]
            assert report.result is not None
            results.append((action.step_name, action.attempt, report.result))
        engine, announce = self.runtime.engine, self.runtime.announce
        if results:
            self.handle(announce(engine.report(self.execution_id, results)))
        for action in notified:
            self.handle(announce(engine.stop_notified(action.execution_id, action.step_name, action.attempt)))


def _wall_now() -> datetime:
    """Leases are about real processes, so they use real time whatever clock the engine uses."""
    return datetime.now(UTC)


_HOST = socket.gethostname()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_dead(owner: str) -> bool:
    """True when the lease owner is a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    return host == _HOST and pid_text.isdigit() and not _process_alive(int(pid_text))


class EmbeddedRuntime:
    """The engine, the SQLite store, the local object store and the runners, wired together."""

    def __init__(
        self,
        config: Config,
        *,
        store: Store | None = None,
        registry: RunnerRegistry | None = None,
        objects: ObjectStore | None = None,
        clock: Clock | None = None,
        poll_interval: float = 0.2,
        max_workers: int = 256,
        lease_ttl: float = 15.0,
        on_log: Callable[[str, str, str], None] | None = None,
        publisher: StatusPublisher | None = None,
        observers: Observers | None = None,
    ) -> None:
        """``publisher`` receives every status-change event (default: the JSON-lines file
        ``JsonLinesPublisher.for_config(config)`` chooses, under the state directory).
        ``observers`` follow every written outcome and add job variables (default:
        ``pipelines.tracking.embedded_observers(config, store)``, i.e. MLflow for MlflowConfig)."""
        if store is None:
            from pipelines.store.sqlite import open_store

            store = open_store(config)
        self.config = config
        self.store = store
        self.registry = registry if registry is not None else default_registry()
        self.objects = objects if objects is not None else LocalObjectStore(config.object_root)
        self.jobs = JobRecords.from_config(config)
        self.clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.max_workers = max_workers
        self.lease_ttl = lease_ttl
        self.on_log = on_log
        self.outbox = Outbox(
            store,
            publisher if publisher is not None else JsonLinesPublisher.for_config(config),
            claimant=f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            claimant_dead=_owner_dead,
        )
        self.observers = observers if observers is not None else embedded_observers(config, store)
        self.processes = AttemptProcesses.from_config(config)
        self.engine = Engine(
            store,
            objects=self.objects,
            clock=self.clock,
            region=config.region,
            account_id=config.account_id,
            unsupported_steps=lambda definition, names: self.registry.unsupported_steps(
                definition, config, names
            ),
            outbox=self.outbox.record,
        )
        self._drivers: dict[str, _Driver] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    # -- starting -------------------------------------------------------------------------------

    def register(self, pipeline_name: str, definition: str | PipelineDefinition, **options: Any) -> None:
        """Create or update a pipeline from a definition (a new version when it changed)."""
        upsert_pipeline(
            self.store,
            pipeline_name,
            _definition_text(definition),
            region=self.config.region,
            account_id=self.config.account_id,
            clock=self.clock,
            **options,
        )

    def start(
        self,
        request: StartRequest | None = None,
        *,
        definition: str | PipelineDefinition | None = None,
        progress: Progress | None = None,
        background: bool = True,
    ) -> ExecutionRecord:
        """Start an execution and drive it (in a background thread unless ``background=False``,
        in which case this returns only when the execution ended). ``definition`` is registered
        first (a new pipeline version when it changed). With no ``request``, the default
        pipeline starts with its default parameters."""
        request = request or StartRequest(pipeline_name=DEFAULT_PIPELINE_NAME)
        if definition is not None:
            self.register(request.pipeline_name, definition)
        self.publish_pending_events()
        outcome = self.announce(self.engine.start(request))
        assert outcome.execution is not None
        if not outcome.accepted:  # an idempotent replay: that execution is already being driven
            return outcome.execution
        execution_id = outcome.execution.execution_id
        try:
            owner = self._acquire(execution_id)
        except DriverBusy:
            # Another driver (``resume`` in a server that just started) took the new execution
            # over between the start and this lease; it carries it out from the stored state.
            if background:
                return outcome.execution
            return self.wait(execution_id)
        return self._drive_or_spawn(execution_id, outcome, progress, background, owner=owner)

    def run(
        self,
        definition: str | PipelineDefinition | None = None,
        request: StartRequest | None = None,
        *,
        progress: Progress | None = None,
    ) -> ExecutionRecord:
        """Run to the end and return the final execution record."""
        return self.start(request, definition=definition, progress=progress, background=False)

    # -- controlling ----------------------------------------------------------------------------

    def stop(
        self,
        execution: str,
        *,
        progress: Progress | None = None,
        background: bool = True,
        client_request_token: str | None = None,
    ) -> ExecutionRecord:
        """StopPipelineExecution, carried through to the end.

        A live driver (here or in another process) notices the stop and carries it out. With
        none alive, this process takes the execution over: it sends Callback steps their
        "Stopping" message, stops what runs, runs the stop handlers and ends the execution
        Stopped (or Failed). That happens in a background thread, or here until the execution
        ended with ``background=False``. An execution already Stopping is taken over the same
        way, so repeating a stop whose driver died finishes it."""
        outcome = self.announce(self.engine.stop(execution, client_request_token=client_request_token))
        assert outcome.execution is not None
        return self._carry_out(outcome.execution, progress, background)

    def retry(
        self,
        execution: str,
        *,
        parallelism: int | None = None,
        progress: Progress | None = None,
        background: bool = True,
        client_request_token: str | None = None,
    ) -> ExecutionRecord:
        """RetryPipelineExecution, driven here.

        The lease comes first: a retry sent the moment a client sees ``Failed`` may find the
        execution's driver still finishing (it writes the terminal status, then lets go), so
        this waits for it (up to one lease TTL) before the engine records the retry. Recording
        it first would leave an Executing execution that no driver carries out when the lease
        cannot be had. If it cannot, DriverBusy is raised and the execution stays as it was.

        A repeat of a recorded retry (the same ClientRequestToken) takes no lease: it is
        answered as the first call was, and the execution is carried on as after a stop (the
        first call may have died before driving it)."""
        execution_id = execution_id_of(execution)
        replay = self.engine.replay(retry_request(execution_id, parallelism, client_request_token))
        if replay is not None:
            assert replay.execution is not None
            return self._carry_out(replay.execution, progress, background)
        owner = self._acquire_for_retry(execution_id)
        try:
            outcome = self.announce(
                self.engine.retry(
                    execution, parallelism=parallelism, client_request_token=client_request_token
                )
            )
        except BaseException:
            self.store.release_lease(execution_id, owner)
            raise
        assert outcome.execution is not None
        return self._drive_or_spawn(execution_id, outcome, progress, background, owner=owner)

    def update_execution(
        self,
        execution: str,
        *,
        progress: Progress | None = None,
        background: bool = True,
        **changes: Any,
    ) -> ExecutionRecord:
        """UpdatePipelineExecution. When the change calls for work (a higher parallelism lets
        waiting steps start) and no driver is alive, this process takes the execution over as
        :meth:`stop` does; a change that calls for nothing (a new display name) is only recorded."""
        outcome = self.announce(self.engine.update_execution(execution, **changes))
        assert outcome.execution is not None
        if not outcome.actions:
            return outcome.execution
        return self._carry_out(outcome.execution, progress, background)

    def callback_success(
        self,
        token: str,
        outputs: Mapping[str, Any],
        *,
        background: bool = False,
        client_request_token: str | None = None,
    ) -> ExecutionRecord:
        outcome = self.engine.callback_success(token, outputs, client_request_token=client_request_token)
        return self._after_callback(self.announce(outcome), background)

    def callback_failure(
        self, token: str, reason: str, *, background: bool = False, client_request_token: str | None = None
    ) -> ExecutionRecord:
        outcome = self.engine.callback_failure(token, reason, client_request_token=client_request_token)
        return self._after_callback(self.announce(outcome), background)

    def _after_callback(self, outcome: Outcome, background: bool) -> ExecutionRecord:
        assert outcome.execution is not None
        return self._carry_out(outcome.execution, None, background)

    def _carry_out(
        self, execution: ExecutionRecord, progress: Progress | None, background: bool
    ) -> ExecutionRecord:
        """After a change recorded from outside the driver: a live driver picks it up itself;
        with none alive, continue the run here (as ``resume`` would)."""
        if execution.status in TERMINAL_EXECUTION_STATUSES:
            return execution
        if self.driver_alive(execution.execution_id):
            self._poke(execution.execution_id)
            return execution
        return self._resume_one(execution.execution_id, progress, background) or execution

    # -- resuming and waiting -------------------------------------------------------------------

    def resume(
        self, execution: str | None = None, *, progress: Progress | None = None
    ) -> list[ExecutionRecord]:
        """Drive to the end every unfinished execution (or the one given) that no live driver
        owns; steps that were running when their driver died get a new attempt. First, the
        status events dead processes left unpublished are published (every execution's)."""
        self.publish_pending_events()
        targets = (
            [execution_id_of(execution)]
            if execution is not None
            else [e.execution_id for e in self.store.list_unfinished_executions()]
        )
        finished: list[ExecutionRecord] = []
        for execution_id in targets:
            record = self._resume_one(execution_id, progress, background=False)
            if record is not None:
                finished.append(record)
        return finished

    def _resume_one(
        self, execution_id: str, progress: Progress | None, background: bool
    ) -> ExecutionRecord | None:
        try:
            owner = self._acquire(execution_id)
        except DriverBusy:
            return None
        try:
            self._end_survivors(execution_id)
        except BaseException:
            self.store.release_lease(execution_id, owner)
            raise
        outcome = self.announce(self.engine.recover(execution_id))
        assert outcome.execution is not None
        return self._drive_or_spawn(execution_id, outcome, progress, background, owner=owner)

    def _end_survivors(self, execution_id: str) -> None:
        """End the processes of step attempts whose driver died (called holding the lease, so no
        live driver owns them), before the engine decides the steps' next attempts: SIGTERM,
        then SIGKILL after the grace period, as a stopped job gets. Each record is dropped once
        its processes are gone, so an attempt never runs beside the next one."""
        for orphan in self.processes.of_execution(execution_id):
            ended = terminate(orphan.identity)
            if ended:
                log.warning(
                    "step %s (attempt %d) of execution %s was still running after its driver died: "
                    "ended process(es) %s",
                    orphan.step_name,
                    orphan.attempt,
                    execution_id,
                    ", ".join(map(str, ended)),
                )
            self.processes.forget_process(orphan)

    def wait(self, execution: str, timeout: float | None = None) -> ExecutionRecord:
        """Block until the execution ends (driven here or elsewhere)."""
        execution_id = execution_id_of(execution)
        thread = self._threads.get(execution_id)
        if thread is not None:
            thread.join(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.store.get_execution(execution_id)
            if record is None:
                raise ExecutionNotFound(execution)
            if record.status in TERMINAL_EXECUTION_STATUSES:
                return record
            if deadline is not None and time.monotonic() >= deadline:
                return record
            time.sleep(self.poll_interval)

    def driver_alive(self, execution_id: str) -> bool:
        lease = self.store.get_lease(execution_id)
        if lease is None:
            return False
        if lease.heartbeat_at < _wall_now() - timedelta(seconds=self.lease_ttl):
            return False
        return not _owner_dead(lease.owner)

    def drives(self, execution_id: str) -> bool:
        """True while a driver of this runtime (this process) is carrying the execution out."""
        with self._lock:
            return execution_id in self._drivers

    @property
    def publisher(self) -> StatusPublisher:
        """Where this runtime's status events go (the outbox's publisher)."""
        return self.outbox.publisher

    @publisher.setter
    def publisher(self, publisher: StatusPublisher) -> None:
        self.outbox.publisher = publisher

    def announce(self, outcome: Outcome) -> Outcome:
        """Publish the status events of one engine call (committed with it), and any the
        execution's earlier calls left behind, then hand the outcome back.

        A publisher that fails is logged: the events stay in the outbox for the next call or
        sweep, and a driver that stopped here would strand the run."""
        try:
            self.outbox.publish(outcome)
        except Exception:
            log.exception("could not publish the status events of execution %s", _execution_of(outcome))
        self.observers.observe(outcome)
        return outcome

    def publish_pending_events(self) -> int:
        """Publish every execution's status events whose publisher died (or whose claim is
        older than the outbox's timeout); returns how many were sent. Failures are logged."""
        try:
            return len(self.outbox.publish_pending())
        except Exception:
            log.exception("could not publish pending status events")
            return 0

    def step_logger(self, execution_id: str, step_name: str) -> Callable[[str], None]:
        on_log = self.on_log
        if on_log is None:
            return lambda _line: None
        return lambda line: on_log(execution_id, step_name, line)

    def close(self, tracking_timeout: float = 10.0) -> None:
        """Wait for the drivers, give the observers up to ``tracking_timeout`` seconds to
        finish their writes (MLflow), then close the store."""
        for thread in list(self._threads.values()):
            thread.join()
        self.observers.close(tracking_timeout)
        self.store.close()

    # -- internals ------------------------------------------------------------------------------

    def _acquire(self, execution_id: str) -> str:
        owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = _wall_now()
        if self.store.acquire_lease(execution_id, owner, now, now - timedelta(seconds=self.lease_ttl)):
            return owner
        lease = self.store.get_lease(execution_id)
        if (
            lease is not None
            and _owner_dead(lease.owner)
            and self.store.force_lease(execution_id, owner, now, lease.owner)
        ):
            return owner
        raise DriverBusy(f"Pipeline execution {execution_id} is being run by another process.")

    def _acquire_for_retry(self, execution_id: str) -> str:
        """The lease of a Failed execution, waiting out the driver that is finishing it.

        A driver writes the terminal status and lets go moments later, so a Failed execution's
        lease is waited for (up to one lease TTL). Anything else is refused at once with the
        engine's reason (a running execution's driver keeps its lease for good)."""
        deadline = time.monotonic() + self.lease_ttl
        while True:
            try:
                return self._acquire(execution_id)
            except DriverBusy:
                record = self.store.get_execution(execution_id)
                if record is None:
                    raise ExecutionNotFound(execution_id) from None
                check_retryable(record)
                if time.monotonic() >= deadline:
                    raise
            time.sleep(self.poll_interval)

    def _drive_or_spawn(
        self,
        execution_id: str,
        initial: Outcome,
        progress: Progress | None,
        background: bool,
        owner: str,
    ) -> ExecutionRecord:
        """Carry out ``initial`` and everything after it under the lease ``owner`` holds."""
        driver = _Driver(self, execution_id, owner, progress)
        with self._lock:
            self._drivers[execution_id] = driver

        def drive() -> ExecutionRecord:
            try:
                return driver.run(initial)
            finally:
                with self._lock:  # a retry may already have registered the next driver
                    if self._drivers.get(execution_id) is driver:
                        del self._drivers[execution_id]
                self.store.release_lease(execution_id, owner)

        if not background:
            return drive()
        thread = threading.Thread(target=drive, name=f"driver-{execution_id}", daemon=True)
        self._threads[execution_id] = thread
        thread.start()
        assert initial.execution is not None
        return initial.execution

    def _poke(self, execution_id: str) -> None:
        with self._lock:
            driver = self._drivers.get(execution_id)
        if driver is not None:
            driver.reconcile = True
            driver.wake.set()


def _execution_of(outcome: Outcome) -> str:
    return outcome.execution.execution_id if outcome.execution is not None else "?"


def _definition_text(definition: str | PipelineDefinition) -> str:
    if isinstance(definition, PipelineDefinition):
        return definition.model_dump_json(by_alias=True, exclude_unset=True)
    return definition
