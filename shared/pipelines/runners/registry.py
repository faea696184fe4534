"""Which runner carries out which step type in the embedded runtime.

Adding a step type touches nothing else: write a module in ``pipelines.runners`` whose
module-level ``RUNNERS`` list holds runner instances; :func:`default_registry` imports every
such module and registers them. Condition, Fail and ForEach steps have no runner: the engine
decides them itself (a ForEach's iterations run on their body steps' runners).

A runner may also implement :class:`NotifiesStop` (Callback steps: send the "Stopping"
message when the execution is stopped).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from pipelines.config import Config
from pipelines.definition.models import PipelineDefinition
from pipelines.runners.base import RunContext, Runner, StepNotSupported, StepRequest

ENGINE_DECIDED_TYPES: frozenset[str] = frozenset({"Condition", "Fail", "ForEach"})
"""Step types the engine decides without a runner."""

_NOT_RUNNER_MODULES = frozenset({"base", "registry", "outputs", "processes"})


@runtime_checkable
class NotifiesStop(Protocol):
    """A runner that must tell someone when a waiting step's execution is being stopped."""

    def notify_stopping(self, request: StepRequest, ctx: RunContext) -> None: ...


class RunnerRegistry:
    def __init__(self, runners: Iterable[Runner] = ()) -> None:
        self._runners: dict[str, Runner] = {}
        for runner in runners:
            self.register(runner)

    def register(self, runner: Runner, *, replace: bool = True) -> None:
        """Register ``runner`` for its ``step_type`` (replacing any earlier one unless told not to)."""
        step_type = runner.step_type
        if step_type in ENGINE_DECIDED_TYPES:
            raise ValueError(f"{step_type} steps are decided by the engine and take no runner")
        if not replace and step_type in self._runners:
            raise ValueError(f"a runner for {step_type} steps is already registered")
        self._runners[step_type] = runner

    def get(self, step_type: str) -> Runner:
        try:
            return self._runners[step_type]
        except KeyError:
            raise StepNotSupported(not_supported_here(step_type)) from None

    def step_types(self) -> set[str]:
        return set(self._runners)

    def copy(self) -> RunnerRegistry:
        return RunnerRegistry(self._runners.values())

    def unsupported_steps(
        self, definition: PipelineDefinition, config: Config, names: Iterable[str] | None = None
    ) -> list[tuple[str, str]]:
        """(step name, reason) for every step (or every step in ``names``) that cannot run here."""
        wanted = set(names) if names is not None else None
        problems: list[tuple[str, str]] = []
        for step in definition.all_steps():
            if step.type in ENGINE_DECIDED_TYPES or (wanted is not None and step.name not in wanted):
                continue
            runner = self._runners.get(step.type)
            if runner is None:
                problems.append((step.name, not_supported_here(step.type, step.arguments)))
                continue
            reason = runner.check(step, config)
            if reason:
                problems.append((step.name, reason))
        return problems


CLOUD_ONLY_REASONS: dict[str, str] = {
    "Job": (
        "a managed SageMaker model-customization workload (CreateJob) that has no local "
        "equivalent on this machine"
    ),
}
"""Why a step type the cloud runtime runs has no embedded runner."""


def not_supported_here(step_type: str, arguments: Any = None) -> str:
    """Why the embedded runtime cannot run a step of ``step_type``, and whether the cloud can:
    "deploy to run it" only when the cloud runtime has a route for the type."""
    from pipelines.stepfunctions.routes import CLOUD_STEP_TYPES

    kind = f"type {step_type}"
    if step_type == "Job" and isinstance(arguments, dict) and arguments.get("JobCategory"):
        kind = f"type Job (JobCategory {arguments['JobCategory']})"
    reason = CLOUD_ONLY_REASONS.get(step_type, "no runner is registered for it")
    if step_type in CLOUD_STEP_TYPES:
        return (
            f"{kind} is not run by the embedded runtime: {reason}; the cloud runtime runs it "
            "(deploy with `cdk deploy`, docs/engine-cloud.md)"
        )
    return f"{kind} is run by neither runtime: {reason}, and the cloud runtime has no route for it"


def default_registry() -> RunnerRegistry:
    """Every runner found in the modules of ``pipelines.runners`` (their ``RUNNERS`` lists)."""
    import pipelines.runners as package

    registry = RunnerRegistry()
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module_info.name in _NOT_RUNNER_MODULES or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for runner in getattr(module, "RUNNERS", ()):
            registry.register(runner)
    return registry
