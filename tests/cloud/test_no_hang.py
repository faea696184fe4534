"""Nothing hangs and nothing starts twice: wide DAGs, crashes between and inside decisions,
reports that come twice or late, StepRunners and runs aborted by hand, starts that died after
their records were written (all in moto, through the same doors as on AWS)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from moto.sqs import models as sqs_models
from pipelines.runtime import cloud as cloud_runtime
from pipelines.runtime.cloud import CloudRuntime
from pipelines.store.base import ExecutionRecord
from pipelines.store.dynamodb import DynamoDBStore

from tests.cloud.drivers import step_of_job
from tests.cloud.harness import ENGINE_FUNCTION, ENGINE_TIMEOUT_SECONDS, Cloud, wait_until
from tests.cloud.moto_patches import Complete, Failed, Hold, JobOutcome, lambda_context
from tests.cloud.scenarios import CAPACITY, pipeline, processing, training


def started_once(cloud: Cloud, execution_id: str) -> Counter[str]:
    """Every StepRunner (one per step attempt) and every job was started once; returns the
    number of jobs per step."""
    runners = Counter(r["name"] for r in cloud.runner_executions(execution_id))
    jobs = Counter(name for _kind, name in cloud.moto.jobs.created)
    assert set(runners.values()) <= {1} and set(jobs.values()) <= {1}, (runners, jobs)
    return Counter(step_of_job(name)[0] for name in jobs)


def test_five_hundred_independent_steps_start_and_finish(cloud: Cloud) -> None:
    width = 500
    cloud.register(json.dumps(pipeline(*(processing(f"S{i}") for i in range(width)))))
    final = cloud.run(timeout=600)

    assert final.status == "Succeeded", final.failure_reason
    steps = cloud.steps(final.execution_id)
    assert len(steps) == width and {s.status for s in steps.values()} == {"Succeeded"}
    assert len(started_once(cloud, final.execution_id)) == width


def test_a_wide_launch_that_runs_until_the_engine_timeout_starts_each_step_runner_once(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first layer wider than an API start launches is started by a queued Launch message:
    one invocation making every StartExecution. While that invocation may still run (up to the
    engine's timeout), the queue must not hand its message, or its group's next ones, to
    another poller. Here the queue's clock jumps to just before the engine's timeout at the
    start of that invocation (as a loaded machine or throttled starts make it last); every
    StepRunner is still started by exactly one StartExecution call, from one delivery."""
    ahead = [0.0]  # seconds moto's SQS clock runs ahead of real time
    real_seconds, real_millis = sqs_models.unix_time, sqs_models.unix_time_millis
    monkeypatch.setattr(sqs_models, "unix_time", lambda: real_seconds() + ahead[0])
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda: real_millis() + 1000 * ahead[0])
    handler = cloud.moto.handlers[ENGINE_FUNCTION]
    launches: list[dict[str, Any]] = []

    def long_launch(event: dict[str, Any], context: Any) -> Any:
        if any(json.loads(r["body"]).get("action") == "Launch" for r in event.get("Records", [])):
            launches.append(event)
            if len(launches) == 1:
                receives = cloud.events.receives
                ahead[0] += ENGINE_TIMEOUT_SECONDS - 1
                # two more receives (they take turns): the later one began after the jump
                wait_until(lambda: cloud.events.receives >= receives + 2)
        return handler(event, context)

    cloud.moto.handlers[ENGINE_FUNCTION] = long_launch
    width = cloud_runtime.MAX_DIRECT_STARTS + 10
    cloud.register(json.dumps(pipeline(*(processing(f"S{i}") for i in range(width)))))
    final = cloud.run(timeout=120)

    assert final.status == "Succeeded", final.failure_reason
    runners = [r["name"] for r in cloud.runner_executions(final.execution_id)]
    assert len(runners) == width
    assert {name: cloud.moto.starts[name] for name in runners} == dict.fromkeys(runners, 1)
    assert len(launches) == 1


WIDE_LAYER = cloud_runtime.MAX_DIRECT_STARTS + 5


def run_a_wide_layer_beside_a_running_step(cloud: Cloud) -> ExecutionRecord:
    """Long (its job held) beside A -> W0..W24: A's report launches a layer wider than a
    decision starts itself while Long's StepRunner runs; Long ends once the layer is done."""

    def decide(kind: str, name: str, request: Any) -> JobOutcome:
        return Hold() if step_of_job(name)[0] == "Long" else Complete()

    cloud.moto.jobs.decide = decide
    layer = [processing(f"W{i}", DependsOn=["A"]) for i in range(WIDE_LAYER)]
    cloud.register(json.dumps(pipeline(processing("Long"), processing("A"), *layer)))
    execution = cloud.start()
    wait_until(
        lambda: sum(s.status == "Succeeded" for s in cloud.steps(execution.execution_id).values())
        == WIDE_LAYER + 1,
        timeout=120,
    )
    (held,) = [name for name in cloud.moto.jobs.held if step_of_job(name)[0] == "Long"]
    cloud.moto.jobs.release(held)
    final = cloud.wait(execution.execution_arn, timeout=120)
    assert final.status == "Succeeded", final.failure_reason
    return final


def test_a_wide_layer_launched_while_another_step_runs_starts_only_its_own_step_runners(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A layer wider than a decision starts itself is started by queued Launch messages (here
    10 attempts each) naming its attempts; carrying them out starts that layer's StepRunners,
    not again the StepRunner of a step still running."""
    monkeypatch.setattr(cloud_runtime, "LAUNCHES_PER_MESSAGE", 10)
    final = run_a_wide_layer_beside_a_running_step(cloud)

    runners = [r["name"] for r in cloud.runner_executions(final.execution_id)]
    assert len(runners) == WIDE_LAYER + 2
    assert {name: cloud.moto.starts[name] for name in runners} == dict.fromkeys(runners, 1)
    launches = [body["steps"] for body in cloud.events.delivered if body["action"] == "Launch"]
    assert [len(steps) for steps in launches] == [10, 10, WIDE_LAYER - 20]
    named = sorted((s["stepName"], s["attempt"]) for steps in launches for s in steps)
    assert named == sorted((f"W{i}", 1) for i in range(WIDE_LAYER))


def test_a_launch_whose_first_delivery_dies_half_way_starts_the_rest_on_its_redelivery(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation carrying out a wide launch dies after some starts; the queue redelivers
    the message, which starts the rest (repeating only its own starts: the running step of
    another branch is not started again)."""
    real_run_step = CloudRuntime._run_step
    crashed: list[str] = []

    def crash_once(self: CloudRuntime, action: Any, execution: Any) -> bool:
        if action.step_name == "W7" and not crashed:
            crashed.append(action.step_name)
            raise RuntimeError("the engine Lambda ran out of time half way through the launch")
        return bool(real_run_step(self, action, execution))

    monkeypatch.setattr(CloudRuntime, "_run_step", crash_once)
    final = run_a_wide_layer_beside_a_running_step(cloud)

    assert crashed == ["W7"] and cloud.events.failed  # the launch came back
    assert cloud.moto.starts[f"{final.execution_id}-Long-1"] == 1
    assert len(started_once(cloud, final.execution_id)) == WIDE_LAYER + 2


def test_an_engine_that_dies_between_the_chunks_of_a_wide_decision_is_finished_by_the_redelivery(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 150-wide layer after A is decided in two transactions; the invocation dies after the
    first. The queue redelivers A's report and the engine decides the rest, once."""
    applied: list[int] = []
    real_apply = DynamoDBStore.apply

    def dies_after_the_first_chunk(self: DynamoDBStore, transition: Any) -> None:
        real_apply(self, transition)
        launched = [
            w for w in transition.steps if w.expected_version is None and w.record.step_name.startswith("W")
        ]
        if launched:
            applied.append(len(launched))
            if len(applied) == 1:
                raise RuntimeError("the engine Lambda timed out between two transactions")

    monkeypatch.setattr(DynamoDBStore, "apply", dies_after_the_first_chunk)
    wide = [processing(f"W{i}", DependsOn=["A"]) for i in range(150)]
    cloud.register(json.dumps(pipeline(processing("A"), *wide)))
    final = cloud.run(timeout=300)

    assert final.status == "Succeeded", final.failure_reason
    assert applied[0] < 150 and sum(applied) == 150  # cut at the transaction limit, then finished
    assert len(cloud.events.failed) >= 1  # the batch came back once
    assert len(started_once(cloud, final.execution_id)) == 151


def test_a_late_report_of_an_earlier_attempt_changes_nothing(cloud: Cloud) -> None:
    outcomes: list[JobOutcome] = [Failed(CAPACITY), Complete(), Complete()]
    cloud.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    policy = {"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 1, "MaxAttempts": 1}
    cloud.register(
        json.dumps(
            pipeline(training("Train", RetryPolicies=[policy]), processing("After", DependsOn=["Train"]))
        )
    )
    final = cloud.run()
    assert final.status == "Succeeded", final.failure_reason

    first = [r for r in cloud.events.reports("Train") if r["report"]["attempt"] == 1]
    assert first and "error" in first[0]["outcome"]
    cloud.sqs.send_message(
        QueueUrl=cloud.events.queue_url,
        MessageBody=json.dumps(first[0]),
        MessageGroupId=final.execution_id,
        MessageDeduplicationId="reordered",
    )
    wait_until(lambda: len(cloud.events.reports("Train")) == 3)
    wait_until(cloud.events.idle)
    assert cloud.execution(final.execution_id).version == final.version
    record = cloud.steps(final.execution_id)["Train"]
    assert (record.status, record.attempt) == ("Succeeded", 2)
    started_once(cloud, final.execution_id)


def test_a_step_runner_aborted_by_hand_fails_its_step_with_the_reason(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = lambda kind, name, request: Hold()
    cloud.register(json.dumps(pipeline(training("Train"), processing("After", DependsOn=["Train"]))))
    execution = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    (runner,) = cloud.runner_executions(execution.execution_id)
    cloud.sfn.stop_execution(
        executionArn=runner["executionArn"], error="Operator", cause="aborted in the console"
    )
    wait_until(
        lambda: cloud.sfn.describe_execution(executionArn=runner["executionArn"])["status"] == "ABORTED"
    )

    assert "queued" in cloud.status_change(runner["executionArn"])
    final = cloud.wait(execution.execution_arn)

    record = cloud.steps(final.execution_id)["Train"]
    assert (final.status, record.status) == ("Failed", "Failed")
    assert record.failure_reason is not None
    assert f"StepRunner execution {runner['name']} ended ABORTED without reporting" in record.failure_reason
    assert "After" not in cloud.steps(final.execution_id)
    started_once(cloud, final.execution_id)
    # the same event again (EventBridge delivers at least once) changes nothing
    cloud.status_change(runner["executionArn"])
    wait_until(cloud.events.idle)
    assert cloud.execution(final.execution_id).version == final.version


def test_the_sweep_fails_a_step_whose_runner_ended_without_an_event(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status-change events are best effort: the sweep compares each running step with its
    StepRunner's DescribeExecution."""
    monkeypatch.setattr(cloud_runtime, "SWEEP_AFTER", timedelta(0))
    cloud.moto.jobs.decide = lambda kind, name, request: Hold()
    cloud.register(json.dumps(pipeline(training("Train"))))
    execution = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    (runner,) = cloud.runner_executions(execution.execution_id)
    cloud.sfn.stop_execution(executionArn=runner["executionArn"])
    wait_until(
        lambda: cloud.sfn.describe_execution(executionArn=runner["executionArn"])["status"] == "ABORTED"
    )

    swept = cloud.moto.handlers[ENGINE_FUNCTION]({"action": "Sweep"}, lambda_context(ENGINE_FUNCTION, "arn"))
    assert swept == {"swept": [execution.execution_id]}
    final = cloud.wait(execution.execution_arn)
    assert final.status == "Failed"
    assert "ended ABORTED without reporting" in (
        cloud.steps(final.execution_id)["Train"].failure_reason or ""
    )


def test_a_start_that_died_after_writing_its_records_is_recovered_by_the_sweep(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud_runtime, "SWEEP_AFTER", timedelta(0))
    real_launch = CloudRuntime._launch
    died: list[str] = []

    def dies(self: CloudRuntime, outcome: Any) -> None:
        if not died:
            died.append("launch")
            raise RuntimeError("the engine Lambda died after engine.start wrote the records")
        real_launch(self, outcome)

    monkeypatch.setattr(CloudRuntime, "_launch", dies)
    cloud.register(json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"]))))
    with pytest.raises(Exception, match="died after engine.start"):
        cloud.start()
    (stuck,) = cloud.store.list_unfinished_executions()
    assert cloud.runner_executions(stuck.execution_id) == []

    cloud.moto.handlers[ENGINE_FUNCTION]({"action": "Sweep"}, lambda_context(ENGINE_FUNCTION, "arn"))
    final = cloud.wait(stuck.execution_arn)
    assert final.status == "Succeeded"
    assert set(started_once(cloud, final.execution_id)) == {"A", "B"}


def start_a_held_training_run(cloud: Cloud) -> tuple[ExecutionRecord, str]:
    """An execution of one Training step whose job never ends, and its PipelineExecution run's ARN."""
    cloud.moto.jobs.decide = lambda kind, name, request: Hold()
    cloud.register(json.dumps(pipeline(training("Train"))))
    execution = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    run = cloud.machines["PipelineExecution"].replace(":stateMachine:", ":execution:")
    return execution, f"{run}:{execution.execution_id}"


def test_a_pipeline_execution_run_aborted_by_hand_stops_the_execution(cloud: Cloud) -> None:
    execution, arn = start_a_held_training_run(cloud)
    cloud.sfn.stop_execution(executionArn=arn)
    wait_until(lambda: cloud.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED")

    cloud.status_change(arn)
    final = cloud.wait(execution.execution_arn)
    assert final.status == "Stopped"
    assert cloud.steps(final.execution_id)["Train"].status == "Stopped"


def test_a_pipeline_execution_run_that_fails_ends_the_execution_failed_with_the_reason(cloud: Cloud) -> None:
    """The run's AwaitFinish cannot keep its token (an error no Retry covers): the run ends
    FAILED while the execution is Executing; the execution's job is stopped and it ends Failed,
    naming the run and its error."""

    def table_refuses(_request: dict[str, Any]) -> Any:
        raise RuntimeError("AccessDeniedException: not authorized to perform dynamodb:UpdateItem")

    cloud.moto.fakes[("dynamodb", "updateItem")] = table_refuses
    execution, arn = start_a_held_training_run(cloud)
    wait_until(lambda: cloud.sfn.describe_execution(executionArn=arn)["status"] == "FAILED")
    assert cloud.execution(execution.execution_id).status == "Executing"

    cloud.status_change(arn)
    final = cloud.wait(execution.execution_arn)
    assert final.status == "Failed"
    assert final.failure_reason is not None
    assert final.failure_reason.startswith(
        f"The PipelineExecution run {execution.execution_id} ended FAILED ("
    )
    assert "not authorized to perform dynamodb:UpdateItem" in final.failure_reason
    assert final.failure_reason.endswith("; the pipeline execution cannot finish without it.")
    train = cloud.steps(final.execution_id)["Train"]
    assert train.status == "Stopped" and cloud.moto.jobs.stopped == [("Training", train.job_name)]
    cloud.status_change(arn)  # the same event again changes nothing
    assert cloud.execution(execution.execution_id).version == final.version
