"""Step attempts, duplicate and stale reports, stop, and RetryPipelineExecution."""

from __future__ import annotations

import pytest
from pipelines.engine import ExecutionStateConflict, NotifyStopping, RunStep, StartRequest, StopStep
from pipelines.runners.base import StepFailed, StepPending, StepResult

from .fakes import definition, processing_step

RETRY_CAPACITY = [
    {
        "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
        "IntervalSeconds": 5,
        "BackoffRate": 2.0,
        "MaxAttempts": 2,
    }
]
LAMBDA = {
    "Name": "L",
    "Type": "Lambda",
    "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
    "Arguments": {},
}
CALLBACK = {
    "Name": "CB",
    "Type": "Callback",
    "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q",
    "Arguments": {"n": 1},
}


def run_of(outcome, name: str) -> RunStep:
    (action,) = [a for a in outcome.actions if isinstance(a, RunStep) and a.step_name == name]
    return action


def test_a_step_under_a_retry_policy_fails_twice_then_succeeds(engine, pipeline, clock) -> None:
    name = pipeline(definition(processing_step("Train", RetryPolicies=RETRY_CAPACITY)))
    outcome = engine.start(StartRequest(pipeline_name=name))
    execution_id = outcome.execution.execution_id
    names, delays = [], []
    for attempt in (1, 2):
        action = run_of(outcome, "Train")
        assert action.attempt == attempt
        names.append(action.request.job_name)
        engine.step_started(execution_id, "Train", attempt)
        outcome = engine.step_failed(
            execution_id, "Train", attempt, StepFailed("ICE", error_code="InsufficientInstanceCapacity")
        )
        retry = run_of(outcome, "Train")
        delays.append((retry.not_before - clock.now()).total_seconds())
        assert outcome.steps["Train"].status == "Starting"  # a retry waits, it is not a failure
        clock.advance(delays[-1])
    final = run_of(outcome, "Train")
    names.append(final.request.job_name)
    engine.step_started(execution_id, "Train", 3)
    done = engine.step_succeeded(
        execution_id, "Train", 3, StepResult(properties={"TrainingJobStatus": "Completed"})
    )
    assert done.execution.status == "Succeeded"
    record = done.steps["Train"]
    assert record.attempt == 3 and record.status == "Succeeded"
    assert delays == [5.0, 10.0]
    assert len(set(names)) == 3 and [n[-2:] for n in names] == ["-0", "-1", "-2"]
    assert [f.exception_type for f in record.failures] == ["SageMaker.CAPACITY_ERROR"] * 2


def test_retries_stop_at_max_attempts(engine, pipeline) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(definition(processing_step("Train", RetryPolicies=RETRY_CAPACITY)))
        )
    )
    execution_id = outcome.execution.execution_id
    for attempt in (1, 2, 3):
        outcome = engine.step_failed(
            execution_id, "Train", attempt, StepFailed("ICE", error_code="CapacityError")
        )
    assert outcome.execution.status == "Failed"
    assert outcome.steps["Train"].attempt == 3 and outcome.steps["Train"].failure_reason == "ICE"


def test_duplicate_and_stale_reports_are_no_ops(engine, pipeline) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(definition(processing_step("A"), processing_step("B", DependsOn=["A"])))
        )
    )
    execution_id = outcome.execution.execution_id
    assert engine.step_started(execution_id, "A", 1).accepted
    assert not engine.step_started(execution_id, "A", 1).accepted  # a step attempt starts once
    first = engine.step_succeeded(execution_id, "A", 1, StepResult(properties={}))
    assert [a.step_name for a in first.actions] == ["B"]
    again = engine.step_succeeded(execution_id, "A", 1, StepResult(properties={}))
    assert not again.accepted and again.actions == []
    assert not engine.step_failed(execution_id, "A", 1, StepFailed("late")).accepted
    assert not engine.step_succeeded(
        execution_id, "B", 7, StepResult(properties={})
    ).accepted  # unknown attempt
    assert engine.state(execution_id).steps["A"].status == "Succeeded"


def test_a_report_for_an_old_attempt_is_ignored(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    engine.step_failed(execution_id, "A", 1, StepFailed("throttled", error_code="ThrottlingException"))
    late = engine.step_succeeded(execution_id, "A", 1, StepResult(properties={"Late": True}))
    assert not late.accepted
    assert engine.state(execution_id).steps["A"].attempt == 2


def test_stop_stops_jobs_notifies_callbacks_lets_lambdas_finish(engine, pipeline) -> None:
    text = definition(
        processing_step("Job"),
        LAMBDA,
        CALLBACK,
        processing_step("Later", DependsOn=["Job"]),
        processing_step("Queued"),
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(text), parallelism=3))
    execution_id = outcome.execution.execution_id
    assert {a.step_name for a in outcome.actions} == {"Job", "L", "CB"}
    for name in ("Job", "L", "CB"):
        engine.step_started(execution_id, name, 1)
    engine.step_pending(execution_id, "CB", 1, StepPending())
    stopping = engine.stop(execution_id)
    assert stopping.execution.status == "Stopping"
    assert {type(a) for a in stopping.actions} == {StopStep, NotifyStopping}
    assert {a.step_name for a in stopping.actions} == {"Job", "CB"}
    assert stopping.steps["L"].status == "Executing"  # a Lambda function cannot be stopped
    assert stopping.steps["CB"].status == "Stopping"
    assert not engine.stop(execution_id).accepted  # already stopping
    engine.stop_notified(execution_id, "CB", 1)
    engine.step_failed(execution_id, "Job", 1, StepFailed("stopped"))
    engine.step_succeeded(execution_id, "L", 1, StepResult(properties={"OutputParameters": {}}))
    token = stopping.steps["CB"].callback_token
    done = engine.callback_success(token, {})
    assert done.execution.status == "Stopped"
    assert {n: r.status for n, r in done.steps.items()} == {
        "Job": "Stopped",
        "L": "Succeeded",
        "CB": "Succeeded",
    }
    assert "Later" not in done.steps and "Queued" not in done.steps


def test_a_lambda_that_fails_while_stopping_fails_the_execution(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(LAMBDA))))
    execution_id = outcome.execution.execution_id
    engine.step_started(execution_id, "L", 1)
    engine.stop(execution_id)
    done = engine.step_failed(execution_id, "L", 1, StepFailed("Task timed out after 120.00 seconds"))
    assert done.execution.status == "Failed"


def test_a_step_waiting_for_its_retry_never_restarts_after_stop(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    execution_id = outcome.execution.execution_id
    retrying = engine.step_failed(execution_id, "A", 1, StepFailed("x", error_code="ThrottlingException"))
    assert run_of(retrying, "A").attempt == 2
    stopped = engine.stop(execution_id)
    assert stopped.execution.status == "Stopped"
    assert not engine.step_started(execution_id, "A", 2).accepted


def test_stop_of_a_finished_execution_is_a_conflict(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    engine.step_succeeded(outcome.execution.execution_id, "A", 1, StepResult(properties={}))
    with pytest.raises(ExecutionStateConflict):
        engine.stop(outcome.execution.execution_arn)


def test_retry_reruns_failed_and_not_run_steps_and_reuses_succeeded_ones(engine, pipeline) -> None:
    text = definition(processing_step("A"), processing_step("B"), processing_step("C", DependsOn=["A", "B"]))
    outcome = engine.start(StartRequest(pipeline_name=pipeline(text)))
    execution_id = outcome.execution.execution_id
    engine.step_succeeded(execution_id, "A", 1, StepResult(properties={"Out": "a"}))
    failed = engine.step_failed(execution_id, "B", 1, StepFailed("bad input"))
    assert failed.execution.status == "Failed"
    retried = engine.retry(failed.execution.execution_arn, parallelism=4)
    assert retried.execution.execution_id == execution_id
    assert retried.execution.status == "Executing" and retried.execution.failure_reason is None
    assert retried.execution.parallelism == 4
    assert [a.step_name for a in retried.actions] == ["B"]
    assert run_of(retried, "B").attempt == 2
    done = engine.step_succeeded(execution_id, "B", 2, StepResult(properties={}))
    assert [a.step_name for a in done.actions] == ["C"]
    finished = engine.step_succeeded(execution_id, "C", 1, StepResult(properties={}))
    assert finished.execution.status == "Succeeded"
    assert finished.steps["A"].attempt == 1 and finished.steps["A"].properties == {"Out": "a"}


@pytest.mark.parametrize("ending", ["succeeded", "fail step"])
def test_retry_is_refused_unless_failed_and_not_at_a_fail_step(engine, pipeline, ending) -> None:
    if ending == "succeeded":
        outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
        engine.step_succeeded(outcome.execution.execution_id, "A", 1, StepResult(properties={}))
        message = "only a Failed execution can be retried"
    else:
        outcome = engine.start(
            StartRequest(
                pipeline_name=pipeline(
                    definition({"Name": "F", "Type": "Fail", "Arguments": {"ErrorMessage": "no"}})
                )
            )
        )
        assert outcome.execution.status == "Failed"
        message = "ended at a Fail step"
    with pytest.raises(ExecutionStateConflict, match=message):
        engine.retry(outcome.execution.execution_id)


def test_update_execution_raises_parallelism_and_starts_waiting_steps(engine, pipeline) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(definition(*[processing_step(f"S{i}") for i in range(3)])), parallelism=1
        )
    )
    more = engine.update_execution(outcome.execution.execution_id, parallelism=3)
    assert {a.step_name for a in more.actions} == {"S1", "S2"}


def test_batch_claims_name_the_attempts_won(engine, pipeline) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(
                definition(processing_step("A"), processing_step("B"), processing_step("C"))
            )
        )
    )
    execution_id = outcome.execution.execution_id
    assert engine.step_started(execution_id, "B", 1).accepted
    batch = engine.steps_started(execution_id, [("A", 1), ("B", 1), ("C", 2)])
    assert batch.claimed == ["A"]
    assert not engine.steps_started(execution_id, [("A", 1)]).accepted


def test_a_batch_of_reports_is_one_decision(engine, pipeline) -> None:
    text = definition(
        processing_step("A"), processing_step("B"), processing_step("Join", DependsOn=["A", "B"])
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(text)))
    execution_id = outcome.execution.execution_id
    both = engine.report(
        execution_id,
        [
            ("A", 1, StepResult(properties={})),
            ("B", 1, StepResult(properties={})),
            ("A", 1, StepResult(properties={})),
        ],
    )
    assert both.read_version is not None and both.execution.version == both.read_version + 1
    assert [a.step_name for a in both.actions] == ["Join"]
