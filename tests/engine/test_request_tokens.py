"""ClientRequestToken of StopPipelineExecution, RetryPipelineExecution and the two callback
operations: recorded in the decision's transaction, so a repeat answers as the first call did
and changes nothing, while a new token gets the real refusal (both stores)."""

from __future__ import annotations

import pytest
from pipelines.engine import CallbackTokenNotFound, ExecutionStateConflict, StartRequest
from pipelines.errors import ConflictError
from pipelines.runners.base import StepFailed, StepPending

from .fakes import definition, processing_step
from .test_engine_lifecycle import CALLBACK

FIRST = "first-token-" + "0" * 28
SECOND = "second-token-" + "0" * 27


def failed_execution(engine, pipeline) -> str:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    assert engine.step_failed(execution_id, "A", 1, StepFailed("bad input")).execution.status == "Failed"
    return execution_id


def test_a_repeated_retry_is_answered_as_the_first_and_changes_nothing(engine, pipeline) -> None:
    execution_id = failed_execution(engine, pipeline)
    first = engine.retry(execution_id, parallelism=2, client_request_token=FIRST)
    assert first.accepted and first.execution.status == "Executing" and first.execution.run == 2
    assert [a.step_name for a in first.actions] == ["A"]

    again = engine.retry(execution_id, parallelism=2, client_request_token=FIRST)

    assert not again.accepted and again.actions == []
    assert again.execution.execution_arn == first.execution.execution_arn
    assert again.execution.version == first.execution.version and again.execution.run == 2
    with pytest.raises(ExecutionStateConflict, match="only a Failed execution can be retried"):
        engine.retry(execution_id, parallelism=2, client_request_token=SECOND)
    with pytest.raises(ConflictError, match="already used for a different RetryPipelineExecution"):
        engine.retry(execution_id, parallelism=3, client_request_token=FIRST)
    assert engine.state(execution_id).execution.version == first.execution.version


def test_a_refused_retry_records_no_token(engine, pipeline) -> None:
    """A refusal changes nothing, so the token stays free: once the execution is Failed, the
    same request is decided afresh."""
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    with pytest.raises(ExecutionStateConflict):
        engine.retry(execution_id, client_request_token=FIRST)
    engine.step_failed(execution_id, "A", 1, StepFailed("bad input"))
    assert engine.retry(execution_id, client_request_token=FIRST).execution.run == 2


def test_a_repeated_stop_of_an_execution_that_ended_stopped_is_no_conflict(engine, pipeline) -> None:
    """A step waiting for its retry is stopped at once, so the stop ends the execution Stopped
    in its own decision: a repeat of it is answered, a new stop is a conflict."""
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    engine.step_failed(execution_id, "A", 1, StepFailed("x", error_code="ThrottlingException"))
    stopped = engine.stop(execution_id, client_request_token=FIRST)
    assert stopped.execution.status == "Stopped"

    again = engine.stop(execution_id, client_request_token=FIRST)

    assert not again.accepted and again.execution.status == "Stopped"
    assert again.execution.version == stopped.execution.version
    with pytest.raises(ExecutionStateConflict, match="cannot be stopped"):
        engine.stop(execution_id, client_request_token=SECOND)


def test_a_stop_that_found_the_execution_stopping_records_its_token(engine, pipeline) -> None:
    """A stop of a Stopping execution changes nothing but is answered: its token is recorded on
    its own, so its repeat is answered the same after the execution ended Stopped."""
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    engine.step_started(execution_id, "A", 1)
    engine.stop(execution_id)
    assert not engine.stop(execution_id, client_request_token=FIRST).accepted
    assert engine.step_failed(execution_id, "A", 1, StepFailed("stopped")).execution.status == "Stopped"

    assert engine.stop(execution_id, client_request_token=FIRST).execution.status == "Stopped"
    with pytest.raises(ExecutionStateConflict):
        engine.stop(execution_id, client_request_token=SECOND)


@pytest.mark.parametrize("answer", ["success", "failure"])
def test_a_repeated_callback_is_answered_although_its_token_is_spent(engine, pipeline, answer) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(CALLBACK))))
    execution_id = outcome.execution.execution_id
    engine.step_started(execution_id, "CB", 1)
    token = engine.step_pending(execution_id, "CB", 1, StepPending()).steps["CB"].callback_token

    def send(client_request_token: str):
        if answer == "success":
            return engine.callback_success(token, {}, client_request_token=client_request_token)
        return engine.callback_failure(token, "rejected", client_request_token=client_request_token)

    first = send(FIRST)
    assert first.accepted and first.steps["CB"].status == ("Succeeded" if answer == "success" else "Failed")

    again = send(FIRST)

    assert not again.accepted and again.actions == []
    assert again.execution.execution_arn == first.execution.execution_arn
    assert again.execution.version == first.execution.version
    assert again.steps["CB"] == first.steps["CB"]
    with pytest.raises(CallbackTokenNotFound):
        send(SECOND)
    with pytest.raises(ConflictError, match="already used for a different"):
        if answer == "success":
            engine.callback_success(token, {"other": "value"}, client_request_token=FIRST)
        else:
            engine.callback_failure(token, "another reason", client_request_token=FIRST)


def test_a_repeat_racing_the_first_call_is_answered_as_a_replay(engine, pipeline, monkeypatch) -> None:
    """Two deliveries of one retry decided at once: the one that loses the conditional write
    re-reads, finds the token recorded and answers as a repeat instead of a conflict."""
    execution_id = failed_execution(engine, pipeline)
    real_apply = engine.store.apply
    raced: list[str] = []

    def apply_after_a_racer(transition):
        if not raced:
            raced.append("the racer")
            assert engine.retry(execution_id, client_request_token=FIRST).accepted  # it wins
        return real_apply(transition)

    monkeypatch.setattr(engine.store, "apply", apply_after_a_racer)
    answer = engine.retry(execution_id, client_request_token=FIRST)

    assert raced and not answer.accepted and answer.execution.run == 2
    assert engine.state(execution_id).execution.run == 2
