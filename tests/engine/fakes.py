"""Scripted runners for engine and driver tests: each step name has a list of behaviours, one
per attempt, so a test states exactly what every attempt does."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepFailed, StepPending, StepRequest, StepResult


@dataclass(frozen=True)
class Succeed:
    properties: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Fail:
    error_code: str | None = None
    reason: str = "scripted failure"


@dataclass(frozen=True)
class Sleep:
    """Run for ``seconds`` of real time, ending early (with a StepFailed) when cancelled."""

    seconds: float
    then: Succeed | Fail = field(default_factory=Succeed)


@dataclass(frozen=True)
class Wait:
    """Hand off to a callback (StepPending)."""


@dataclass(frozen=True)
class Block:
    """Run until the event is set (or cancelled)."""

    event: threading.Event


Behaviour = Succeed | Fail | Sleep | Wait | Block


def processing_properties(request: StepRequest) -> dict[str, Any]:
    """A DescribeProcessingJob-shaped response built from the resolved request."""
    args = request.arguments if isinstance(request.arguments, dict) else {}
    return {
        "ProcessingJobName": request.job_name,
        "ProcessingJobStatus": "Completed",
        "ProcessingOutputConfig": args.get("ProcessingOutputConfig", {"Outputs": []}),
        "ProcessingInputs": args.get("ProcessingInputs", []),
        "AppSpecification": args.get("AppSpecification", {}),
    }


class ScriptedRunner:
    """A runner for one step type whose attempts follow a per-step script (default: succeed)."""

    step_type: ClassVar[str] = "Processing"

    def __init__(
        self,
        step_type: str = "Processing",
        scripts: Mapping[str, list[Behaviour]] | None = None,
        properties: Callable[[StepRequest], dict[str, Any]] | None = None,
        unsupported: str | None = None,
    ) -> None:
        self.step_type = step_type  # type: ignore[misc]
        self.scripts = {k: list(v) for k, v in (scripts or {}).items()}
        self.properties = properties or (lambda request: {"JobName": request.job_name})
        self.unsupported = unsupported
        self.lock = threading.Lock()
        self.calls: list[StepRequest] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self.active = 0
        self.max_active = 0
        self.stop_notices: list[StepRequest] = []
        self.cancelled: list[str] = []

    def check(self, step: Step, config: Config) -> str | None:
        return self.unsupported

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult | StepPending:
        with self.lock:
            self.calls.append(request)
            index = self.attempts[request.step_name]
            self.attempts[request.step_name] += 1
            script = self.scripts.get(request.step_name, [])
            behaviour: Behaviour = script[index] if index < len(script) else Succeed()
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self._perform(behaviour, request, ctx)
        finally:
            with self.lock:
                self.active -= 1

    def _perform(
        self, behaviour: Behaviour, request: StepRequest, ctx: RunContext
    ) -> StepResult | StepPending:
        if isinstance(behaviour, Sleep):
            if ctx.cancel.wait(behaviour.seconds):
                with self.lock:
                    self.cancelled.append(request.step_name)
                raise StepFailed("stopped", error_code="Stopped")
            return self._perform(behaviour.then, request, ctx)
        if isinstance(behaviour, Block):
            while not behaviour.event.wait(0.01):
                if ctx.cancel.is_set():
                    with self.lock:
                        self.cancelled.append(request.step_name)
                    raise StepFailed("stopped", error_code="Stopped")
            return StepResult(properties=self.properties(request))
        if isinstance(behaviour, Fail):
            raise StepFailed(behaviour.reason, error_code=behaviour.error_code)
        if isinstance(behaviour, Wait):
            return StepPending(metadata={})
        properties = (
            dict(behaviour.properties) if behaviour.properties is not None else self.properties(request)
        )
        return StepResult(properties=properties, metadata=dict(behaviour.metadata or {}))

    def notify_stopping(self, request: StepRequest, ctx: RunContext) -> None:
        with self.lock:
            self.stop_notices.append(request)

    def runs_of(self, step_name: str) -> int:
        return self.attempts.get(step_name, 0)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition the test is waiting for (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


ROLE = "arn:aws:iam::000000000000:role/SageMakerRole"


def processing_step(name: str, **envelope: Any) -> dict[str, Any]:
    """A minimal valid Processing step (extra envelope members such as DependsOn, CacheConfig,
    RetryPolicies, PropertyFiles, or Arguments overrides via ``arguments``)."""
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "example.com/image:latest"},
        "RoleArn": ROLE,
    }
    arguments.update(envelope.pop("arguments", {}))
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **envelope}


def definition(*steps: dict[str, Any], parameters: list[dict[str, Any]] | None = None, **top: Any) -> str:
    import json

    return json.dumps({"Version": "2020-12-01", "Parameters": parameters or [], "Steps": list(steps), **top})


class SyncDriver:
    """Carries out an engine's actions one at a time on the calling thread (deterministic)."""

    def __init__(self, engine: Any, registry: Any, ctx: RunContext) -> None:
        self.engine = engine
        self.registry = registry
        self.ctx = ctx
        self.pending: list[Any] = []
        self.outcomes: list[Any] = []

    def feed(self, outcome: Any) -> Any:
        self.outcomes.append(outcome)
        self.pending.extend(outcome.actions)
        return outcome

    def step(self) -> bool:
        """Carry out the next RunStep (waiting out its backoff on the engine's clock)."""
        from pipelines.engine import RunStep

        while self.pending:
            action = self.pending.pop(0)
            if not isinstance(action, RunStep):
                continue
            if action.not_before is not None:
                now = self.engine.clock.now()
                if action.not_before > now:
                    self.engine.clock.advance((action.not_before - now).total_seconds())
            claimed = self.engine.step_started(action.execution_id, action.step_name, action.attempt)
            if not claimed.accepted:
                continue
            self.feed(claimed)
            runner = self.registry.get(action.request.step_type)
            try:
                result = runner.run(action.request, self.ctx)
            except StepFailed as exc:
                self.feed(self.engine.step_failed(action.execution_id, action.step_name, action.attempt, exc))
                return True
            if isinstance(result, StepPending):
                self.feed(
                    self.engine.step_pending(action.execution_id, action.step_name, action.attempt, result)
                )
            else:
                self.feed(
                    self.engine.step_succeeded(action.execution_id, action.step_name, action.attempt, result)
                )
            return True
        return False

    def run(self, outcome: Any) -> Any:
        self.feed(outcome)
        while self.step():
            pass
        return self.engine.state(outcome.execution.execution_id)


class AppendingRunner:
    """Processing runner for the crash test: sleeps, then appends ``<step>`` to a log file, so
    the file counts every run that finished."""

    step_type: ClassVar[str] = "Processing"

    def __init__(self, log_path: str, seconds: Mapping[str, float]) -> None:
        self.log_path = log_path
        self.seconds = dict(seconds)

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if ctx.cancel.wait(self.seconds.get(request.step_name, 0.0)):
            raise StepFailed("stopped")
        with open(self.log_path, "a") as log:
            log.write(f"{request.step_name}\n")
        return StepResult(properties=processing_properties(request))
