"""The committed SDK v3 samples parse with our models and round-trip without loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipelines.definition.models import PipelineDefinition

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
SAMPLES = sorted(SAMPLES_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def step_types(steps: list[dict[str, Any]]) -> set[str]:
    """Types of every step, including condition branches and ForEach bodies (raw JSON walk)."""
    found: set[str] = set()
    for step in steps:
        found.add(step["Type"])
        arguments = step.get("Arguments") or {}
        for nested in ("IfSteps", "ElseSteps", "ForEachBody"):
            found |= step_types(arguments.get(nested, []))
    return found


def test_samples_cover_the_v3_only_step_types() -> None:
    types = set().union(*(step_types(load(path)["Steps"]) for path in SAMPLES))
    assert {"ForEach", "Cleanup", "EMRServerless", "Job", "Endpoint", "EndpointConfig", "Lineage"} <= types


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_parses_and_round_trips(path: Path) -> None:
    definition = load(path)
    parsed = PipelineDefinition.model_validate(definition)
    assert parsed.to_json_dict() == definition
