"""Which steps can start now, and which can never run in this execution.

A step can run when every upstream step reached the outcome its dependency asks for. A plain
dependency (DependsOn name, data reference, condition branch) asks for success. The v3 SDK's
run conditions (``DependsOn: [{"Step": X, "Trigger": T}]``, :data:`TRIGGER_STATUSES`) ask for
``Failed``, ``Stopped`` or ``Any`` terminal status of X instead. A step can never run when an
upstream step ended otherwise or can never run itself (an upstream that never runs never
reaches any status, so even ``Any`` waits in vain), when it sits in the branch its condition
did not take, or when a selective execution leaves it out. Those steps get no record at all:
the service has no Skipped status.

While an execution is Stopping, only steps reached through a Stopped upstream (a ``Stopped``
or ``Any`` trigger satisfied by a stopped step) may start: they are the execution's stop
handlers. Nothing else starts after a stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.definition.models import PipelineDefinition
from pipelines.graph import PipelineGraph
from pipelines.store.base import StepRecord

SUCCESS_TRIGGER = "Completed"
TRIGGER_STATUSES: Mapping[str, frozenset[str]] = {
    SUCCESS_TRIGGER: frozenset({"Succeeded"}),
    "Failed": frozenset({"Failed"}),
    "Stopped": frozenset({"Stopped"}),
    "Any": frozenset({"Succeeded", "Failed", "Stopped"}),
}
"""The upstream statuses each DependsOn trigger accepts (the SDK's ``TriggerCondition`` values;
``Completed`` is what a plain name means)."""

FAILURE_TRIGGERS = frozenset({"Failed", "Any"})
"""Triggers that let a step run after its upstream step failed: they handle that failure."""

_NO_TRIGGERS: Mapping[str, str] = {}


@dataclass(frozen=True)
class Topology:
    """The graph facts readiness needs, flattened once per definition for speed."""

    order: tuple[str, ...]  # topological
    upstream: Mapping[str, tuple[str, ...]]
    branch: Mapping[str, tuple[str, str]]  # step -> (condition, "if" | "else")
    triggers: Mapping[str, Mapping[str, str]]  # step -> upstream -> trigger, non-success ones only
    failure_handlers: Mapping[str, tuple[str, ...]]  # upstream -> steps that run on its failure

    @classmethod
    def of(cls, graph: PipelineGraph) -> Topology:
        # ForEach body steps never run as themselves, only as the ForEach's iterations
        # (engine/for_each.py schedules those)
        order = tuple(name for name in graph.topological_order() if graph.for_each_of(name) is None)
        upstream = {name: tuple(sorted(graph.upstream(name))) for name in order}
        branch = {name: b for name in order if (b := graph.branch_of(name)) is not None}
        triggers: dict[str, dict[str, str]] = {}
        handlers: dict[str, list[str]] = {}
        for name in order:
            for up, trigger in graph.steps[name].run_conditions.items():
                if trigger == SUCCESS_TRIGGER or up not in upstream[name]:
                    continue  # unknown upstream names are the validator's to report
                triggers.setdefault(name, {})[up] = trigger
                if trigger in FAILURE_TRIGGERS:
                    handlers.setdefault(up, []).append(name)
        return cls(order, upstream, branch, triggers, {up: tuple(hs) for up, hs in handlers.items()})

    def catchable_failures(self, in_scope: set[str] | None) -> frozenset[str]:
        """Steps whose failure some step (allowed to run) is waiting for: their failure does not
        stop new steps from starting."""
        return frozenset(
            up
            for up, handlers in self.failure_handlers.items()
            if in_scope is None or any(h in in_scope for h in handlers)
        )

    def handled_failures(self, steps: Mapping[str, StepRecord], run: int) -> frozenset[str]:
        """Failed steps whose failure a handler of this run was reached through."""
        return frozenset(
            up
            for up, handlers in self.failure_handlers.items()
            if (failed := steps.get(up)) is not None
            and failed.status == "Failed"
            and any((h_record := steps.get(h)) is not None and h_record.run == run for h in handlers)
        )


def run_condition_problems(definition: PipelineDefinition) -> list[str]:
    """One line per DependsOn trigger this engine does not know (it would otherwise never fire)."""
    return [
        f"step {step.name}: DependsOn trigger {trigger!r} is not supported by this runtime"
        for step in definition.all_steps()
        for trigger in step.run_conditions.values()
        if trigger not in TRIGGER_STATUSES
    ]


def branch_taken(condition: StepRecord, branch: str) -> bool:
    outcome = (condition.properties or {}).get("Outcome")
    # a JSON boolean; records written before that change hold the string "True"/"False"
    return (outcome is True or outcome == "True") == (branch == "if")


def ready_steps(
    topology: Topology,
    steps: Mapping[str, StepRecord],
    in_scope: set[str] | None = None,
    *,
    stopping: bool = False,
) -> list[str]:
    """Steps without a record whose upstream steps all reached the status their dependency
    asks for, in topological order.

    ``steps`` holds the current run's records; ``in_scope`` (selective execution) lists the
    steps allowed to run, None meaning all; ``stopping`` keeps only the stop handlers. A step
    that can never run is simply never ready, so the execution ends once nothing runs and
    nothing is ready.
    """
    ready: list[str] = []
    upstream_of = topology.upstream
    branch_of = topology.branch
    for name in topology.order:
        if name in steps or (in_scope is not None and name not in in_scope):
            continue
        triggers = topology.triggers.get(name, _NO_TRIGGERS)
        through_stop = False
        for up in upstream_of[name]:
            record = steps.get(up)
            if record is None or record.status not in TRIGGER_STATUSES[triggers.get(up, SUCCESS_TRIGGER)]:
                break
            through_stop = through_stop or record.status == "Stopped"
        else:
            branch = branch_of.get(name)
            if branch is not None and not branch_taken(steps[branch[0]], branch[1]):
                continue
            if stopping and not through_stop:
                continue
            ready.append(name)
    return ready
