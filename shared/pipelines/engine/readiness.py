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

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from pipelines.definition.models import PipelineDefinition
from pipelines.engine.failure_policy import blocks
from pipelines.engine.for_each import FOR_EACH
from pipelines.graph import PipelineGraph
from pipelines.store.base import RUNNING_STEP_STATUSES, StepRecord

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
    position: Mapping[str, int]  # step -> its index in ``order``
    upstream: Mapping[str, tuple[str, ...]]
    downstream: Mapping[str, tuple[str, ...]]  # step -> the steps whose ``upstream`` names it
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
        downstream: dict[str, list[str]] = {}
        for name in order:
            for up in upstream[name]:
                downstream.setdefault(up, []).append(name)
        return cls(
            order,
            {name: index for index, name in enumerate(order)},
            upstream,
            {up: tuple(down) for up, down in downstream.items()},
            branch,
            triggers,
            {up: tuple(hs) for up, hs in handlers.items()},
        )

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


class Frontier:
    """Which steps are ready, how many run and whether a failure blocks new starts, kept current
    through one decision's scheduling loop (``Decisions.advance``).

    The loop asks again after every step it decided inline (a Condition, a Fail, a cache hit).
    Rescanning the DAG and every record each time made a chain of N such steps cost N²; instead
    the first question scans once, and each later :meth:`sync` re-checks only the steps the
    decision wrote since (the Plan's write log) and their downstream steps, the only ones whose
    answer can have changed. The answers are those of a full scan:

    * a step is ready when it has no record in this run, is in scope (``in_scope``: a selective
      execution's steps, None meaning all), every upstream step reached the status its
      dependency asks for, its condition took its branch, and, while ``stopping``, it is reached
      through a Stopped upstream (a stop handler);
    * the records that count are the current run's own and successes reused from earlier runs.

    A step that can never run is simply never ready, so the execution ends once nothing runs and
    nothing is ready.
    """

    def __init__(
        self,
        topology: Topology,
        steps: Mapping[str, StepRecord],
        run: int,
        written: Sequence[str],
        *,
        in_scope: set[str] | None = None,
        catchable: Set[str] = frozenset(),
        stopping: bool = False,
    ) -> None:
        """``steps`` is the decision's live record map and ``written`` its write log (names in
        write order), both read again on every :meth:`sync`."""
        self.topology = topology
        self.stopping = stopping
        self._steps = steps
        self._run = run
        self._written = written
        self._cursor = len(written)
        self._in_scope = in_scope
        self._catchable = catchable
        self._counted: dict[str, StepRecord] = {}
        self.running = 0
        self._blocking = 0
        for name, record in steps.items():
            if self._counts(record):
                self._count(name, record, 1)
        self._ready = {name for name in topology.order if self._is_ready(name)}

    @property
    def blocked(self) -> bool:
        """Whether a step of this run failed for good and nothing waits for that failure."""
        return self._blocking > 0

    def ready(self) -> list[str]:
        """The ready steps in topological order."""
        return sorted(self._ready, key=self.topology.position.__getitem__)

    def current(self) -> list[StepRecord]:
        """The records that count for this run."""
        return list(self._counted.values())

    def sync(self) -> None:
        """Take in every record written since the last look."""
        if self._cursor == len(self._written):
            return
        changed = set(self._written[self._cursor :])
        self._cursor = len(self._written)
        downstream = self.topology.downstream
        candidates = set(changed)
        for name in changed:
            old = self._counted.pop(name, None)
            if old is not None:
                self._count(name, old, -1)
            record = self._steps.get(name)
            if record is not None and self._counts(record):
                self._count(name, record, 1)
            candidates.update(downstream.get(name, ()))
        position = self.topology.position
        for name in candidates:
            if name not in position:
                continue  # a ForEach iteration's step: engine/for_each.py schedules those
            if self._is_ready(name):
                self._ready.add(name)
            else:
                self._ready.discard(name)

    def _counts(self, record: StepRecord) -> bool:
        return record.run == self._run or record.status == "Succeeded"

    def _count(self, name: str, record: StepRecord, delta: int) -> None:
        if delta > 0:
            self._counted[name] = record
        # a ForEach's own record runs nothing: its iterations are the running steps
        if record.status in RUNNING_STEP_STATUSES and record.step_type != FOR_EACH:
            self.running += delta
        # a failure a run condition handles on a ForEach is handled on each of its iterations
        iteration = record.iteration
        if blocks(record, self._catchable) and (
            iteration is None or iteration.parent_step_name not in self._catchable
        ):
            self._blocking += delta

    def _is_ready(self, name: str) -> bool:
        if name in self._counted or (self._in_scope is not None and name not in self._in_scope):
            return False
        topology = self.topology
        triggers = topology.triggers.get(name, _NO_TRIGGERS)
        counted = self._counted
        through_stop = False
        for up in topology.upstream[name]:
            record = counted.get(up)
            if record is None or record.status not in TRIGGER_STATUSES[triggers.get(up, SUCCESS_TRIGGER)]:
                return False
            through_stop = through_stop or record.status == "Stopped"
        branch = topology.branch.get(name)
        if branch is not None and not branch_taken(counted[branch[0]], branch[1]):
            return False
        return through_stop or not self.stopping
