"""The DAG of every corpus definition, and the edges of a few telling ones."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.definition import check_definition
from pipelines.graph import PipelineGraph

from tests.conformance.corpus import CORPUS_FILES, load_corpus
from tests.graph.builders import assert_respects_edges


# from tests/graph/test_graph_edges.py
def test_corpus_lambda_step_reads_output_parameters_of_another_lambda() -> None:
    graph = PipelineGraph.from_definition(load_corpus("aws__sagemaker-python-sdk__test_lambda_step.json"))
    assert sorted(graph.edges()) == [
        ("MyLambdaStep1", "MyLambdaStep2", "data"),
        ("TestStep", "MyLambdaStep1", "depends_on"),
        ("TestStep", "MyLambdaStep2", "depends_on"),
    ]
    # TestStep is declared last but has to run first.
    assert graph.topological_order() == ["TestStep", "MyLambdaStep1", "MyLambdaStep2"]


# from tests/graph/test_graph_edges.py
def test_corpus_governance_checks_feed_register_model_inside_the_branch() -> None:
    graph = PipelineGraph.from_definition(
        load_corpus("aws__amazon-sagemaker-examples__governance_abalone_checks.json")
    )
    register = "RegisterAbaloneModel-RegisterModel"
    assert graph.branch_of(register) == ("CheckMSEAbaloneEvaluation", "if")
    assert graph.upstream(register) == {
        "CheckMSEAbaloneEvaluation",
        "DataQualityCheckStep",
        "DataBiasCheckStep",
        "TrainAbaloneModel",
        "ModelQualityCheckStep",
        "ModelBiasCheckStep",
        "ModelExplainabilityCheckStep",
    }
    assert ("DataBiasCheckStep", "TrainAbaloneModel", "depends_on") in graph.edges()


# from tests/graph/test_graph_edges.py
def test_corpus_thirty_nested_conditions_form_a_chain() -> None:
    graph = PipelineGraph.from_definition(load_corpus("apache__airflow__dummy_nested_conditions_30.json"))
    assert len(graph.steps) == 31
    order = graph.topological_order()
    assert order == [f"DummyCond{i}" for i in range(29, -1, -1)] + [order[-1]]
    assert graph.branch_of(order[-1]) == ("DummyCond0", "if")
    assert graph.downstream_closure(["DummyCond29"]) == set(order[1:])
    assert graph.upstream_closure([order[-1]]) == set(order[:-1])


# from tests/graph/test_graph_order.py
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem[:60])
def test_corpus_orders_respect_every_edge(path: Any) -> None:
    graph = PipelineGraph.from_definition(load_corpus(path.name))
    assert graph.find_cycle() is None
    assert_respects_edges(graph, graph.topological_order())


# from tests/graph/test_graph_order.py
def test_corpus_abalone_order_and_closures() -> None:
    graph = PipelineGraph.from_definition(load_corpus("aws__amazon-sagemaker-examples__local_mode.json"))
    assert graph.topological_order() == [
        "AbaloneProcess",
        "AbaloneTrain",
        "AbaloneEval",
        "AbaloneMSECond",
        "AbaloneCreateModel-RepackModel-0",
        "AbaloneCreateModel-CreateModel",
        "AbaloneTransform",
        "AbaloneMSEFail",
    ]
    # Skipping the if-branch skips everything downstream of its steps.
    if_steps = {"AbaloneCreateModel-RepackModel-0", "AbaloneCreateModel-CreateModel", "AbaloneTransform"}
    assert graph.downstream_closure(if_steps) == {"AbaloneCreateModel-CreateModel", "AbaloneTransform"}
    assert graph.upstream_closure(["AbaloneTransform"]) == {
        "AbaloneProcess",
        "AbaloneTrain",
        "AbaloneEval",
        "AbaloneMSECond",
        "AbaloneCreateModel-RepackModel-0",
        "AbaloneCreateModel-CreateModel",
    }


# from tests/graph/test_graph_from_validation.py
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem[:60])
def test_corpus_validator_graph_matches_the_graph_built_alone(path: Any) -> None:
    report = check_definition(path.read_text())
    assert report.graph is not None
    alone = PipelineGraph.from_definition(load_corpus(path.name))
    assert sorted(report.graph.edges()) == sorted(alone.edges())
    assert list(report.graph.steps) == list(alone.steps)
