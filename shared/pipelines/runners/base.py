"""The contract between the engine and the step runners of the embedded runtime.

A runner receives a step whose Arguments are already resolved and the job name for this
attempt, does the work, and returns the step's properties (the Describe* response shape that
``Steps.X.<path>`` references read) plus its ``PipelineExecutionStep.Metadata`` member. It
raises :class:`StepFailed` with an AWS-style error code so the engine can classify the error
for retry policies. Runners never touch the store: the engine records every outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import PipelinesError
from pipelines.objects.base import ObjectStore


class StepFailed(PipelinesError):
    """The step's work failed. ``error_code`` is the API error code or job failure class
    (``ThrottlingException``, ``InternalServerError``, ``CapacityError``, ``ResourceLimitExceeded``,
    ...); the engine maps it onto the five retry exception types."""

    def __init__(self, reason: str, *, error_code: str | None = None, metadata: dict[str, Any] | None = None):
        super().__init__(reason)
        self.error_code = error_code
        self.metadata = metadata or {}


class StepNotSupported(PipelinesError):
    """The embedded runtime cannot run this step type; raised before the execution starts."""


@dataclass(frozen=True)
class StepRequest:
    """One attempt of one step, with everything resolved."""

    pipeline_name: str
    pipeline_arn: str
    execution_id: str
    execution_arn: str
    step: Step  # the definition step (step-level fields: FunctionArn, PropertyFiles, ...)
    arguments: Any  # Arguments with every expression resolved
    job_name: str  # the job name for this attempt (new per attempt)
    attempt: int  # 1-based
    step_fields: dict[str, Any] = field(default_factory=dict)  # resolved step-level fields
    experiment_config: dict[str, str] | None = None  # ExperimentName / TrialName / TrialComponentDisplayName

    @property
    def step_name(self) -> str:
        return self.step.name

    @property
    def step_type(self) -> str:
        return self.step.type


@dataclass
class StepResult:
    """A finished step: its properties and its Metadata member (e.g. {"ProcessingJob": {"Arn": ...}})."""

    properties: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepPending:
    """The step waits for an outside signal (Callback): it stays Executing until completed."""

    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunContext:
    """What a runner may use. ``cancel`` is set when the execution is stopped.

    ``on_process`` is told the pid of every process the runner starts for the step (each the
    leader of a session of its own, started through :func:`pipelines.runners.processes.tied_to_driver`),
    so the driver can record who runs the attempt and a later driver can end survivors."""

    config: Config
    objects: ObjectStore
    cancel: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = lambda _line: None
    # Extra variables for the job process of this attempt, from the runtime's observers (e.g.
    # MLFLOW_TRACKING_URI/MLFLOW_RUN_ID); the request's own Environment still wins.
    environment: Mapping[str, str] = field(default_factory=dict)
    on_process: Callable[[int], None] = lambda _pid: None
    # The job records (pipelines.runners.jobs.records.JobRecords) jobs started inside a step
    # (a tuning job's training trials) are recorded in; None where nothing records them.
    jobs: Any = None


class Runner(Protocol):
    step_type: ClassVar[str]

    def check(self, step: Step, config: Config) -> str | None:
        """Before start: None if the step can run here, else the reason it cannot."""
        ...

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult | StepPending: ...
