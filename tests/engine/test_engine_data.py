"""Data between steps: property files, callback tokens and outputs, Lambda outputs."""

from __future__ import annotations

import json
import re

import pytest
from pipelines.engine import CallbackTokenNotFound, InvalidCallbackOutputs, RunStep, StartRequest
from pipelines.runners.base import StepPending, StepResult

from .fakes import definition, processing_step

EVALUATE = processing_step(
    "Evaluate",
    arguments={
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "evaluation",
                    "S3Output": {
                        "S3Uri": "s3://bucket/eval",
                        "LocalPath": "/opt/ml/processing/evaluation",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        }
    },
    PropertyFiles=[
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ],
)
CHECK = {
    "Name": "CheckMSE",
    "Type": "Condition",
    "Arguments": {
        "Conditions": [
            {
                "Type": "LessThanOrEqualTo",
                "LeftValue": {
                    "Std:JsonGet": {
                        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
                        "Path": "regression_metrics.mse.value",
                    }
                },
                "RightValue": 6.0,
            }
        ],
        "IfSteps": [processing_step("Register")],
        "ElseSteps": [{"Name": "TooHigh", "Type": "Fail", "Arguments": {"ErrorMessage": "mse too high"}}],
    },
}


@pytest.mark.parametrize(("mse", "next_step"), [(4.2, "Register"), (9.9, None)])
def test_property_files_are_read_after_success_and_drive_conditions(
    engine, pipeline, objects, mse, next_step
) -> None:
    objects.put(
        "s3://bucket/eval/evaluation.json",
        json.dumps({"regression_metrics": {"mse": {"value": mse}}}).encode(),
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(EVALUATE, CHECK))))
    (action,) = outcome.actions
    described = {"ProcessingOutputConfig": action.request.arguments["ProcessingOutputConfig"]}
    done = engine.step_succeeded(action.execution_id, "Evaluate", 1, StepResult(properties=described))
    assert done.steps["Evaluate"].property_files == {
        "EvaluationReport": {"regression_metrics": {"mse": {"value": mse}}}
    }
    runs = [a.step_name for a in done.actions if isinstance(a, RunStep)]
    if next_step:
        assert runs == [next_step]
    else:
        assert (
            runs == []
            and done.execution.failure_reason
            == "Step failure: One or multiple steps failed. Failed steps: TooHigh."
        )
        assert done.steps["TooHigh"].failure_reason == "mse too high"
    # the document lives with the step: later reads do not touch the object store again
    objects.delete("s3://bucket/eval/evaluation.json")
    assert engine.state(action.execution_id).steps["Evaluate"].property_files["EvaluationReport"]


def test_a_missing_property_file_fails_the_step(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(EVALUATE, CHECK))))
    (action,) = outcome.actions
    done = engine.step_succeeded(action.execution_id, "Evaluate", 1, StepResult(properties={}))
    assert done.steps["Evaluate"].status == "Failed"
    assert "EvaluationReport" in done.steps["Evaluate"].failure_reason
    assert done.execution.status == "Failed"


CALLBACK = {
    "Name": "Approve",
    "Type": "Callback",
    "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q",
    "Arguments": {"model": "m"},
    "OutputParameters": [
        {"OutputName": "score", "OutputType": "Float"},
        {"OutputName": "note", "OutputType": "String"},
    ],
}
USE_SCORE = {
    "Name": "Use",
    "Type": "Lambda",
    "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
    "Arguments": {
        "score": {"Get": "Steps.Approve.OutputParameters['score']"},
        "note": {"Get": "Steps.Approve.OutputParameters['note']"},
    },
}


def start_callback(engine, pipeline):
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(CALLBACK, USE_SCORE))))
    (action,) = outcome.actions
    token = action.request.step_fields["CallbackToken"]
    engine.step_started(action.execution_id, "Approve", 1)
    pending = engine.step_pending(
        action.execution_id, "Approve", 1, StepPending(metadata={"Callback": {"Sent": True}})
    )
    return action, token, pending


def test_callback_token_outputs_and_metadata(engine, pipeline) -> None:
    action, token, pending = start_callback(engine, pipeline)
    assert re.fullmatch(r"[a-zA-Z0-9]{10}", token)
    metadata = pending.steps["Approve"].metadata["Callback"]
    assert metadata["CallbackToken"] == token and metadata["Sent"] is True
    assert metadata["SqsQueueUrl"] == CALLBACK["SqsQueueUrl"]
    assert pending.steps["Approve"].status == "Executing"
    done = engine.callback_success(token, {"score": "0.93", "note": {"nested": [1]}, "extra": "x"})
    (use,) = done.actions
    # nested values become one JSON string, as the docs show ({"output1": "{\"nested_output1\":...}"})
    assert use.request.arguments == {"score": 0.93, "note": '{"nested":[1]}'}
    assert done.steps["Approve"].metadata["Callback"]["OutputParameters"] == [
        {"Name": "score", "Value": "0.93"},
        {"Name": "note", "Value": '{"nested":[1]}'},
    ]  # the declared outputs, in declaration order; undeclared ones are not referencable
    with pytest.raises(CallbackTokenNotFound):
        engine.callback_success(token, {})  # a used token is stale


def test_callback_failure_fails_the_step(engine, pipeline) -> None:
    _, token, _ = start_callback(engine, pipeline)
    done = engine.callback_failure(token, "rejected by reviewer")
    assert done.steps["Approve"].status == "Failed"
    assert done.steps["Approve"].failure_reason == "rejected by reviewer"
    assert done.execution.status == "Failed"


def test_unknown_token_and_request_limits(engine, pipeline) -> None:
    with pytest.raises(CallbackTokenNotFound):
        engine.callback_success("AAAAAAAAAA", {})
    _, token, _ = start_callback(engine, pipeline)
    with pytest.raises(InvalidCallbackOutputs, match="50"):
        engine.callback_success(token, {f"o{i}": "1" for i in range(51)})
    with pytest.raises(InvalidCallbackOutputs, match="note"):
        engine.callback_success(token, {"note": "x" * 1025})
    # refused requests leave the step waiting for a valid answer
    assert engine.callback_success(token, {"score": "1"}).steps["Approve"].status == "Succeeded"


def test_a_badly_typed_callback_output_fails_the_step_like_a_lambda_output(engine, pipeline) -> None:
    _, token, _ = start_callback(engine, pipeline)
    done = engine.callback_success(token, {"score": "high"})
    approve = done.steps["Approve"]
    assert approve.status == "Failed" and done.execution.status == "Failed"
    assert approve.failure_reason == (
        "output parameter 'score' is declared as Float but the value 'high' is not a valid Float"
    )


def test_callback_outputs_are_typed_by_the_shared_output_rules(engine, pipeline) -> None:
    _, token, _ = start_callback(engine, pipeline)
    done = engine.callback_success(token, {"score": "7"})  # "note" not sent: left out, not a failure
    assert done.steps["Approve"].status == "Succeeded"
    assert done.steps["Approve"].properties == {"OutputParameters": [{"Name": "score", "Value": 7.0}]}
    use = done.steps["Use"]  # the output not sent fails the step that refers to it
    assert use.status == "Failed" and "note" in (use.failure_reason or "")


def test_a_token_of_a_stopped_step_is_refused(engine, pipeline, store) -> None:
    action, token, _ = start_callback(engine, pipeline)
    engine.stop(action.execution_id)
    stopped = engine.callback_failure(token, "cleaned up")  # the answer to the "Stopping" message
    assert stopped.steps["Approve"].status == "Stopped"
    assert stopped.execution.status == "Stopped"
    assert store.get_callback(token) is None
    with pytest.raises(CallbackTokenNotFound):
        engine.callback_success(token, {})
