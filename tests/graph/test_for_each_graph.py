"""The DAG of ForEach steps: the body hangs off the ForEach (``for_each`` edges), and what a body
step reads outside the body is upstream of the ForEach itself, so a cycle through a body is one."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.definition import check_definition
from pipelines.definition.diagram import to_dot, to_mermaid

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"


def test_for_each_body_edges_and_the_scheduling_order() -> None:
    report = check_definition((FIXTURES / "for_each.json").read_text())
    assert report.graph is not None and not report.errors
    edges = set(report.graph.edges())
    assert ("PerRegion", "ProcessRegion", "for_each") in edges
    assert ("PerRegion", "ScoreRegion", "for_each") in edges
    assert ("ProcessRegion", "ScoreRegion", "data") in edges  # within one iteration
    assert ("PerRegion", "ReportBest", "data") in edges
    assert report.graph.for_each_of("ScoreRegion") == "PerRegion"
    assert report.graph.for_each_of("ReportBest") is None
    order = report.graph.topological_order()
    assert order.index("PerRegion") < order.index("ProcessRegion") < order.index("ScoreRegion")
    assert "-- for each -->" in to_mermaid(report.graph)
    assert '[label="for each", color="navy"]' in to_dot(report.graph)


def test_what_the_body_reads_outside_is_upstream_of_the_for_each() -> None:
    definition = json.loads((FIXTURES / "for_each.json").read_text())
    prepare = json.loads(json.dumps(definition["Steps"][2]["Arguments"]["ForEachBody"][0]))
    prepare["Name"] = "Prepare"
    prepare["Arguments"]["AppSpecification"]["ContainerArguments"] = ["--prepare"]
    definition["Steps"].insert(0, prepare)
    body = definition["Steps"][1]["Arguments"]["ForEachBody"][1]
    body["Arguments"]["extra"] = {"Get": "Steps.Prepare.ProcessingJobName"}
    report = check_definition(json.dumps(definition))
    assert report.graph is not None and not report.errors
    assert ("Prepare", "PerRegion", "data") in set(report.graph.edges())
    # the same read of a step downstream of the ForEach is a cycle through the body
    body["Arguments"]["extra"] = {"Get": "Steps.ReportBest.OutputParameters['x']"}
    cyclic = check_definition(json.dumps(definition))
    assert any(p.kind == "cycle" for p in cyclic.errors), cyclic.errors


def test_iterable_items_reading_a_step_is_an_edge() -> None:
    definition = json.loads((FIXTURES / "for_each.json").read_text())
    lister = dict(definition["Steps"][1], Name="ListRegions", Arguments={})
    definition["Steps"].insert(0, lister)
    definition["Steps"][1]["Arguments"]["IterableItems"] = {
        "Get": "Steps.ListRegions.OutputParameters['regions']"
    }
    report = check_definition(json.dumps(definition))
    assert report.graph is not None
    assert ("ListRegions", "PerRegion", "data") in set(report.graph.edges())


def test_a_step_outside_the_body_cannot_read_a_body_step_by_name() -> None:
    definition = json.loads((FIXTURES / "for_each.json").read_text())
    definition["Steps"][1]["Arguments"]["direct"] = {"Get": "Steps.ScoreRegion.OutputParameters['score']"}
    report = check_definition(json.dumps(definition))
    messages = [p.message for p in report.errors]
    assert any(
        "step 'ReportBest' reads ForEach body step 'ScoreRegion', which runs only as iterations of 'PerRegion'"
        in m
        for m in messages
    ), messages
