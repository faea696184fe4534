"""``plan_definition`` and ``pipelines plan`` over the whole conformance corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.cli import app
from pipelines.definition import parse_definition
from pipelines.stepfunctions import CLOUD_STEP_TYPES, Route, UnsupportedInCloud, plan_definition
from typer.testing import CliRunner

from tests.conformance.corpus import CORPUS, CORPUS_FILES

RUNNER = CliRunner()


# from tests/stepfunctions/test_sfn_cli.py
def test_plan_routes_lineage_steps_to_the_engine() -> None:
    corpus_file = CORPUS / "aws__sagemaker-python-sdk__v3eval_llmaj_base_model_lineage_mlflow.json"
    result = RUNNER.invoke(app, ["plan", str(corpus_file), "--no-check", "--json"])
    assert result.exit_code == 0, result.stderr
    planned = {step["name"]: step for step in json.loads(result.stdout)}
    for name in ("CreateEvaluationAction", "AssociateLineage"):
        assert planned[name]["route"] == "Engine" and planned[name]["input"] is None
        assert "sagemaker:CreateAction" in planned[name]["integrations"]


# from tests/stepfunctions/test_sfn_plan.py
def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 39, f"corpus not found at {CORPUS}"


# from tests/stepfunctions/test_sfn_plan.py
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_plan_routes_every_corpus_step_or_names_it(path: Path) -> None:
    definition = parse_definition(path.read_bytes())
    steps = list(definition.all_steps())
    unsupported_names = {step.name for step in steps if step.type not in CLOUD_STEP_TYPES}
    if unsupported_names:
        with pytest.raises(UnsupportedInCloud) as caught:
            plan_definition(definition)
        assert {step.name for step in caught.value.steps} == unsupported_names
        for name in unsupported_names:
            assert name in str(caught.value)
        return
    planned = plan_definition(definition)
    assert [p.name for p in planned] == [step.name for step in steps]
    for planned_step, step in zip(planned, steps, strict=True):
        assert planned_step.type == step.type
        if planned_step.route is Route.ENGINE:
            assert planned_step.input_template is None and planned_step.states == ()
            continue
        template = planned_step.input_template
        assert template is not None
        assert template["route"] == planned_step.route.value
        assert planned_step.credentials == {"RoleArn": "${PipelineRoleArn}"}
        assert planned_step.states[0] == "Backoff" and planned_step.states[-2:] == ("Report", "Done")
        json.dumps(template)  # the template is plain JSON
