"""Which step sets can be selected together (selective execution's connectivity rule)."""

from __future__ import annotations

import pytest
from pipelines.graph import PipelineGraph

from tests.conformance.corpus import load_corpus
from tests.graph.builders import definition, step

SELECTIVE = "aws__amazon-sagemaker-examples__selective_execution.json"


@pytest.fixture(scope="module")
def abalone() -> PipelineGraph:
    return PipelineGraph.from_definition(load_corpus(SELECTIVE))


@pytest.mark.parametrize(
    "names",
    [
        ["Abalone-Train"],
        ["Abalone-Train", "Abalone-Evaluate"],
        ["Abalone-Preprocess", "Abalone-Train"],
        ["Abalone-Evaluate", "Abalone-MSECheck", "Abalone-FailNotify"],
        ["Abalone-Preprocess", "Abalone-Train", "Abalone-Evaluate", "Abalone-MSECheck"],
    ],
)
def test_connected_selections_are_accepted(abalone: PipelineGraph, names: list[str]) -> None:
    assert abalone.selection_problems(names) == []
    assert abalone.is_connected(names)


def test_the_docs_example_train_plus_condition_is_rejected(abalone: PipelineGraph) -> None:
    # The docs: "you cannot select just AbaloneTrain and AbaloneMSECond ... not connected".
    problems = abalone.selection_problems(["Abalone-Train", "Abalone-MSECheck"])
    assert "Step 'Abalone-Evaluate' lies on a path between selected steps but is not selected" in problems
    assert any("not connected" in p for p in problems)
    assert not abalone.is_connected(["Abalone-Train", "Abalone-MSECheck"])


def test_path_closure_is_required_even_when_the_selection_is_connected() -> None:
    # A -> B -> C and A -> C: {A, C} is connected through A -> C, but B is on a path between them.
    graph = PipelineGraph.from_definition(
        definition(step("A"), step("B", reads=["A"]), step("C", reads=["A", "B"]))
    )
    assert graph.selection_problems(["A", "C"]) == [
        "Step 'B' lies on a path between selected steps but is not selected"
    ]


def test_disjoint_selections_are_not_connected() -> None:
    graph = PipelineGraph.from_definition(definition(step("A"), step("B"), step("C", reads=["A"])))
    assert graph.selection_problems(["C", "B", "A"]) == [
        "The selected steps are not connected in the pipeline DAG: A, C; B"
    ]


def test_unknown_and_empty_selections_are_reported() -> None:
    graph = PipelineGraph.from_definition(definition(step("A")))
    assert graph.selection_problems(["A", "Nope"]) == ["Step 'Nope' is not in the pipeline definition"]
    assert graph.selection_problems([]) == ["No steps were selected"]
    assert not graph.is_connected([])
