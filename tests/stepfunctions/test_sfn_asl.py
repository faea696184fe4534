"""The two state machines: valid ASL (npm asl-validator), and wired the way the design says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pipelines.stepfunctions import (
    DEFINITION_SUBSTITUTIONS,
    ENGINE_ACTIONS,
    ROUTES,
    Route,
    SubstitutionMissing,
    pipeline_execution_definition,
    render_definition,
    step_runner_definition,
)
from pipelines.stepfunctions.routes import LAMBDA_INVOKE, SQS_SEND_WAIT

REPO = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = REPO / "node_modules" / ".bin" / "asl-validator"
MACHINES = {"StepRunner": step_runner_definition, "PipelineExecution": pipeline_execution_definition}


def _validate(definition: dict[str, Any], tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    assert ASL_VALIDATOR.exists(), "asl-validator is missing: run `make install` (npm ci)"
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(definition))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_machine_passes_asl_validator(name: str, tmp_path: Path) -> None:
    result = _validate(MACHINES[name](), tmp_path, name)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("state", "field", "value"),
    [
        ("Training", "Arguments", "{% $states.input.request"),  # unterminated JSONata
        ("Processing", "Parameters", {"a": 1}),  # a JSONPath field in a JSONata state
    ],
)
def test_asl_validator_rejects_a_broken_jsonata_task(
    state: str, field: str, value: Any, tmp_path: Path
) -> None:
    """Guards the check above: the installed validator really inspects JSONata states."""
    definition = step_runner_definition()
    definition["States"][state][field] = value
    result = _validate(definition, tmp_path, "broken")
    assert result.returncode != 0
    assert f"/States/{state}" in result.stdout + result.stderr


def _tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}


def _is_engine_call(state: dict[str, Any]) -> bool:
    """A message to the engine: SQS to its FIFO queue, grouped by pipeline execution."""
    arguments = state.get("Arguments")
    return isinstance(arguments, dict) and arguments.get("QueueUrl") == "${ReportQueueUrl}"


def test_both_machines_are_jsonata_documents() -> None:
    for build in MACHINES.values():
        assert build()["QueryLanguage"] == "JSONata"


def test_route_choice_has_one_branch_per_task_route_to_its_entry_state() -> None:
    definition = step_runner_definition()
    choices = definition["States"]["Route"]["Choices"]
    targets = {re.findall(r"= '([^']+)'", choice["Condition"])[0]: choice["Next"] for choice in choices}
    expected = {spec.route.value: spec.entry_state for spec in ROUTES.values() if spec.states}
    assert targets == expected
    assert Route.ENGINE.value not in targets
    assert definition["States"]["Route"]["Default"] == "UnknownRoute"


def test_every_route_state_exists_and_every_state_is_reachable() -> None:
    definition = step_runner_definition()
    states = definition["States"]
    for spec in ROUTES.values():
        assert set(spec.states) <= set(states), spec.route
    reachable, frontier = set(), [definition["StartAt"]]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        reachable.add(name)
        state = states[name]
        nexts = [state.get("Next"), state.get("Default")]
        nexts += [choice["Next"] for choice in state.get("Choices", [])]
        nexts += [catcher["Next"] for catcher in state.get("Catch", [])]
        frontier.extend(n for n in nexts if n)
    assert reachable == set(states)


def test_typed_tasks_run_as_the_pipeline_role_and_report_their_failure() -> None:
    tasks = _tasks(step_runner_definition())
    typed = {name: state for name, state in tasks.items() if not _is_engine_call(state)}
    assert set(typed) >= {"Processing", "Training", "Tuning", "Transform", "Model", "RegisterModel", "Lambda"}
    for name, state in typed.items():
        assert state["Credentials"] == {"RoleArn": "{% $roleArn %}"}, name
        catch_all = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
        assert catch_all, name
        # straight to Report, or through the clean-up of a cluster or application it created
        cleanup = ("EmrTerminateAfterFailure", "EmrServerlessCreated", "EmrServerlessDone")
        assert catch_all[0]["Next"] in ("Report", *cleanup), name
    backoff = step_runner_definition()["States"]["Backoff"]
    assert backoff["Assign"]["roleArn"] == "{% $states.input.roleArn %}"


def test_single_task_routes_take_the_whole_request() -> None:
    states = step_runner_definition()["States"]
    for route in (
        Route.PROCESSING,
        Route.TRAINING,
        Route.TUNING,
        Route.TRANSFORM,
        Route.MODEL,
        Route.REGISTER_MODEL,
    ):
        spec = ROUTES[route]
        (state,) = spec.states
        assert states[state]["Resource"] == spec.integrations[0]
        assert states[state]["Arguments"] == "{% $states.input.request %}"


def test_lambda_route_bounds_the_invocation_by_the_input_timeout() -> None:
    state = step_runner_definition()["States"]["Lambda"]
    assert state["Resource"] == LAMBDA_INVOKE
    assert state["TimeoutSeconds"] == "{% $states.input.timeoutSeconds %}"
    assert state["Output"] == {"result": "{% $states.result.Payload %}"}


def test_callback_hands_the_task_token_to_the_engine_through_its_queue() -> None:
    state = step_runner_definition()["States"]["Callback"]
    assert state["Resource"] == SQS_SEND_WAIT
    assert _is_engine_call(state)
    payload = state["Arguments"]["MessageBody"]
    assert payload["action"] == "RegisterCallback"
    assert payload["taskToken"] == "{% $states.context.Task.Token %}"
    assert payload["callback"] == "{% $states.input.request %}"
    assert state["Arguments"]["MessageGroupId"] == "{% $report.executionId %}"
    assert state["Retry"][0]["ErrorEquals"] == ["States.ALL"]  # the registration is retried
    assert "Credentials" not in state  # the engine's own queue, with the machine's role


def test_report_is_the_only_way_to_done_and_it_retries_delivery() -> None:
    states = step_runner_definition()["States"]
    into_done = [name for name, state in states.items() if state.get("Next") == "Done"]
    assert into_done == ["Report"]
    report = states["Report"]
    assert _is_engine_call(report)
    assert report["Arguments"]["MessageBody"]["action"] == "StepRunnerReport"
    assert report["Arguments"]["MessageGroupId"] == "{% $report.executionId %}"
    assert report["Arguments"]["MessageDeduplicationId"] == "{% $states.context.Execution.Name %}"
    assert report["Retry"][0]["ErrorEquals"] == ["States.ALL"]


def test_pipeline_execution_keeps_its_token_on_the_run_item_then_ends_with_the_status() -> None:
    states = pipeline_execution_definition()["States"]
    await_finish = states["AwaitFinish"]
    assert pipeline_execution_definition()["StartAt"] == "AwaitFinish"
    assert await_finish["Resource"] == "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken"
    arguments = await_finish["Arguments"]
    assert arguments["ConditionExpression"] == "attribute_not_exists(#status)"
    assert arguments["ExpressionAttributeValues"][":token"] == {"S": "{% $states.context.Task.Token %}"}
    (catch,) = await_finish["Catch"]
    assert catch["ErrorEquals"] == ["DynamoDb.ConditionalCheckFailedException"]
    assert catch["Next"] == "ReadFinish" and catch["Assign"]["key"] == arguments["Key"]
    assert states["ReadFinish"]["Next"] == "Finished"
    assert states["Finished"]["Choices"][0]["Next"] == "Succeeded"
    assert states["Finished"]["Default"] == "Failed"
    assert "status" in states["Failed"]["Error"] and "failureReason" in states["Failed"]["Cause"]


def test_engine_actions_document_every_action_the_machines_send() -> None:
    sent = set()
    for build in MACHINES.values():
        for state in _tasks(build()).values():
            if _is_engine_call(state):
                sent.add(state["Arguments"]["MessageBody"]["action"])
    assert sent == set(ENGINE_ACTIONS)


def test_placeholders_are_exactly_the_documented_substitutions() -> None:
    for build in MACHINES.values():
        text = json.dumps(build())
        assert set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)) <= set(DEFINITION_SUBSTITUTIONS)
    used = {
        key
        for build in MACHINES.values()
        for key in re.findall(r"\$\{([A-Za-z0-9_]+)\}", json.dumps(build()))
    }
    assert used == set(DEFINITION_SUBSTITUTIONS)


def test_render_definition_fills_placeholders_and_refuses_missing_ones() -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/engine.fifo"
    rendered = json.loads(
        render_definition(step_runner_definition(), {"ReportQueueUrl": url, "StateTable": "state"})
    )
    assert rendered["States"]["Report"]["Arguments"]["QueueUrl"] == url
    assert "${" not in json.dumps(rendered)
    with pytest.raises(SubstitutionMissing, match="StateTable"):
        render_definition(pipeline_execution_definition(), {})
