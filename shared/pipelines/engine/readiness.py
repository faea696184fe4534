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


@dataclass(frozen=True)
class Readiness:
    ready: list[str]  # no record yet, every upstream step succeeded (topological order)
    unreachable: set[str]  # will never run in this execution


def branch_taken(condition: StepRecord, branch: str) -> bool:
    outcome = (condition.properties or {}).get("Outcome")
    return (outcome == "True") == (branch == "if")


def compute_readiness(
    topology: Topology,
    steps: Mapping[str, StepRecord],
    in_scope: set[str] | None = None,
) -> Readiness:
    """``steps`` holds the current run's records only; ``in_scope`` (selective execution) lists
    the steps allowed to run or be reused, None meaning all."""
    ready: list[str] = []
    unreachable: set[str] = set()
    settled: set[str] = set()  # succeeded
    upstream_of = topology.upstream
    branch_of = topology.branch
    for name in topology.order:
        record = steps.get(name)
        if record is not None:
            status = record.status
            if status == "Succeeded":
                settled.add(name)
            elif status == "Failed" or status == "Stopped":
                unreachable.add(name)
            continue
        if in_scope is not None and name not in in_scope:
            unreachable.add(name)
            continue
        blocked = False
        pending = False
        for up in upstream_of[name]:
            if up in unreachable:
                blocked = True
                break
            if up not in settled:
                pending = True
        if not blocked and name in branch_of:
            condition_name, branch = branch_of[name]
            condition = steps.get(condition_name)
            if condition is not None and condition.status == "Succeeded" and not branch_taken(condition, branch):
                blocked = True
        if blocked:
            unreachable.add(name)
        elif not pending:
            ready.append(name)
    return Readiness(ready=ready, unreachable=unreachable)
