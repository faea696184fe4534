"""The narrow interface between a runtime and whatever follows its executions from outside.

The engine stays pure: it decides and records. A runtime hands every written outcome to its
observers and asks them, just before a job process starts, for extra environment variables.
An observer must never block the runtime or raise into it: it queues its work and answers
``job_environment`` within its own small bound.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from pipelines.engine.actions import Outcome
from pipelines.runners.base import StepRequest

log = logging.getLogger(__name__)


class ExecutionObserver(Protocol):
    """Follows executions through the outcomes a runtime announces."""

    def observe(self, outcome: Outcome) -> None:
        """One engine call's outcome, after its write succeeded. Returns at once."""

    def job_environment(self, request: StepRequest) -> Mapping[str, str]:
        """Variables for the job process of this attempt (empty when there is nothing to add)."""

    def close(self, timeout: float) -> None:
        """Finish queued work for at most ``timeout`` seconds, then drop the rest."""


class Observers:
    """Several observers as one; a failing observer is the observer's problem, not the run's."""

    def __init__(self, observers: Sequence[ExecutionObserver] = ()) -> None:
        self.observers = list(observers)

    def observe(self, outcome: Outcome) -> None:
        for observer in self.observers:
            try:
                observer.observe(outcome)
            except Exception:
                log.exception("observer %r failed on an outcome; the execution goes on", observer)

    def job_environment(self, request: StepRequest) -> dict[str, str]:
        environment: dict[str, str] = {}
        for observer in self.observers:
            try:
                environment.update(observer.job_environment(request))
            except Exception:
                log.exception("observer %r failed to give a job environment; the job runs without", observer)
        return environment

    def close(self, timeout: float) -> None:
        for observer in self.observers:
            try:
                observer.close(timeout)
            except Exception:
                log.exception("observer %r failed to close", observer)
