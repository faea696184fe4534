"""The EMRServerless, EndpointConfig and Endpoint routes: their requests, and their StepRunner
states executed by moto's interpreter (moto's EMR Serverless and SageMaker behind them, with the
optimized EMR Serverless integration's casing and ``.sync`` from tests/cloud/moto_patches.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from pipelines.definition import parse_definition
from pipelines.stepfunctions import UnsupportedInCloud, plan_definition, route_for
from pipelines.stepfunctions.asl import ENDPOINT_MAX_POLLS, ENDPOINT_POLL_SECONDS
from pipelines.stepfunctions.requests import step_runner_input

from tests.cloud.moto_patches import Failed, Hold

from .builders import make_step
from .test_sfn_moto_execution import REGION, Cloud, runner_input

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
JOB_ROLE = "arn:aws:iam::123456789012:role/EMRServerlessJobRole"


def _fixture_steps(name: str) -> dict[str, Any]:
    return parse_definition((FIXTURES / f"{name}.json").read_text()).step_map()


# -- requests ---------------------------------------------------------------------------------------


def test_the_v3_sdk_emr_serverless_steps_plan_with_their_routes() -> None:
    planned = {
        p.name: p for p in plan_definition(parse_definition((FIXTURES / "emr_serverless.json").read_text()))
    }
    existing, created = planned["SparkOnExistingApp"], planned["SparkOnNewApp"]
    assert existing.route.value == created.route.value == "EMRServerless"
    assert "arn:aws:states:::emr-serverless:startJobRun.sync" in existing.integrations
    assert existing.input_template is not None and created.input_template is not None
    assert existing.input_template["request"]["ApplicationId"] == "00fabcdefgh12345"
    assert "Application" not in existing.input_template["request"]
    application = created.input_template["request"]["Application"]
    assert application["ReleaseLabel"] == "emr-7.1.0" and application["Name"] == "${JobName}"


def test_job_config_takes_the_integrations_casing_but_keeps_map_keys() -> None:
    step = make_step(
        "EMRServerless",
        {
            "ExecutionRoleArn": JOB_ROLE,
            "ApplicationId": "00app",
            "JobConfig": {
                "executionRoleArn": "arn:aws:iam::123456789012:role/Other",
                "applicationId": "00app",
                "name": "mine",
                "jobDriver": {
                    "sparkSubmit": {"entryPoint": "s3://b/job.py", "sparkSubmitParameters": "--conf a=b"}
                },
                "configurationOverrides": {
                    "applicationConfiguration": [
                        {"classification": "spark-defaults", "properties": {"spark.executor.memory": "4g"}}
                    ]
                },
                "tags": {"team": "ml"},
            },
        },
    )
    runner = step_runner_input(
        step, step.arguments, job_name="job-1", role_arn="r", execution_arn=_EXEC, attempt=1
    )
    assert runner["request"] == {
        "ApplicationId": "00app",
        "JobRun": {
            "ExecutionRoleArn": JOB_ROLE,  # the step's role wins over JobConfig's
            "Name": "job-1",
            "ClientToken": "job-1",
            "JobDriver": {
                "SparkSubmit": {"EntryPoint": "s3://b/job.py", "SparkSubmitParameters": "--conf a=b"}
            },
            "ConfigurationOverrides": {
                "ApplicationConfiguration": [
                    {"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "4g"}}
                ]
            },
            "Tags": {"team": "ml"},
        },
    }


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"ExecutionRoleArn": JOB_ROLE, "JobConfig": {"jobDriver": {}}}, "exactly one of ApplicationId"),
        (
            {
                "ExecutionRoleArn": JOB_ROLE,
                "ApplicationId": "a",
                "ApplicationConfig": {},
                "JobConfig": {"jobDriver": {}},
            },
            "exactly one of ApplicationId",
        ),
        ({"ApplicationId": "a", "JobConfig": {"jobDriver": {}}}, "ExecutionRoleArn"),
        ({"ApplicationId": "a", "ExecutionRoleArn": JOB_ROLE, "JobConfig": {}}, "jobDriver"),
        ({"ApplicationId": "a"}, "JobConfig"),
    ],
)
def test_emr_serverless_steps_that_cannot_run_are_refused_with_the_reason(
    arguments: Any, reason: str
) -> None:
    with pytest.raises(UnsupportedInCloud, match=reason):
        route_for(make_step("EMRServerless", arguments))


def test_an_endpoint_step_without_its_names_is_refused() -> None:
    with pytest.raises(UnsupportedInCloud, match="EndpointConfigName"):
        route_for(make_step("Endpoint", {"EndpointName": "e"}))


def test_endpoint_requests_keep_the_steps_names_and_split_create_from_update() -> None:
    steps = _fixture_steps("deployment")
    config = step_runner_input(
        steps["CreateEndpointConfig"],
        {
            "EndpointConfigName": "abalone-config-x",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m"}],
        },
        job_name="j",
        role_arn="r",
        execution_arn=_EXEC,
        attempt=1,
    )
    assert config["request"]["EndpointConfigName"] == "abalone-config-x"
    unnamed = make_step("EndpointConfig", {"ProductionVariants": [{"VariantName": "v", "ModelName": "m"}]})
    named = step_runner_input(
        unnamed, unnamed.arguments, job_name="j-1", role_arn="r", execution_arn=_EXEC, attempt=1
    )
    assert named["request"]["EndpointConfigName"] == "j-1"
    arguments = {
        "EndpointName": "e",
        "EndpointConfigName": "c",
        "Tags": [],
        "RetainAllVariantProperties": True,
    }
    endpoint = step_runner_input(
        make_step("Endpoint", arguments),
        arguments,
        job_name="j",
        role_arn="r",
        execution_arn=_EXEC,
        attempt=1,
    )
    assert endpoint["request"] == {
        "EndpointName": "e",
        "EndpointConfigName": "c",
        "Create": arguments,
        "Update": {"EndpointName": "e", "EndpointConfigName": "c", "RetainAllVariantProperties": True},
    }


_EXEC = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123def456"


# -- EMR Serverless in moto -------------------------------------------------------------------------


def _emr_serverless_step(cloud: Cloud, **where: Any) -> Any:
    return make_step(
        "EMRServerless",
        {
            "ExecutionRoleArn": cloud.role_arn,
            "JobConfig": {
                "jobDriver": {"sparkSubmit": {"entryPoint": "s3://b/job.py", "entryPointArguments": ["1"]}}
            },
            **where,
        },
    )


def test_a_job_run_on_an_existing_application_reports_its_ids(cloud: Cloud) -> None:
    emr = boto3.client("emr-serverless", region_name=REGION)
    application_id = emr.create_application(name="team-app", releaseLabel="emr-7.1.0", type="SPARK")[
        "applicationId"
    ]
    step = _emr_serverless_step(cloud, ApplicationId=application_id)
    execution = cloud.run("StepRunner", runner_input(cloud, step, job_name="spark-1"))

    assert execution["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    assert "result" in report["outcome"], report["outcome"]
    result = report["outcome"]["result"]
    assert result["ApplicationId"] == application_id
    run = emr.get_job_run(applicationId=application_id, jobRunId=result["JobRunId"])["jobRun"]
    assert run["name"] == "spark-1" and run["state"] == "SUCCESS"
    assert run["jobDriver"] == {"sparkSubmit": {"entryPoint": "s3://b/job.py", "entryPointArguments": ["1"]}}
    # the team's application is theirs: the step neither stops nor deletes it
    assert emr.get_application(applicationId=application_id)["application"]["state"] == "STARTED"


def test_an_application_the_step_creates_is_deleted_after_its_job_run(cloud: Cloud) -> None:
    step = _emr_serverless_step(
        cloud, ApplicationConfig={"name": "mine", "releaseLabel": "emr-7.1.0", "type": "SPARK"}
    )
    execution = cloud.run("StepRunner", runner_input(cloud, step, job_name="spark-2"))

    assert execution["status"] == "SUCCEEDED"
    (report,) = cloud.reports()
    application_id = report["outcome"]["result"]["ApplicationId"]
    application = boto3.client("emr-serverless", region_name=REGION).get_application(
        applicationId=application_id
    )
    assert application["application"]["name"] == "spark-2"
    assert application["application"]["state"] == "TERMINATED"


def test_a_failed_job_run_is_reported_and_its_created_application_still_deleted(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = (
        lambda kind, name, request: Failed("Job failed: exit code 1") if kind == "EMRServerless" else None
    )
    step = _emr_serverless_step(cloud, ApplicationConfig={"releaseLabel": "emr-7.1.0", "type": "SPARK"})
    cloud.run("StepRunner", runner_input(cloud, step, job_name="spark-3"))

    (report,) = cloud.reports()
    error = report["outcome"]["error"]
    assert error["Error"] == "States.TaskFailed"
    failed_run = json.loads(error["Cause"])["jobRun"]
    assert failed_run["state"] == "FAILED" and failed_run["stateDetails"] == "Job failed: exit code 1"
    emr = boto3.client("emr-serverless", region_name=REGION)
    assert (
        emr.get_application(applicationId=failed_run["applicationId"])["application"]["state"] == "TERMINATED"
    )


# -- endpoints in moto ------------------------------------------------------------------------------


def _endpoint_config(name: str) -> str:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_model(ModelName=f"model-{name}", ExecutionRoleArn="arn:aws:iam::123456789012:role/r")
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"model-{name}",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    return name


def _endpoint_step(config: str, name: str = "scoring") -> Any:
    return make_step("Endpoint", {"EndpointName": name, "EndpointConfigName": config, "Tags": []})


def test_an_endpoint_config_step_creates_its_config(cloud: Cloud) -> None:
    boto3.client("sagemaker", region_name=REGION).create_model(
        ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r"
    )
    step = make_step(
        "EndpointConfig",
        {
            "EndpointConfigName": "cfg-1",
            "ProductionVariants": [{"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large"}],
        },
    )
    cloud.run("StepRunner", runner_input(cloud, step))

    (report,) = cloud.reports()
    assert "EndpointConfigArn" in report["outcome"]["result"]
    described = boto3.client("sagemaker", region_name=REGION).describe_endpoint_config(
        EndpointConfigName="cfg-1"
    )
    assert described["ProductionVariants"][0]["ModelName"] == "m"


def test_a_new_endpoint_is_created_and_polled_until_in_service(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = lambda kind, name, request: Hold() if kind == "Endpoint" else None
    step = _endpoint_step(_endpoint_config("cfg-a"))
    polls: list[int] = []

    def release_after_three_polls(wait_seconds: int) -> None:
        if wait_seconds == 0:
            return  # the attempt's backoff
        polls.append(wait_seconds)
        if len(polls) == 3 and "scoring" in cloud.moto.jobs.held:
            cloud.moto.jobs.release("scoring")

    cloud.moto.on_wait = release_after_three_polls
    execution = cloud.run("StepRunner", runner_input(cloud, step))

    assert execution["status"] == "SUCCEEDED"
    assert polls == [ENDPOINT_POLL_SECONDS] * 3  # Creating, Creating, then InService
    (report,) = cloud.reports()
    result = report["outcome"]["result"]
    assert result["EndpointName"] == "scoring" and result["EndpointStatus"] == "InService"


def test_an_existing_endpoint_is_updated_to_the_new_config(cloud: Cloud) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_endpoint(EndpointName="Scoring", EndpointConfigName=_endpoint_config("cfg-old"))
    step = _endpoint_step(_endpoint_config("cfg-new"), name="Scoring")
    cloud.run("StepRunner", runner_input(cloud, step))

    (report,) = cloud.reports()
    assert report["outcome"]["result"]["EndpointConfigName"] == "cfg-new"
    assert sagemaker.describe_endpoint(EndpointName="Scoring")["EndpointConfigName"] == "cfg-new"
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == [
        "Scoring"
    ]  # not created again


def test_a_failed_endpoint_reports_its_failure_reason(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = (
        lambda kind, name, request: Failed("Image pull failed") if kind == "Endpoint" else None
    )
    cloud.run("StepRunner", runner_input(cloud, _endpoint_step(_endpoint_config("cfg-b"))))

    (report,) = cloud.reports()
    cause = json.loads(report["outcome"]["error"]["Cause"])
    assert report["outcome"]["error"]["Error"] == "States.TaskFailed"
    assert (cause["EndpointStatus"], cause["FailureReason"]) == ("Failed", "Image pull failed")


def test_an_update_that_rolls_back_fails_the_step(cloud: Cloud) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.create_endpoint(EndpointName="scoring", EndpointConfigName=_endpoint_config("cfg-live"))
    cloud.moto.jobs.decide = (
        lambda kind, name, request: Failed("health check failed") if kind == "Endpoint" else None
    )
    cloud.run("StepRunner", runner_input(cloud, _endpoint_step(_endpoint_config("cfg-broken"))))

    (report,) = cloud.reports()
    cause = json.loads(report["outcome"]["error"]["Cause"])
    assert cause["EndpointStatus"] == "InService" and cause["EndpointConfigName"] == "cfg-live"
    assert cause["RequestedEndpointConfigName"] == "cfg-broken"


def test_an_endpoint_that_never_comes_up_times_out_after_the_bounded_polls(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = lambda kind, name, request: Hold() if kind == "Endpoint" else None
    cloud.run("StepRunner", runner_input(cloud, _endpoint_step(_endpoint_config("cfg-c"))))

    (report,) = cloud.reports()
    error = report["outcome"]["error"]
    assert error["Error"] == "States.Timeout"
    assert f"after {ENDPOINT_MAX_POLLS} polls" in error["Cause"] and "last status: Creating" in error["Cause"]
    assert cloud.moto.waits.count(ENDPOINT_POLL_SECONDS) == ENDPOINT_MAX_POLLS
