"""The StepRunner and PipelineExecution ASL executed by moto's interpreter, with a fake engine.

These prove the generated documents run (JSONata, variables, Catch -> Report, waitForTaskToken
hand-offs), not just that they validate. The fake engine reads the engine's FIFO queue while a
test waits: it records every message the machines send it and answers the registered actions.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend
from pipelines.stepfunctions import (
    dump_input,
    pipeline_execution_definition,
    render_definition,
    step_runner_definition,
    step_runner_execution_name,
    step_runner_input,
)

from tests.cloud.moto_dynamodb import new_tables

from .builders import make_step
from .moto_sfn import FakeTaskFailed, MotoSfn, patch_moto_sfn

REGION = "us-east-1"
EXEC_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123def456"
EXPERIMENT = {"ExperimentName": "p", "TrialName": "abc123def456"}
MACHINES = {"StepRunner": step_runner_definition, "PipelineExecution": pipeline_execution_definition}


@dataclass
class Cloud:
    sfn: Any
    sqs: Any
    role_arn: str
    moto: MotoSfn
    engine_events: list[dict[str, Any]]
    engine_actions: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)
    queue_url: str = ""
    table: str = ""

    def function(self, name: str, handler: Callable[[Any, Any], Any]) -> str:
        self.moto.handlers[name] = handler
        return str(
            boto3.client("lambda", region_name=REGION).create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=self.role_arn,
                Handler="index.handler",
                Code={"ZipFile": b"unused: the handler runs in-process"},
            )["FunctionArn"]
        )

    def machine(self, name: str) -> str:
        """Created on first use: each creation parses the ASL, which moto makes slow."""
        if name not in self.machines:
            rendered = render_definition(
                MACHINES[name](), {"ReportQueueUrl": self.queue_url, "StateTable": self.table}
            )
            self.machines[name] = self.sfn.create_state_machine(
                name=name, roleArn=self.role_arn, definition=rendered
            )["stateMachineArn"]
        return self.machines[name]

    def run(self, machine: str, execution_input: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        arn = self.sfn.start_execution(
            stateMachineArn=self.machine(machine),
            name=name or str(uuid.uuid4()),
            input=json.dumps(execution_input),
        )["executionArn"]
        return self.wait(arn)

    def wait(self, arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.read_queue()
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                self.read_queue()
                return dict(described)
            time.sleep(0.02)
        raise AssertionError(f"{arn} still RUNNING after 30 s")

    def read_queue(self) -> None:
        """The fake engine: take every queued message, record it, answer its action."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                self.engine_events.append(event)
                handler = self.engine_actions.get(event["action"])
                if handler is not None:
                    handler(event)
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def reports(self) -> list[dict[str, Any]]:
        return [event for event in self.engine_events if event["action"] == "StepRunnerReport"]


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    moto = patch_moto_sfn(monkeypatch)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name=REGION)
        role_arn = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        cloud = Cloud(sfn, sqs, role_arn, moto, [])
        cloud.queue_url = sqs.create_queue(QueueName="engine.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ]
        cloud.table = new_tables(boto3.client("dynamodb", region_name=REGION)).state
        yield cloud
        for machine_arn in cloud.machines.values():  # no interpreter thread may outlive the test
            for execution in sfn.list_executions(stateMachineArn=machine_arn, statusFilter="RUNNING")[
                "executions"
            ]:
                sfn.stop_execution(executionArn=execution["executionArn"])


def runner_input(cloud: Cloud, step: Any, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "job_name": f"pipelines-abc123def456-{step.name}-tok-0",
        "role_arn": cloud.role_arn,
        "execution_arn": EXEC_ARN,
        "attempt": 1,
        "experiment_config": EXPERIMENT,
        **overrides,
    }
    return step_runner_input(step, step.arguments, **kwargs)


def test_lambda_route_invokes_the_function_after_the_backoff_and_reports_its_payload(cloud: Cloud) -> None:
    function_arn = cloud.function("notify", lambda event, _ctx: {"statusCode": 200, "seen": event})
    step = make_step("Lambda", {"threshold": 0.5}, FunctionArn=function_arn)
    name = step_runner_execution_name("abc123def456", step.name, 2)
    execution = cloud.run("StepRunner", runner_input(cloud, step, attempt=2, delay_seconds=7), name=name)

    assert execution["status"] == "SUCCEEDED"
    assert execution["name"] == name
    assert cloud.moto.waits == [7]
    (report,) = cloud.reports()
    assert report["outcome"] == {"result": {"statusCode": 200, "seen": {"threshold": 0.5}}}
    assert report["report"]["stepName"] == "MyLambda" and report["report"]["attempt"] == 2
    assert report["runner"] == execution["executionArn"]


def test_concurrent_attempts_each_run_and_report_once(cloud: Cloud) -> None:
    function_arn = cloud.function("echo", lambda event, _ctx: event)
    steps = [make_step("Lambda", {"n": n}, FunctionArn=function_arn, Name=f"Step{n}") for n in range(8)]
    arns = [
        cloud.sfn.start_execution(
            stateMachineArn=cloud.machine("StepRunner"),
            name=step_runner_execution_name("abc123def456", step.name, 1),
            input=dump_input(runner_input(cloud, step)),
        )["executionArn"]
        for step in steps
    ]
    statuses = [cloud.wait(arn)["status"] for arn in arns]

    assert statuses == ["SUCCEEDED"] * 8
    reported = sorted((r["report"]["stepName"], r["outcome"]["result"]["n"]) for r in cloud.reports())
    assert reported == [(f"Step{n}", n) for n in range(8)]


def test_a_failing_function_is_caught_and_reported_as_the_steps_error(cloud: Cloud) -> None:
    def broken(_event: Any, _ctx: Any) -> Any:
        raise ValueError("threshold too low")

    step = make_step("Lambda", {}, FunctionArn=cloud.function("broken", broken))
    execution = cloud.run("StepRunner", runner_input(cloud, step))

    assert execution["status"] == "SUCCEEDED"  # the runner succeeded in reporting the failure
    (report,) = cloud.reports()
    assert report["outcome"]["error"]["Error"] == "ValueError"
    assert "threshold too low" in report["outcome"]["error"]["Cause"]


PROCESSING_ARGUMENTS = {
    "ProcessingResources": {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
    },
    "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"},
    "RoleArn": "arn:aws:iam::123456789012:role/job",
}


def test_processing_route_creates_the_job_and_reports_its_describe(cloud: Cloud) -> None:
    step = make_step("Processing", PROCESSING_ARGUMENTS)
    execution = cloud.run("StepRunner", runner_input(cloud, step))

    assert execution["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    described = report["outcome"]["result"]
    assert described["ProcessingJobName"] == "pipelines-abc123def456-MyProcessing-tok-0"
    assert described["ProcessingJobStatus"] == "Completed"
    assert described["ExperimentConfig"] == EXPERIMENT
    assert described["AppSpecification"] == PROCESSING_ARGUMENTS["AppSpecification"]
    assert cloud.moto.waits == [0]


def test_a_failed_processing_job_is_reported_with_its_failure_reason(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = SageMakerModelBackend.create_processing_job

    def create_failing(self: SageMakerModelBackend, **kwargs: Any) -> Any:
        job: Any = create(self, **kwargs)
        job.processing_job_status = "Failed"
        job.failure_reason = "CapacityError: InsufficientInstanceCapacity"
        return job

    monkeypatch.setattr(SageMakerModelBackend, "create_processing_job", create_failing)
    execution = cloud.run("StepRunner", runner_input(cloud, make_step("Processing", PROCESSING_ARGUMENTS)))

    assert execution["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    error = report["outcome"]["error"]
    assert error["Error"] == "States.TaskFailed"
    assert json.loads(error["Cause"])["FailureReason"] == "CapacityError: InsufficientInstanceCapacity"


def test_callback_route_waits_for_the_engine_to_complete_the_task_token(cloud: Cloud) -> None:
    queue_url = cloud.sqs.create_queue(QueueName="callbacks")["QueueUrl"]

    def register_callback(event: dict[str, Any]) -> Any:
        """What the real engine does: keep the token, send the message, and later complete it."""
        request = event["callback"]
        cloud.sqs.send_message(QueueUrl=request["QueueUrl"], MessageBody=json.dumps(request["MessageBody"]))
        output = {"OutputParameters": [{"Name": "approved", "Value": "true"}]}
        cloud.sfn.send_task_success(taskToken=event["taskToken"], output=json.dumps(output))
        return {}

    cloud.engine_actions["RegisterCallback"] = register_callback
    step = make_step("Callback", {"arg1": "foo"}, SqsQueueUrl=queue_url)
    execution = cloud.run("StepRunner", runner_input(cloud, step, callback_token="26vcYbeWsZ"))

    assert execution["status"] == "SUCCEEDED"
    (message,) = cloud.sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(message["Body"]) == {
        "token": "26vcYbeWsZ",
        "pipelineExecutionArn": EXEC_ARN,
        "arguments": {"arg1": "foo"},
    }
    (registered,) = [e for e in cloud.engine_events if e["action"] == "RegisterCallback"]
    assert registered["roleArn"] == cloud.role_arn
    (report,) = cloud.reports()
    assert report["outcome"] == {"result": {"OutputParameters": [{"Name": "approved", "Value": "true"}]}}


def test_model_route_creates_the_model(cloud: Cloud) -> None:
    step = make_step(
        "Model",
        {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/m", "PrimaryContainer": {"Image": "img"}},
    )
    execution = cloud.run("StepRunner", runner_input(cloud, step, job_name="pipelines-abc-model-0"))

    assert execution["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    assert report["outcome"]["result"]["ModelArn"].endswith("model/pipelines-abc-model-0")


def test_an_unknown_route_is_reported_not_dropped(cloud: Cloud) -> None:
    bogus = runner_input(cloud, make_step("Training", {}))
    bogus["route"] = "Teleport"
    assert cloud.run("StepRunner", bogus)["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    assert report["outcome"]["error"] == {
        "Error": "StepRunner.UnknownRoute",
        "Cause": "no StepRunner route Teleport",
    }


@pytest.mark.parametrize(
    ("final", "status", "error", "cause"),
    [
        ({"status": "Succeeded"}, "SUCCEEDED", None, None),
        ({"status": "Failed", "failureReason": "Step Train failed"}, "FAILED", "Failed", "Step Train failed"),
        ({"status": "Stopped"}, "FAILED", "Stopped", "Stopped"),
    ],
)
def test_pipeline_execution_ends_as_the_engine_says(
    cloud: Cloud, final: dict[str, Any], status: str, error: str | None, cause: str | None
) -> None:
    """The run stores its token on the run item; the engine completes it at the end."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    key = {"pk": {"S": "EXECUTION#abc123def456"}, "sk": {"S": "RUN#1"}}
    arn = cloud.sfn.start_execution(
        stateMachineArn=cloud.machine("PipelineExecution"),
        name="abc123def456",
        input=json.dumps({"pipelineExecutionArn": EXEC_ARN, "executionId": "abc123def456", "run": 1}),
    )["executionArn"]
    deadline = time.monotonic() + 30
    while "token" not in dynamodb.get_item(TableName=cloud.table, Key=key).get("Item", {}):
        assert time.monotonic() < deadline, "the run never stored its token"
        time.sleep(0.02)
    token = dynamodb.get_item(TableName=cloud.table, Key=key)["Item"]["token"]["S"]
    cloud.sfn.send_task_success(taskToken=token, output=json.dumps(final))
    execution = cloud.wait(arn)

    assert execution["status"] == status
    assert execution.get("error") == error
    assert execution.get("cause") == cause


@pytest.mark.parametrize(
    ("item", "status", "cause"),
    [
        ({"finalStatus": {"S": "Succeeded"}}, "SUCCEEDED", None),
        (
            {"finalStatus": {"S": "Failed"}, "failureReason": {"S": "Step A failed"}},
            "FAILED",
            "Step A failed",
        ),
    ],
)
def test_a_run_that_ended_before_it_waited_reads_its_final_status(
    cloud: Cloud, item: dict[str, Any], status: str, cause: str | None
) -> None:
    key = {"pk": {"S": "EXECUTION#abc123def456"}, "sk": {"S": "RUN#2"}}
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=cloud.table, Item={**key, **item})
    execution = cloud.run(
        "PipelineExecution",
        {"pipelineExecutionArn": EXEC_ARN, "executionId": "abc123def456", "run": 2},
        name="abc123def456-retry-1",
    )
    assert execution["status"] == status
    assert execution.get("cause") == cause


def _describe_sequence(*statuses: str, reason: str = "") -> Callable[[dict[str, Any]], Any]:
    remaining = list(statuses)

    def describe(params: dict[str, Any]) -> Any:
        status = remaining.pop(0)
        described = {"AutoMLJobName": params["AutoMLJobName"], "AutoMLJobStatus": status}
        return {**described, "FailureReason": reason} if reason and status == "Failed" else described

    return describe


AUTOML_ARGUMENTS = {
    "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}}}],
    "OutputDataConfig": {"S3OutputPath": "s3://b/automl"},
    "RoleArn": "arn:aws:iam::123456789012:role/job",
}


def test_automl_route_polls_describe_until_the_job_completes(cloud: Cloud) -> None:
    cloud.moto.fakes[("sagemaker", "createAutoMLJob")] = lambda params: {"AutoMLJobArn": "arn:automl"}
    cloud.moto.fakes[("sagemaker", "describeAutoMLJob")] = _describe_sequence(
        "InProgress", "InProgress", "Completed"
    )
    step = make_step("AutoML", AUTOML_ARGUMENTS)
    execution = cloud.run("StepRunner", runner_input(cloud, step, job_name="automl-1"))

    assert execution["status"] == "SUCCEEDED"
    create, *describes = cloud.moto.calls
    assert create == ("sagemaker", "createAutoMLJob", {**AUTOML_ARGUMENTS, "AutoMLJobName": "automl-1"})
    assert [call[2] for call in describes] == [{"AutoMLJobName": "automl-1"}] * 3
    assert cloud.moto.waits == [0, 60, 60, 60]  # the backoff, then one poll interval per Describe
    (report,) = cloud.reports()
    assert report["outcome"] == {"result": {"AutoMLJobName": "automl-1", "AutoMLJobStatus": "Completed"}}


def test_a_failed_automl_job_is_reported_like_a_failed_sync_job(cloud: Cloud) -> None:
    cloud.moto.fakes[("sagemaker", "createAutoMLJob")] = lambda params: {"AutoMLJobArn": "arn:automl"}
    cloud.moto.fakes[("sagemaker", "describeAutoMLJob")] = _describe_sequence(
        "InProgress", "Failed", reason="ResourceLimitExceeded"
    )
    cloud.run("StepRunner", runner_input(cloud, make_step("AutoML", AUTOML_ARGUMENTS)))

    (report,) = cloud.reports()
    assert report["outcome"]["error"]["Error"] == "States.TaskFailed"
    assert json.loads(report["outcome"]["error"]["Cause"])["FailureReason"] == "ResourceLimitExceeded"


EMR_STEP_CONFIG = {"HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://b/job.py"]}}


def _fake_emr(cloud: Cloud, step_outcome: Callable[[dict[str, Any]], Any]) -> None:
    fakes = cloud.moto.fakes
    fakes[("elasticmapreduce", "createCluster")] = lambda params: {"ClusterId": "j-NEW"}
    fakes[("elasticmapreduce", "createCluster.sync")] = lambda submitted: {**submitted, "ClusterArn": "arn:c"}
    fakes[("elasticmapreduce", "addStep")] = lambda params: {"StepId": "s-1"}
    fakes[("elasticmapreduce", "addStep.sync")] = step_outcome
    fakes[("elasticmapreduce", "terminateCluster")] = lambda params: {}


def test_emr_on_a_new_cluster_creates_runs_and_terminates(cloud: Cloud) -> None:
    _fake_emr(cloud, lambda submitted: {"Step": {"Id": "s-1", "Status": {"State": "COMPLETED"}}})
    arguments = {
        "ClusterConfig": {"ReleaseLabel": "emr-6.10.0", "Instances": {}},
        "StepConfig": EMR_STEP_CONFIG,
    }
    execution = cloud.run("StepRunner", runner_input(cloud, make_step("EMR", arguments), job_name="emr-1"))

    assert execution["status"] == "SUCCEEDED"
    calls = [(action, params) for _service, action, params in cloud.moto.calls]
    assert [action for action, _ in calls] == ["createCluster", "addStep", "terminateCluster"]
    assert calls[0][1]["Name"] == "emr-1"
    assert calls[0][1]["Instances"] == {"KeepJobFlowAliveWhenNoSteps": True}
    assert calls[1][1] == {
        "ClusterId": "j-NEW",
        "Step": {"ActionOnFailure": "CONTINUE", **EMR_STEP_CONFIG, "Name": "emr-1"},
    }
    assert calls[2][1] == {"ClusterId": "j-NEW"}
    (report,) = cloud.reports()
    assert report["outcome"] == {"result": {"Step": {"Id": "s-1", "Status": {"State": "COMPLETED"}}}}


def test_emr_cluster_is_terminated_when_the_step_fails_and_the_error_is_reported(cloud: Cloud) -> None:
    def step_fails(_submitted: dict[str, Any]) -> Any:
        raise FakeTaskFailed("Step s-1 FAILED")

    _fake_emr(cloud, step_fails)
    arguments = {"ClusterConfig": {"Instances": {}}, "StepConfig": EMR_STEP_CONFIG}
    cloud.run("StepRunner", runner_input(cloud, make_step("EMR", arguments)))

    assert [action for _service, action, _params in cloud.moto.calls][-1] == "terminateCluster"
    (report,) = cloud.reports()
    assert report["outcome"]["error"] == {"Error": "States.TaskFailed", "Cause": "Step s-1 FAILED"}


def test_emr_on_an_existing_cluster_only_adds_the_step(cloud: Cloud) -> None:
    _fake_emr(cloud, lambda submitted: {"Step": {"Id": "s-1"}})
    arguments = {"ClusterId": "j-USER", "StepConfig": EMR_STEP_CONFIG}
    execution = cloud.run("StepRunner", runner_input(cloud, make_step("EMR", arguments), job_name="emr-2"))

    assert execution["status"] == "SUCCEEDED"
    assert [(action, params["ClusterId"]) for _s, action, params in cloud.moto.calls] == [
        ("addStep", "j-USER")
    ]
