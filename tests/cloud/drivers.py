"""The scenario Driver of each runtime (see tests/cloud/scenarios.py)."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pipelines.callbacks import CallbackQueue
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.engine import FakeClock, StartRequest, SystemClock
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult
from pipelines.runners.callback import CallbackRunner
from pipelines.runners.lambda_ import LambdaRunner
from pipelines.runners.registry import RunnerRegistry
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import TERMINAL_EXECUTION_STATUSES, ListQuery, SelectiveExecutionConfig, StepRecord
from pipelines.store.sqlite import SQLiteStore

from tests.cloud.harness import Cloud, wait_until
from tests.cloud.moto_patches import Complete, Failed, Hold, JobControl, JobOutcome, Reject
from tests.cloud.scenarios import ACCOUNT, REGION, Scenario, Slow, function_arn, queue_url

PIPELINE = "scenario"


def step_of_job(job_name: str) -> tuple[str, int]:
    """``pipelines-<execution id>-<step>-<token>-<failures>`` -> (step, failure count)."""
    parts = job_name.split("-")
    return "-".join(parts[2:-2]), int(parts[-1])


def _selective(spec: dict[str, Any] | None) -> SelectiveExecutionConfig | None:
    if spec is None:
        return None
    return SelectiveExecutionConfig(source_execution_arn=spec["source"], selected_steps=spec["steps"])


def _load_handler(source: str) -> Callable[[Any, Any], Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<scenario function>", "exec"), namespace)  # the scenario's own test code
    handler: Callable[[Any, Any], Any] = namespace["handler"]
    return handler


class ScriptedMotoJobs:
    """Ends the moto jobs of a scenario as its table says, counting attempts per step; a
    ``Slow`` outcome holds the job and releases it (Completed) after its seconds. Both cloud
    drivers (in-process and the deploy rehearsal) install its ``decide``."""

    def __init__(self, scenario: Scenario, jobs: JobControl) -> None:
        self.scenario = scenario
        self.jobs = jobs
        self.attempts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def decide(self, kind: str, job_name: str, request: dict[str, Any]) -> JobOutcome:
        step, _ = step_of_job(job_name)
        with self.lock:
            index = self.attempts[step]
            self.attempts[step] += 1
        outcome = self.scenario.job_outcome(step, index)
        if isinstance(outcome, Slow):
            timer = threading.Timer(outcome.seconds, self._release, (job_name,))
            timer.daemon = True
            timer.start()
            return Hold()
        return outcome

    def _release(self, job_name: str) -> None:
        if job_name in self.jobs.held:
            self.jobs.release(job_name)


class CloudDriver:
    def __init__(self, cloud: Cloud, scenario: Scenario) -> None:
        self.cloud = cloud
        self.scenario = scenario
        for name, source in scenario.functions.items():
            assert cloud.function(name, _load_handler(source)) == function_arn(name)
        for queue in scenario.queues:
            assert cloud.queue(queue) == queue_url(queue)
        cloud.moto.jobs.decide = ScriptedMotoJobs(scenario, cloud.moto.jobs).decide
        cloud.moto.blocking_waits = scenario.long_backoff
        cloud.register(json.dumps(scenario.definition), PIPELINE, parallelism=scenario.parallelism)

    def start(self, **kwargs: Any) -> str:
        record = self.cloud.api.start(
            StartRequest(
                pipeline_name=PIPELINE,
                parameters=kwargs.get("parameters") or {},
                selective=_selective(kwargs.get("selective")),
            )
        )
        return record.execution_arn

    def wait(self, execution_arn: str) -> None:
        self.cloud.wait(execution_arn)

    def wait_step(self, execution_arn: str, step: str, ready: Callable[[StepRecord], bool]) -> StepRecord:
        found: list[StepRecord] = []

        def present() -> bool:
            record = self.cloud.steps(execution_arn).get(step)
            if record is not None and ready(record):
                found.append(record)
                return True
            return False

        wait_until(present)
        return found[0]

    def wait_job_running(self, execution_arn: str, step: str) -> None:
        def running() -> bool:
            held = [step_of_job(name)[0] for name in list(self.cloud.moto.jobs.held)]
            record = self.cloud.steps(execution_arn).get(step)
            return step in held and record is not None and record.status == "Executing"

        wait_until(running)

    def callback_success(self, execution_arn: str, step: str, outputs: dict[str, Any]) -> None:
        token = self.cloud.steps(execution_arn)[step].callback_token
        assert token is not None
        self.cloud.api.callback_success(token, outputs)

    def callback_failure(self, execution_arn: str, step: str, reason: str) -> None:
        token = self.cloud.steps(execution_arn)[step].callback_token
        assert token is not None
        self.cloud.api.callback_failure(token, reason)

    def stop(self, execution_arn: str) -> None:
        self.cloud.api.stop(execution_arn)

    def retry(self, execution_arn: str) -> None:
        self.cloud.api.retry(execution_arn)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        return self.cloud.messages(queue_url(queue))

    def steps(self, execution_arn: str) -> dict[str, StepRecord]:
        return self.cloud.steps(execution_arn)


class ScriptedJobs:
    """Processing/Training runners of the embedded runtime that follow the scenario's job table."""

    step_type: ClassVar[str] = "Processing"

    def __init__(self, step_type: str, scenario: Scenario, shared: ScriptedJobsState) -> None:
        self.step_type = step_type  # type: ignore[misc]
        self.scenario = scenario
        self.shared = shared

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        with self.shared.lock:
            index = self.shared.attempts[request.step_name]
            self.shared.attempts[request.step_name] += 1
            self.shared.running.add(request.step_name)
        try:
            return self._perform(self.scenario.job_outcome(request.step_name, index), request, ctx)
        finally:
            with self.shared.lock:
                self.shared.running.discard(request.step_name)

    def _perform(self, outcome: Any, request: StepRequest, ctx: RunContext) -> StepResult:
        if isinstance(outcome, Failed):
            raise StepFailed(outcome.reason)
        if isinstance(outcome, Reject):
            raise StepFailed(f"{outcome.code}: {outcome.message}", error_code=outcome.code)
        if isinstance(outcome, Hold | Slow) and ctx.cancel.wait(
            outcome.seconds if isinstance(outcome, Slow) else 30.0
        ):
            raise StepFailed("stopped", error_code="Stopped")
        if isinstance(outcome, Complete):
            for uri, data in outcome.objects.items():
                ctx.objects.put(uri, data)
        return StepResult(properties=_described(request))


class ScriptedJobsState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = defaultdict(int)
        self.running: set[str] = set()


def _described(request: StepRequest) -> dict[str, Any]:
    arguments = request.arguments if isinstance(request.arguments, dict) else {}
    if request.step_type == "Training":
        output = arguments.get("OutputDataConfig", {}).get("S3OutputPath", "")
        return {
            **arguments,
            "TrainingJobName": request.job_name,
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": f"{output}/{request.job_name}/output/model.tar.gz"},
        }
    return {**arguments, "ProcessingJobName": request.job_name, "ProcessingJobStatus": "Completed"}


class EmbeddedDriver:
    def __init__(self, tmp_path: Path, scenario: Scenario) -> None:
        functions_dir = tmp_path / "functions"
        functions_dir.mkdir(parents=True)
        mapping = {}
        for name, source in scenario.functions.items():
            path = functions_dir / f"{name}.py"
            path.write_text(source)
            mapping[function_arn(name)] = f"{path}:handler"
        self.config = Config(
            state_dir=tmp_path / "state",
            object_root=tmp_path / "objects",
            base_dir=tmp_path,
            region=REGION,
            account_id=ACCOUNT,
            functions=mapping,
        )
        self.jobs = ScriptedJobsState()
        registry = RunnerRegistry(
            [
                ScriptedJobs("Processing", scenario, self.jobs),
                ScriptedJobs("Training", scenario, self.jobs),
                LambdaRunner(),
                CallbackRunner(),
            ]
        )
        self.store = SQLiteStore(tmp_path / "state" / "pipelines.sqlite")
        self.runtime = EmbeddedRuntime(
            self.config,
            store=self.store,
            registry=registry,
            objects=LocalObjectStore(self.config.object_root),
            clock=SystemClock() if scenario.long_backoff or scenario.real_clock else FakeClock(),
            poll_interval=0.02,
        )
        self.runtime.register(PIPELINE, json.dumps(scenario.definition), parallelism=scenario.parallelism)

    def close(self) -> None:
        for thread in list(self.runtime._threads.values()):
            thread.join(timeout=30)
        self.store.close()

    def start(self, **kwargs: Any) -> str:
        record = self.runtime.start(
            StartRequest(
                pipeline_name=PIPELINE,
                parameters=kwargs.get("parameters") or {},
                selective=_selective(kwargs.get("selective")),
            )
        )
        return record.execution_arn

    def wait(self, execution_arn: str) -> None:
        record = self.runtime.wait(execution_arn, timeout=30)
        assert record.status in TERMINAL_EXECUTION_STATUSES, f"{execution_arn} is still {record.status}"
        thread = self.runtime._threads.get(record.execution_id)
        if thread is not None:
            thread.join(timeout=30)

    def wait_step(self, execution_arn: str, step: str, ready: Callable[[StepRecord], bool]) -> StepRecord:
        found: list[StepRecord] = []

        def present() -> bool:
            record = self.steps(execution_arn).get(step)
            if record is not None and ready(record):
                found.append(record)
                return True
            return False

        wait_until(present)
        return found[0]

    def wait_job_running(self, execution_arn: str, step: str) -> None:
        wait_until(lambda: step in self.jobs.running)

    def callback_success(self, execution_arn: str, step: str, outputs: dict[str, Any]) -> None:
        token = self.steps(execution_arn)[step].callback_token
        assert token is not None
        self.runtime.callback_success(token, outputs)

    def callback_failure(self, execution_arn: str, step: str, reason: str) -> None:
        token = self.steps(execution_arn)[step].callback_token
        assert token is not None
        self.runtime.callback_failure(token, reason)

    def stop(self, execution_arn: str) -> None:
        self.runtime.stop(execution_arn)

    def retry(self, execution_arn: str) -> None:
        self.runtime.retry(execution_arn)

    def messages(self, queue: str) -> list[dict[str, Any]]:
        return [m.body for m in CallbackQueue.from_config(self.config).peek(queue_url(queue))]

    def steps(self, execution_arn: str) -> dict[str, StepRecord]:
        page = self.store.list_steps(execution_arn.rsplit("/", 1)[-1], ListQuery(limit=1000, ascending=True))
        return {s.step_name: s for s in page.items}
