"""Which steps can start now, and which can never run in this execution.

A step can run when every upstream step succeeded. It can never run when an upstream step
failed, stopped or can never run itself, when it sits in the branch its condition did not take,
or when a selective execution leaves it out. Those steps get no record at all: the service has
no Skipped status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipelines.graph import PipelineGraph
from pipelines.store.base import StepRecord


@dataclass(frozen=True)
class Topology:
    """The graph facts readiness needs, flattened once per definition for speed."""

    order: tuple[str, ...]  # topological
    upstream: Mapping[str, tuple[str, ...]]
    branch: Mapping[str, tuple[str, str]]  # step -> (condition, "if" | "else")

    @classmethod
    def of(cls, graph: PipelineGraph) -> Topology:
        order = tuple(graph.topological_order())
        upstream = {name: tuple(sorted(graph.upstream(name))) for name in order}
        branch = {name: b for name in order if (b := graph.branch_of(name)) is not None}
        return cls(order, upstream, branch)


def branch_taken(condition: StepRecord, branch: str) -> bool:
    outcome = (condition.properties or {}).get("Outcome")
    return (outcome == "True") == (branch == "if")


def ready_steps(
    topology: Topology,
    steps: Mapping[str, StepRecord],
    in_scope: set[str] | None = None,
) -> list[str]:
    """Steps without a record whose upstream steps all succeeded, in topological order.

    ``steps`` holds the current run's records; ``in_scope`` (selective execution) lists the
    steps allowed to run, None meaning all. A step that can never run (an upstream step failed,
    stopped, or never runs itself; its branch was not taken; it is out of scope) is simply never
    ready, so the execution ends once nothing runs and nothing is ready.
    """
    ready: list[str] = []
    upstream_of = topology.upstream
    branch_of = topology.branch
    for name in topology.order:
        if name in steps or (in_scope is not None and name not in in_scope):
            continue
        for up in upstream_of[name]:
            record = steps.get(up)
            if record is None or record.status != "Succeeded":
                break
        else:
            branch = branch_of.get(name)
            if branch is not None and not branch_taken(steps[branch[0]], branch[1]):
                continue
            ready.append(name)
    return ready
