"""What a training job is while it is being prepared, and the contract of special programs.

:class:`TrainingJob` is what the Training runner (training.py) builds for each job and what the
special programs read and extend; :class:`TrainingProgram` is how a special kind of training job
(a ``@step`` function, function_step.py; a notebook, notebook.py) is recognised by its
entrypoint and run. Kept apart from the runner so the programs depend on the contract, not on
the runner that chooses among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.jobs.container import JobLabel, JobWorkspace, as_mapping
from pipelines.runners.jobs.images import Interpreter


@dataclass
class TrainingJob:
    """One training job being prepared: what programs read and extend."""

    request: StepRequest
    ctx: RunContext
    label: JobLabel
    workspace: JobWorkspace
    arguments: Mapping[str, Any]
    interpreter: Interpreter
    image: str | None
    env: dict[str, str]
    channels: dict[str, str] = field(default_factory=dict)  # channel name -> S3 URI

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(as_mapping(self.arguments.get("HyperParameters"), what="HyperParameters"))

    @property
    def algorithm(self) -> Mapping[str, Any]:
        return as_mapping(self.arguments.get("AlgorithmSpecification"), what="AlgorithmSpecification")


class TrainingProgram(Protocol):
    """A special kind of training job (a @step function, a notebook) recognised by its entrypoint."""

    def matches(self, entrypoint: list[Any]) -> bool: ...

    def check(self, step: Step, config: Config) -> str | None: ...

    def prepare(self, job: TrainingJob) -> tuple[list[str], str]:
        """The argv and working directory; may stage more files into the job's tree."""
        ...

    def finish(self, job: TrainingJob) -> None:
        """After the process ended (successfully or not): upload what the program produced."""
        ...
