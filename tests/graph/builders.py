"""Builders for graph tests: small synthetic definitions."""

from __future__ import annotations

from typing import Any

from pipelines.definition.models import PipelineDefinition
from pipelines.graph import PipelineGraph


def step(
    name: str, *, depends_on: list[str] | None = None, reads: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A Processing step that DependsOn ``depends_on`` and reads an output of each of ``reads``."""
    inputs = [
        {
            "InputName": f"in{i}",
            "S3Input": {
                "S3Uri": {"Get": f"Steps.{src}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}
            },
        }
        for i, src in enumerate(reads or [])
    ]
    body: dict[str, Any] = {"Name": name, "Type": "Processing", "Arguments": {"ProcessingInputs": inputs}}
    if depends_on:
        body["DependsOn"] = depends_on
    body.update(extra)
    return body


def condition(
    name: str, if_steps: list[dict[str, Any]], else_steps: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
            "IfSteps": if_steps,
            "ElseSteps": else_steps or [],
        },
    }
    body.update(extra)
    return body


def definition(*steps: dict[str, Any]) -> PipelineDefinition:
    return PipelineDefinition.model_validate({"Version": "2020-12-01", "Steps": list(steps)})


def assert_respects_edges(graph: PipelineGraph, order: list[str]) -> None:
    """``order`` lists every step once and puts each edge's source before its target."""
    assert sorted(order) == sorted(graph.steps)
    position = {name: i for i, name in enumerate(order)}
    for src, dst, kind in graph.edges():
        assert position[src] < position[dst], (src, dst, kind)
