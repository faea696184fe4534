"""What a stop does to a running attempt's work: EMR steps are cancelled, a cluster the step
created is terminated, SageMaker jobs get Stop*Job; all as the pipeline's role.

moto 5.2.5 has no CancelSteps, so that call is checked against botocore's Stubber (which also
validates each request against the EMR service model); the rest runs on moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws
from pipelines import aws
from pipelines.runtime.job_stops import stop_step_work
from pipelines.store.base import StepRecord

from tests.cloud.harness import Cloud

REGION = "us-east-1"
JOB = "pipelines-abc123-Spark-x1y2z3-0"
STEP_CONFIG = {"Name": "spark", "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit"]}}


def emr_record(arguments: dict[str, Any], job_name: str | None = JOB) -> StepRecord:
    return StepRecord(
        execution_id="abc123",
        step_name="Spark",
        step_type="EMR",
        status="Stopping",
        job_name=job_name,
        arguments=arguments,
        started_at=datetime.now(UTC),
    )


@pytest.fixture
def emr() -> Iterator[Any]:
    with mock_aws():
        yield aws.client("emr", REGION)


def test_a_running_emr_step_is_found_by_its_job_name_and_cancelled(emr: Any) -> None:
    stubber = Stubber(emr)
    listing = {"ClusterId": "j-1", "StepStates": ["PENDING", "RUNNING"]}
    stubber.add_response(
        "list_steps",
        {
            "Steps": [
                {"Id": "s-OTHER", "Name": "someone-elses-step", "Status": {"State": "RUNNING"}},
                {"Id": "s-OURS", "Name": JOB, "Status": {"State": "RUNNING"}},
            ]
        },
        listing,
    )
    stubber.add_response(
        "cancel_steps",
        {"CancelStepsInfoList": [{"StepId": "s-OURS", "Status": "SUBMITTED", "Reason": ""}]},
        {"ClusterId": "j-1", "StepIds": ["s-OURS"]},
    )
    stubber.add_response("list_steps", {"Steps": []}, listing)  # a stop after the step ended
    services: list[str] = []

    def client(service: str) -> Any:
        services.append(service)
        return emr

    with stubber:
        stop_step_work(client, emr_record({"ClusterId": "j-1", "StepConfig": STEP_CONFIG}))
        stop_step_work(client, emr_record({"ClusterId": "j-1", "StepConfig": STEP_CONFIG}))
        stubber.assert_no_pending_responses()  # nothing cancelled the second time
    assert services == ["emr", "emr"]


def test_a_cluster_that_is_gone_is_not_an_error(emr: Any) -> None:
    stubber = Stubber(emr)  # moto raises KeyError here; EMR answers InvalidRequestException
    stubber.add_client_error("list_steps", "InvalidRequestException", "Cluster id 'j-GONE' is not valid.")
    with stubber:
        stop_step_work(lambda _service: emr, emr_record({"ClusterId": "j-GONE", "StepConfig": {}}))
        stubber.assert_no_pending_responses()


def test_the_cluster_an_emr_step_created_is_terminated_and_no_other(emr: Any) -> None:
    instances = {"InstanceCount": 1, "MasterInstanceType": "m5.xlarge", "KeepJobFlowAliveWhenNoSteps": True}
    ours = emr.run_job_flow(Name=JOB, ReleaseLabel="emr-6.15.0", Instances=instances, JobFlowRole="r")
    other = emr.run_job_flow(Name="not-ours", ReleaseLabel="emr-6.15.0", Instances=instances, JobFlowRole="r")
    record = emr_record({"ClusterConfig": {"ReleaseLabel": "emr-6.15.0"}, "StepConfig": STEP_CONFIG})

    stop_step_work(lambda _service: emr, record)

    state = {
        c: emr.describe_cluster(ClusterId=c)["Cluster"]["Status"]["State"]
        for c in (ours["JobFlowId"], other["JobFlowId"])
    }
    assert state == {ours["JobFlowId"]: "TERMINATED", other["JobFlowId"]: "WAITING"}


def test_steps_without_work_to_stop_make_no_call() -> None:
    def no_client(service: str) -> Any:
        raise AssertionError(f"no {service} call expected")

    stop_step_work(no_client, emr_record({"ClusterId": "j-1", "StepConfig": {}}, job_name=None))
    lambda_record = StepRecord(execution_id="e", step_name="L", step_type="Lambda", job_name="x")
    stop_step_work(no_client, lambda_record)


def test_the_cloud_runtime_cancels_emr_steps_as_the_pipelines_role(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud.register({"Version": "2020-12-01", "Steps": [{"Name": "Spark", "Type": "EMR", "Arguments": {}}]})
    emr = aws.client("emr", REGION)
    stubber = Stubber(emr)
    stubber.add_response(
        "list_steps",
        {"Steps": [{"Id": "s-OURS", "Name": JOB}]},
        {"ClusterId": "j-1", "StepStates": ["PENDING", "RUNNING"]},
    )
    stubber.add_response("cancel_steps", {}, {"ClusterId": "j-1", "StepIds": ["s-OURS"]})
    roles: list[str | None] = []
    real_client = cloud.runtime.aws.client

    def client(service: str, role_arn: str | None = None) -> Any:
        if service != "emr":
            return real_client(service, role_arn)
        roles.append(role_arn)
        return emr

    monkeypatch.setattr(cloud.runtime.aws, "client", client)
    with stubber:
        pipeline = cloud.runtime.engine.pipeline_key("p")
        cloud.runtime._stop_job(emr_record({"ClusterId": "j-1", "StepConfig": STEP_CONFIG}), pipeline)
        stubber.assert_no_pending_responses()
    assert roles == [cloud.role_arn]
