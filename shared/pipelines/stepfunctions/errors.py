"""Typed errors of the cloud translation: a definition step the StepRunner cannot run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.errors import ValidationError


@dataclass(frozen=True)
class UnsupportedStep:
    """One step the cloud runtime cannot run, and why."""

    name: str
    type: str
    reason: str

    def describe(self) -> str:
        return f"step {self.name!r} (Type {self.type!r}): {self.reason}"


class UnsupportedInCloud(ValidationError):
    """Steps that have no StepRunner route, or whose fields do not fit their route.

    Raised before anything runs (``route_for``, ``plan_definition``), so a pipeline the cloud
    cannot run is refused up front instead of failing mid-execution. ``steps`` lists every
    offending step, so one run of ``pipelines plan`` names them all.
    """

    def __init__(self, steps: Iterable[UnsupportedStep]) -> None:
        self.steps = tuple(steps)
        if not self.steps:
            raise ValueError("UnsupportedInCloud needs at least one step")
        lines = "; ".join(step.describe() for step in self.steps)
        noun = "step" if len(self.steps) == 1 else "steps"
        super().__init__(f"the cloud runtime cannot run {len(self.steps)} {noun}: {lines}")


class UnresolvedRequest(ValidationError):
    """A StepRunner input still holds a pipeline expression (``Get``, ``Std:Join``, ``Std:JsonGet``).

    The engine must resolve every expression before starting a StepRunner; Step Functions would
    otherwise send the raw expression object to SageMaker as if it were a value.
    """


class RunnerInputTooLarge(ValidationError):
    """A resolved request too big for a Step Functions execution input (256 KiB).

    Refused before StartExecution so the step fails with this message instead of an opaque
    StartExecution error; the usual cause is a huge literal in Arguments.
    """


class SubstitutionMissing(ValidationError):
    """A ``${Key}`` placeholder of a state machine definition has no value."""
