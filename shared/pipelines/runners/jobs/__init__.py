"""Local job runners of the embedded runtime: Processing, Training (with @step functions and
NotebookJobs), Transform and Tuning run as local processes under the SageMaker container
contract, each with a private ``/opt/ml`` (see sandbox.py). A Python job starts as a fork of a
warm interpreter that has imported the config's preload modules (warm.py), isolated as a cold
job is; when that cannot be faithful it starts cold, and its log says why.

- One module per runner: ``processing.py``, ``training.py`` (its special programs:
  ``function_step.py``, ``notebook.py``, against ``training_job.py``'s contract), ``transform.py``,
  ``tuning.py`` (training trials through the training runner).
- What every job shares: ``container.py`` (``JobLabel.for_job`` names the step and the job in
  every message and holds its metadata; the job's interpreter and environment; its ``/opt/ml``
  tree and process), ``describe.py`` (the Describe*Job response that is the step's properties),
  ``errors.py`` (one ``JobError`` subclass per failure class), ``channels.py`` (data in and
  out), ``images.py`` (which interpreter stands in for an image), ``sandbox.py``, ``warm.py``,
  ``joblog.py``, ``metrics.py``, ``model_data.py``, ``records.py`` (the job records).
- Modules starting with ``_`` run inside a job (or a local endpoint's model server), under the
  image's interpreter.
"""

from __future__ import annotations

from typing import Any, Protocol

from pipelines.runners.jobs.errors import (
    AlgorithmError,
    InputNotFound,
    JobError,
    JobRequestError,
    JobStopped,
    MaxRuntimeExceeded,
    SandboxUnavailable,
)
from pipelines.runners.jobs.processing import ProcessingRunner
from pipelines.runners.jobs.training import TrainingRunner
from pipelines.runners.jobs.transform import TransformRunner
from pipelines.runners.jobs.tuning import TuningRunner


class _Registry(Protocol):
    def register(self, runner: Any) -> Any: ...


def job_runners() -> list[Any]:
    training = TrainingRunner()
    return [ProcessingRunner(), training, TransformRunner(), TuningRunner(training)]


RUNNERS = job_runners()
"""Picked up by ``pipelines.runners.registry.default_registry``."""


def register_job_runners(registry: _Registry) -> None:
    """Add the job runners to the engine's runner registry (one per step type)."""
    for runner in job_runners():
        registry.register(runner)


__all__ = [
    "RUNNERS",
    "AlgorithmError",
    "InputNotFound",
    "JobError",
    "JobRequestError",
    "JobStopped",
    "MaxRuntimeExceeded",
    "ProcessingRunner",
    "SandboxUnavailable",
    "TrainingRunner",
    "TransformRunner",
    "TuningRunner",
    "job_runners",
    "register_job_runners",
]
