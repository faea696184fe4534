"""Edges: DependsOn, data references anywhere in a step, and condition branches."""

from __future__ import annotations

import pytest
from pipelines.graph import PipelineGraph, UnknownStepError

from .builders import condition, definition, step


def test_depends_on_data_and_branch_edges_are_kinded() -> None:
    graph = PipelineGraph.from_definition(
        definition(
            step("A"),
            step("B", depends_on=["A"]),
            step("C", reads=["A", "B"]),
            condition("Cond", [step("Yes", reads=["C"])], [step("No")], DependsOn=["C"]),
        )
    )
    assert sorted(graph.edges()) == sorted(
        [
            ("A", "B", "depends_on"),
            ("A", "C", "data"),
            ("B", "C", "data"),
            ("C", "Cond", "depends_on"),
            ("Cond", "Yes", "if"),
            ("C", "Yes", "data"),
            ("Cond", "No", "else"),
        ]
    )
    assert graph.upstream("Yes") == {"Cond", "C"}
    assert graph.downstream("A") == {"B", "C"}
    assert list(graph.steps) == ["A", "B", "C", "Cond", "Yes", "No"]


def test_same_pair_through_two_sources_keeps_both_kinds_but_one_neighbour() -> None:
    graph = PipelineGraph.from_definition(
        definition(step("A"), step("B", depends_on=["A"], reads=["A", "A"]))
    )
    assert sorted(graph.edges()) == [("A", "B", "data"), ("A", "B", "depends_on")]
    assert graph.upstream("B") == {"A"}


@pytest.mark.parametrize(
    "extra",
    [
        {"Type": "Lambda", "FunctionArn": {"Get": "Steps.Src.OutputParameters['arn']"}},
        {
            "Type": "Callback",
            "SqsQueueUrl": {"Std:Join": {"On": "", "Values": [{"Get": "Steps.Src.Outcome"}]}},
        },
        {"Type": "QualityCheck", "CheckType": "DATA_QUALITY", "SkipCheck": {"Get": "Steps.Src.Outcome"}},
        {
            "Type": "ClarifyCheck",
            "CheckType": "DATA_BIAS",
            "ModelPackageGroupName": {"Get": "Steps.Src.ModelName"},
        },
        {"Type": "Fail", "Arguments": {"ErrorMessage": {"Get": "Steps.Src.FailureReason"}}},
        {"Type": "SomeFutureType", "Whatever": [{"Deep": {"Get": "Steps.Src.X"}}]},
    ],
)
def test_references_outside_arguments_make_data_edges(extra: dict[str, object]) -> None:
    dst = {"Name": "Dst", "Arguments": {}, **extra}
    graph = PipelineGraph.from_definition(definition(step("Src"), dst))
    assert graph.edges() == [("Src", "Dst", "data")]


def test_condition_operands_reference_upstream_but_branch_contents_belong_to_branch_steps() -> None:
    cond = condition("Cond", [step("Yes", reads=["Pre"])])
    cond["Arguments"]["Conditions"] = [
        {
            "Type": "LessThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {"PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"}, "Path": "mse"}
            },
            "RightValue": 6.0,
        }
    ]
    graph = PipelineGraph.from_definition(definition(step("Pre"), step("Eval"), cond))
    assert graph.upstream("Cond") == {"Eval"}
    assert graph.upstream("Yes") == {"Cond", "Pre"}


def test_unknown_and_self_references_are_ignored() -> None:
    graph = PipelineGraph.from_definition(
        definition(step("A", depends_on=["Ghost", "A"], reads=["A", "Phantom"]), step("B", reads=["A"]))
    )
    assert graph.edges() == [("A", "B", "data")]


def test_malformed_get_targets_and_non_step_namespaces_make_no_edges() -> None:
    dst = step("B")
    dst["Arguments"]["X"] = [
        {"Get": "Parameters.A"},
        {"Get": "Execution.PipelineExecutionId"},
        {"Get": "StepsA.Foo"},
        {"Get": "Steps."},
        {"Get": "Steps.A"},  # a bare step reference still names the step
        {"Get": "Steps.A.X", "Other": 1},  # two members: data, not an expression
    ]
    graph = PipelineGraph.from_definition(definition(step("A"), dst))
    assert graph.edges() == [("A", "B", "data")]


def test_branch_of_names_the_condition_and_branch() -> None:
    graph = PipelineGraph.from_definition(
        definition(step("A"), condition("Outer", [condition("Inner", [step("Deep")])], [step("Other")]))
    )
    assert graph.branch_of("Deep") == ("Inner", "if")
    assert graph.branch_of("Inner") == ("Outer", "if")
    assert graph.branch_of("Other") == ("Outer", "else")
    assert graph.branch_of("A") is None
    assert graph.branch_of("Outer") is None


def test_queries_on_unknown_steps_raise_a_typed_error() -> None:
    graph = PipelineGraph.from_definition(definition(step("A")))
    for query in (graph.upstream, graph.downstream, graph.branch_of):
        with pytest.raises(UnknownStepError, match="'Nope'"):
            query("Nope")
    with pytest.raises(UnknownStepError):
        graph.downstream_closure(["A", "Nope"])
