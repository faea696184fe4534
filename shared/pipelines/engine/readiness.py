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
class Readiness:
    ready: list[str]  # no record yet, every upstream step succeeded (topological order)
    unreachable: set[str]  # will never run in this execution


def branch_taken(condition: StepRecord, branch: str) -> bool:
    outcome = (condition.properties or {}).get("Outcome")
    return (outcome == "True") == (branch == "if")


def compute_readiness(
    graph: PipelineGraph,
    order: list[str],
    steps: Mapping[str, StepRecord],
    in_scope: set[str] | None = None,
) -> Readiness:
    """``steps`` holds the current run's records only; ``in_scope`` (selective execution) lists
    the steps allowed to run or be reused, None meaning all."""
    ready: list[str] = []
    unreachable: set[str] = set()
    waiting: set[str] = set()
    for name in order:
        record = steps.get(name)
        if record is not None:
            if record.status in ("Failed", "Stopped"):
                unreachable.add(name)
            elif record.status != "Succeeded":
                waiting.add(name)
            continue
        if in_scope is not None and name not in in_scope:
            unreachable.add(name)
            continue
        blocked = False
        pending = False
        for up in graph.upstream(name):
            if up in unreachable:
                blocked = True
                break
            if up in waiting or up not in steps:
                pending = True
                continue
        if not blocked:
            branch = graph.branch_of(name)
            if branch is not None:
                condition = steps.get(branch[0])
                if (
                    condition is not None
                    and condition.status == "Succeeded"
                    and not branch_taken(condition, branch[1])
                ):
                    blocked = True
        if blocked:
            unreachable.add(name)
        elif pending:
            waiting.add(name)
        else:
            ready.append(name)
    return Readiness(ready=ready, unreachable=unreachable)
