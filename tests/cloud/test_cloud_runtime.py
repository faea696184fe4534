"""Cloud-only behaviour: idempotency under duplicate, racing and retried deliveries; how a stop
reaches jobs, StepRunners and Lambda steps; concurrent executions; API errors; status events."""

from __future__ import annotations

import base64
import json
import os
import threading
from typing import Any

import pytest
from pipelines.engine import ExecutionStateConflict, StartRequest
from pipelines.errors import ResourceNotFound, ValidationError
from pipelines.runtime.cloud import CloudRuntime
from pipelines.store.dynamodb import definition_digest

from tests.cloud.drivers import step_of_job
from tests.cloud.harness import ENGINE_FUNCTION, Cloud, wait_until
from tests.cloud.moto_patches import Hold, JobOutcome, lambda_context
from tests.cloud.scenarios import function_arn, lambda_step, pipeline, processing, training


def two_steps() -> str:
    return json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"])))


def reports_of(cloud: Cloud, step: str) -> list[dict[str, Any]]:
    """The StepRunner reports of ``step`` the engine's queue delivered (redeliveries included)."""
    return cloud.events.reports(step)


def jobs_of(cloud: Cloud, step: str) -> list[str]:
    return [name for _kind, name in cloud.moto.jobs.created if step_of_job(name)[0] == step]


def _batch_with_report(event: dict[str, Any], step: str) -> bool:
    return any(
        json.loads(r["body"]).get("action") == "StepRunnerReport"
        and json.loads(r["body"])["report"]["stepName"] == step
        for r in event.get("Records", [])
    )


def test_racing_duplicate_deliveries_record_one_result_and_start_the_next_step_once(cloud: Cloud) -> None:
    """One batch handled five times at once (a visibility timeout that ran out mid-batch):
    the conditional writes let exactly one decide."""
    real = cloud.moto.handlers[ENGINE_FUNCTION]
    raced = threading.Event()
    answers: list[Any] = []

    def racing(event: dict[str, Any], context: Any) -> Any:
        if _batch_with_report(event, "A") and not raced.is_set():
            raced.set()
            threads = [
                threading.Thread(target=lambda: answers.append(real(event, context))) for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            answer = real(event, context)
            for thread in threads:
                thread.join()
            return answer
        return real(event, context)

    cloud.moto.handlers[ENGINE_FUNCTION] = racing
    cloud.register(two_steps())
    final = cloud.run()

    assert raced.is_set() and final.status == "Succeeded"
    assert answers == [{"batchItemFailures": []}] * 4
    steps = cloud.steps(final.execution_id)
    assert (steps["A"].attempt, steps["B"].attempt) == (1, 1)
    assert (
        steps["A"].properties is not None
        and steps["A"].properties["ProcessingJobName"] == steps["A"].job_name
    )
    assert len(jobs_of(cloud, "B")) == 1
    assert [r["name"] for r in cloud.runner_executions(final.execution_id) if "-B-" in r["name"]] == [
        f"{final.execution_id}-B-1"
    ]
    assert cloud.publisher.changes("A") == [
        (None, "Starting"),
        ("Starting", "Executing"),
        ("Executing", "Succeeded"),
    ]

    # A late duplicate (after the queue's deduplication window) changes nothing, starts nothing.
    (report,) = reports_of(cloud, "A")[:1]
    cloud.sqs.send_message(
        QueueUrl=cloud.events.queue_url,
        MessageBody=json.dumps(report),
        MessageGroupId=final.execution_id,
        MessageDeduplicationId="late-duplicate",
    )
    wait_until(lambda: len(reports_of(cloud, "A")) >= 2)
    wait_until(cloud.events.idle)
    assert cloud.execution(final.execution_id).version == final.version
    assert len(jobs_of(cloud, "B")) == 1


def test_a_batch_whose_first_delivery_dies_half_way_is_completed_by_the_redelivery(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_run_step = CloudRuntime._run_step
    crashed: list[str] = []

    def crash_once(self: CloudRuntime, action: Any, execution: Any) -> bool:
        if action.step_name == "B" and not crashed:
            crashed.append(action.step_name)
            raise RuntimeError("the Lambda ran out of time after the decision was written")
        return real_run_step(self, action, execution)

    monkeypatch.setattr(CloudRuntime, "_run_step", crash_once)
    cloud.register(two_steps())
    final = cloud.run()

    assert crashed == ["B"]
    assert final.status == "Succeeded"
    assert len(reports_of(cloud, "A")) == 2  # the queue redelivered the report
    assert len(cloud.events.failed) == 1
    assert len(jobs_of(cloud, "B")) == 1
    assert [r["name"] for r in cloud.runner_executions(final.execution_id) if "-B-" in r["name"]] == [
        f"{final.execution_id}-B-1"
    ]


def test_stop_stops_the_job_and_its_runner_while_a_lambda_step_runs_to_the_end(cloud: Cloud) -> None:
    lambda_started = threading.Event()
    release_lambda = threading.Event()

    def notify(event: Any, context: Any) -> Any:
        lambda_started.set()
        assert release_lambda.wait(10)
        return {"sent": True}

    cloud.function("notify", notify)
    cloud.register(
        json.dumps(pipeline(training("Train"), lambda_step("Notify", "notify", {}, {"sent": "Boolean"})))
    )
    cloud.moto.jobs.decide = lambda kind, name, request: Hold()
    execution = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held) and lambda_started.is_set())
    wait_until(lambda: cloud.steps(execution.execution_id)["Train"].status == "Executing")

    stopping = cloud.api.stop(execution.execution_arn)
    assert stopping.status == "Stopping"
    (job,) = [name for _kind, name in cloud.moto.jobs.stopped]
    assert job == cloud.steps(execution.execution_id)["Train"].job_name
    assert cloud.sagemaker.describe_training_job(TrainingJobName=job)["TrainingJobStatus"] == "Stopped"
    assert cloud.execution(execution.execution_id).status == "Stopping"  # the Lambda step still runs

    release_lambda.set()
    final = cloud.wait(execution.execution_arn)
    steps = cloud.steps(final.execution_id)
    assert (final.status, steps["Train"].status, steps["Notify"].status) == (
        "Stopped",
        "Stopped",
        "Succeeded",
    )
    runners = {r["name"].rsplit("-", 2)[1]: r["status"] for r in cloud.runner_executions(final.execution_id)}
    assert runners == {"Train": "ABORTED", "Notify": "SUCCEEDED"}


def test_concurrent_executions_of_several_pipelines_all_finish(cloud: Cloud) -> None:
    for n in range(2):
        cloud.register(
            json.dumps(pipeline(processing("A"), *(processing(f"B{i}", DependsOn=["A"]) for i in range(2)))),
            f"p{n}",
        )
    started = []
    threads = [
        threading.Thread(target=lambda name=f"p{n % 2}": started.append(cloud.start(name))) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finals = [cloud.wait(e.execution_arn, timeout=60) for e in started]
    assert [f.status for f in finals] == ["Succeeded"] * 4
    assert len(cloud.moto.jobs.created) == 4 * 3


def test_rejected_requests_come_back_as_the_engines_typed_errors(cloud: Cloud) -> None:
    cloud.register(
        json.dumps(
            pipeline(processing("A"), parameters=[{"Name": "N", "Type": "Integer", "DefaultValue": 1}])
        )
    )
    with pytest.raises(ResourceNotFound, match="nope"):
        cloud.api.start(StartRequest(pipeline_name="nope"))
    with pytest.raises(ValidationError, match="Undeclared"):
        cloud.api.start(StartRequest(pipeline_name="p", parameters={"Undeclared": "1"}))
    final = cloud.run()
    with pytest.raises(Exception) as stopped_twice:
        cloud.api.stop(final.execution_arn)
    assert getattr(stopped_twice.value, "code", None) == ExecutionStateConflict.code


def test_a_step_the_cloud_cannot_run_is_refused_before_anything_starts(cloud: Cloud) -> None:
    unknown = {"Name": "Mystery", "Type": "NotARealStepType", "Arguments": {}}
    cloud.register(json.dumps(pipeline(processing("A"), unknown)))
    with pytest.raises(ValidationError, match="Mystery"):
        cloud.api.start(StartRequest(pipeline_name="p"))
    assert cloud.sfn.list_executions(stateMachineArn=cloud.machines["PipelineExecution"])["executions"] == []


def test_a_definition_too_large_for_an_item_is_kept_in_s3(cloud: Cloud) -> None:
    # ~60 KB of incompressible arguments (compression alone cannot keep it in the item)
    padding = {"Environment": {f"K{i}": base64.b64encode(os.urandom(150)).decode() for i in range(300)}}
    cloud.register(json.dumps(pipeline(processing("A", arguments=padding), processing("B", DependsOn=["A"]))))
    final = cloud.run()

    assert final.status == "Succeeded"
    # kept once per distinct text, under its digest
    item = cloud.store.client.get_item(
        TableName=cloud.store.tables.state,
        Key={"pk": {"S": f"DEFINITION#{definition_digest(final.definition)}"}, "sk": {"S": "#META"}},
    )["Item"]
    assert "body" not in item and item["ref"]["S"].startswith("s3://pipelines-payloads/payloads/")
    environment = padding["Environment"]
    assert json.loads(final.definition)["Steps"][0]["Arguments"]["Environment"]["K0"] == environment["K0"]
    assert cloud.steps(final.execution_id)["A"].arguments["Environment"]["K299"] == environment["K299"]


def test_status_changes_are_published_in_order(cloud: Cloud) -> None:
    cloud.register(two_steps())
    final = cloud.run()
    assert cloud.publisher.changes() == [(None, "Executing"), ("Executing", "Succeeded")]
    assert [current for _, current in cloud.publisher.changes("B")] == ["Starting", "Executing", "Succeeded"]
    (succeeded,) = [
        e
        for e in cloud.publisher.events
        if e.detail.get("currentStepStatus") == "Succeeded" and e.detail["stepName"] == "B"
    ]
    assert succeeded.detail["pipelineExecutionArn"] == final.execution_arn
    assert final.status == "Succeeded"


def test_the_engine_acknowledges_events_about_executions_that_do_not_exist(cloud: Cloud) -> None:
    handler = cloud.moto.handlers[ENGINE_FUNCTION]
    ghost = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/zzzzzzzzzzzz"
    report = {
        "action": "StepRunnerReport",
        "report": {"pipelineExecutionArn": ghost, "stepName": "A", "stepType": "Processing", "attempt": 1},
        "runner": "arn",
        "outcome": {"result": {}},
    }
    batch = {
        "Records": [
            {
                "messageId": "m1",
                "body": json.dumps(report),
                "attributes": {"MessageGroupId": "zzzzzzzzzzzz", "ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
            },
            {
                "messageId": "m2",
                "body": json.dumps({"action": "Teleport"}),
                "attributes": {"MessageGroupId": "zzzzzzzzzzzz", "ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
            },
        ]
    }
    assert handler(batch, lambda_context(ENGINE_FUNCTION, "arn")) == {"batchItemFailures": []}
    with pytest.raises(ValidationError, match="not an engine event"):
        handler({"action": "Teleport"}, lambda_context(ENGINE_FUNCTION, "arn"))


def test_lambda_functions_called_by_steps_are_the_ones_named(cloud: Cloud) -> None:
    seen: list[Any] = []

    def echo(event: Any, _context: Any) -> Any:
        seen.append(event)
        return {"value": event["n"] * 2}

    cloud.function("echo", echo)
    cloud.register(json.dumps(pipeline(lambda_step("Echo", "echo", {"n": 21}, {"value": "Integer"}))))
    final = cloud.run()
    record = cloud.steps(final.execution_id)["Echo"]
    assert seen == [{"n": 21}]
    assert record.properties == {"OutputParameters": [{"Name": "value", "Value": 42}]}
    assert record.metadata["Lambda"] == {
        "Arn": function_arn("echo"),
        "OutputParameters": [{"Name": "value", "Value": "42"}],
    }


def test_a_retry_is_a_new_step_runner_whose_backoff_waits_the_policy_interval(cloud: Cloud) -> None:
    from tests.cloud.moto_patches import Complete, Failed
    from tests.cloud.scenarios import CAPACITY

    outcomes: list[JobOutcome] = [Failed(CAPACITY), Failed(CAPACITY), Complete()]
    cloud.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    policy = {
        "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
        "IntervalSeconds": 5,
        "BackoffRate": 2.0,
        "MaxAttempts": 2,
    }
    cloud.register(json.dumps(pipeline(training("Train", RetryPolicies=[policy]))))
    final = cloud.run()

    assert final.status == "Succeeded"
    names = sorted(r["name"] for r in cloud.runner_executions(final.execution_id))
    assert names == [f"{final.execution_id}-Train-{n}" for n in (1, 2, 3)]
    assert sorted(cloud.moto.waits) == [0, 5, 10]  # each attempt's Backoff: 0, then 5 s x 2^(n-1)
    jobs = [name for _kind, name in cloud.moto.jobs.created]
    assert [name.rsplit("-", 1)[1] for name in jobs] == ["0", "1", "2"]  # the failure count


def test_a_lambda_step_that_times_out_fails_the_execution(cloud: Cloud) -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> Any:
        release.wait(5)
        return {"done": True}

    cloud.function("slow", slow)
    step = {**lambda_step("Slow", "slow", {}, {"done": "Boolean"}), "TimeoutSeconds": 1}
    cloud.register(json.dumps(pipeline(step)))
    try:
        final = cloud.run()
    finally:
        release.set()
    record = cloud.steps(final.execution_id)["Slow"]
    assert (final.status, record.status) == ("Failed", "Failed")
    assert record.failure_reason == f"Lambda function {function_arn('slow')} timed out after 1 seconds"


def test_a_malformed_api_request_is_rejected_as_a_validation_error(cloud: Cloud) -> None:
    # what an API Lambda of another version might send: a start without its request
    with pytest.raises(ValidationError, match="StartExecution"):
        cloud.api._call({"action": "StartExecution", "pipelineName": None})


def test_an_older_pipeline_version_runs_its_own_definition(cloud: Cloud) -> None:
    cloud.register(json.dumps(pipeline(processing("Old"))))
    cloud.register(json.dumps(pipeline(processing("New"))))

    final = cloud.wait(cloud.start(pipeline_version_id=1).execution_arn)

    assert (final.status, final.pipeline_version_id) == ("Succeeded", 1)
    assert [s["Name"] for s in json.loads(final.definition)["Steps"]] == ["Old"]
    assert list(cloud.steps(final.execution_id)) == ["Old"]
    assert [step_of_job(name)[0] for _kind, name in cloud.moto.jobs.created] == ["Old"]
    with pytest.raises(ResourceNotFound):
        cloud.start(pipeline_version_id=7)


def test_every_start_argument_reaches_the_engine_lambda(cloud: Cloud) -> None:
    """The API Lambda's EngineClient sends the whole StartRequest; nothing is dropped."""
    server = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/ts"
    cloud.register(json.dumps(pipeline(processing("A"), MlflowConfig={"MlflowResourceArn": server})))
    caller = {"IamIdentity": {"Arn": "arn:aws:iam::123456789012:user/ana", "PrincipalId": "AIDAEXAMPLE"}}

    started = cloud.start(
        display_name="nightly",
        description="the nightly run",
        parallelism=3,
        created_by=caller,
        mlflow_experiment_name="per-run",
    )

    sent = [
        e
        for name, e in cloud.moto.invocations
        if name == ENGINE_FUNCTION and e.get("action") == "StartExecution"
    ]
    assert StartRequest.model_validate(sent[-1]["request"]) == StartRequest(
        pipeline_name="p",
        display_name="nightly",
        description="the nightly run",
        parallelism=3,
        created_by=caller,
        mlflow_experiment_name="per-run",
    )
    record = cloud.execution(started.execution_arn)
    assert (record.display_name, record.description, record.parallelism) == ("nightly", "the nightly run", 3)
    assert record.created_by == record.modified_by == caller
    assert record.mlflow is not None
    assert (record.mlflow.resource_arn, record.mlflow.experiment_name) == (server, "per-run")
    assert record.mlflow.run_name == "nightly"
    assert cloud.wait(started.execution_arn).status == "Succeeded"
    # the job's request carries the MLflow variables a script with sagemaker-mlflow reads
    runners = cloud.sfn.list_executions(stateMachineArn=cloud.machines["StepRunner"])["executions"]
    inputs = [
        json.loads(cloud.sfn.describe_execution(executionArn=r["executionArn"])["input"]) for r in runners
    ]
    assert [i["request"]["Environment"] for i in inputs] == [
        {"MLFLOW_TRACKING_ARN": server, "MLFLOW_TRACKING_URI": server, "MLFLOW_EXPERIMENT_NAME": "per-run"}
    ]
