"""Expressions over the conformance corpus: parameter defaults, joins and a real condition step."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pipelines.definition.models import ConditionStep, PipelineDefinition
from pipelines.expressions import (
    EvaluationContext,
    coerce_parameters,
    evaluate,
    evaluate_condition,
    evaluate_conditions,
)
from pipelines.expressions.references import iter_gets

from tests.conformance.corpus import CORPUS
from tests.expressions.builders import make_context


# from tests/expressions/test_expr_conditions.py
def test_corpus_condition_step_of_the_sdk_tests_evaluates() -> None:
    with (CORPUS / "aws__sagemaker-python-sdk__test_condition_step.json").open() as handle:
        defn = PipelineDefinition.model_validate(json.load(handle))
    cond = next(s for s in defn.all_steps() if isinstance(s, ConditionStep))
    ctx = EvaluationContext(
        parameters={"MyInt1": 3, "MyInt2": 3, "MyStr": "abc"},
        execution={"StartDateTime": datetime(2024, 1, 1, tzinfo=UTC)},
        step_properties={"MyStep0": {"TrainingJobName": "job-0"}}.get,
    )
    # Timestamps render as ISO-8601 strings, so they order against date strings.
    outcomes = [evaluate_condition(c, ctx) for c in cond.arguments.conditions]
    assert outcomes == [True, True, False, False, True, True, True, False, False, True]
    assert evaluate_conditions(cond.arguments.conditions, ctx) is False


# from tests/expressions/test_expr_evaluate.py
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.json")), ids=lambda p: p.stem[:60])
def test_corpus_joins_without_step_references_resolve_to_strings(path: Path) -> None:
    """Every Std:Join that reads only parameters and execution variables resolves, with each
    parameter given as a start string (or its default)."""
    with path.open() as handle:
        raw = json.load(handle)
    defn = PipelineDefinition.model_validate(raw)
    given_values = {
        p.name: {"Integer": "2", "Float": "0.5", "Boolean": "true"}.get(p.type, "x")
        for p in defn.parameters
        if not p.has_default
    }
    ctx = make_context(
        parameters=coerce_parameters(defn.parameters, given_values),
        execution={
            "PipelineName": "p",
            "PipelineExecutionId": "e1",
            "PipelineExecutionArn": "arn:e1",
            "StartDateTime": datetime(2024, 1, 1, tzinfo=UTC),
        },
    )
    joins: list[Any] = []
    stack: list[Any] = [raw["Steps"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if len(node) == 1 and "Std:Join" in node:
                joins.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for expression in joins:
        if any(ref.parsed is not None and ref.parsed.namespace == "Steps" for ref in iter_gets(expression)):
            continue
        assert isinstance(evaluate(expression, ctx), str)


# from tests/expressions/test_expr_parameters.py
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.json")), ids=lambda p: p.stem[:60])
def test_corpus_defaults_coerce_and_round_trip_through_strings(path: Path) -> None:
    """Every corpus parameter's default coerces; sending it back as the SDK does (``str(v)``)
    gives the same typed value."""
    with path.open() as handle:
        defn = PipelineDefinition.model_validate(json.load(handle))
    with_defaults = [p for p in defn.parameters if p.has_default]
    defaults = coerce_parameters(with_defaults, {})
    sent = {name: str(value) for name, value in defaults.items() if value != ""}
    assert coerce_parameters(with_defaults, sent) == defaults
