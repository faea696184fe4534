"""The DAG the validator builds from its own walk equals the DAG built from the definition alone.

The validator hands the step names its expression walk found to the graph, so that a large
definition is walked once; these cases are the ones where the two walks could differ
(malformed expressions, typed sub-models with unknown fields, ForEach, references outside
Arguments), and each must give exactly the edges the graph finds by itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipelines.definition import check_definition
from pipelines.definition.models import PipelineDefinition
from pipelines.graph import PipelineGraph

from .builders import condition, step

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"


def _document(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Parameters": [{"Name": "P", "Type": "String"}], "Steps": list(steps)}


def _reads(name: str) -> dict[str, str]:
    return {"Get": f"Steps.{name}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}


def _assert_same_graph(document: dict[str, Any]) -> PipelineGraph:
    report = check_definition(json.dumps(document))
    assert report.graph is not None
    alone = PipelineGraph.from_definition(PipelineDefinition.model_validate(document))
    assert sorted(report.graph.edges()) == sorted(alone.edges())
    assert list(report.graph.steps) == list(alone.steps)
    return report.graph


def _with(name: str, **fields: Any) -> dict[str, Any]:
    body = step(name)
    body.update(fields)
    return body


CASES: dict[str, dict[str, Any]] = {
    "plain reads and depends-on": _document(
        step("A"), step("B", reads=["A"]), step("C", reads=["A", "B"], depends_on=["A"])
    ),
    "reads inside Join and JsonGet": _document(
        step("A", PropertyFiles=[{"PropertyFileName": "R", "OutputName": "out", "FilePath": "r.json"}]),
        condition(
            "Cond",
            [step("Yes", reads=["A"])],
            Arguments={
                "Conditions": [
                    {
                        "Type": "Equals",
                        "LeftValue": {
                            "Std:JsonGet": {"PropertyFile": {"Get": "Steps.A.PropertyFiles.R"}, "Path": "x"}
                        },
                        "RightValue": {"Std:Join": {"On": ",", "Values": [_reads("A")]}},
                    }
                ],
                "IfSteps": [step("Yes2")],
                "ElseSteps": [],
            },
        ),
    ),
    "Get nested in a malformed Get": _document(
        step("A"), _with("B", Arguments={"X": {"Get": {"Get": "Steps.A.ProcessingJobName"}}})
    ),
    "Get inside a function given a list": _document(
        step("A"), _with("B", Arguments={"X": {"Std:Join": [_reads("A")]}})
    ),
    "Get inside a JsonGet without Path": _document(
        step("A"), _with("B", Arguments={"X": {"Std:JsonGet": _reads("A")}})
    ),
    "Get in unknown fields of CacheConfig and RetryPolicies": _document(
        step("A"),
        step("B"),
        _with(
            "C",
            CacheConfig={"Enabled": False, "Note": _reads("A")},
            RetryPolicies=[{"ExceptionType": ["Step.THROTTLING"], "Note": _reads("B")}],
        ),
    ),
    "self and unknown references": _document(step("A", reads=["A", "Ghost"]), step("B", reads=["A"])),
    "duplicate names": _document(step("A"), step("B", reads=["A"]), step("B", reads=["B"])),
    "unknown step type": _document(step("A"), {"Name": "B", "Type": "Future", "Deep": [{"X": _reads("A")}]}),
}


@pytest.mark.parametrize("document", CASES.values(), ids=list(CASES))
def test_validator_graph_matches_the_graph_built_alone(document: dict[str, Any]) -> None:
    _assert_same_graph(document)


def test_references_in_typed_sub_model_extras_still_make_edges() -> None:
    graph = _assert_same_graph(CASES["Get in unknown fields of CacheConfig and RetryPolicies"])
    assert graph.upstream("C") == {"A", "B"}


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_sdk_v3_definitions_give_the_same_graph(path: Path) -> None:
    _assert_same_graph(json.loads(path.read_text()))
