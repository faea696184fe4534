"""EndpointConfig, Endpoint and EMRServerless steps through the whole cloud runtime on moto: the
engine starts their StepRunners, reads their properties as the pipeline's role, surfaces their
failures as the step's FailureReason, and stops a running EMR Serverless job run."""

from __future__ import annotations

import json
from typing import Any

from pipelines import aws

from tests.cloud.harness import Cloud, wait_until
from tests.cloud.moto_patches import Failed, Hold
from tests.cloud.scenarios import REGION, function_arn, get, lambda_step, pipeline

MODEL = "abalone-model"


def deployment(cloud: Cloud) -> dict[str, Any]:
    cloud.sagemaker.create_model(ModelName=MODEL, ExecutionRoleArn=cloud.role_arn)
    return pipeline(
        {
            "Name": "Config",
            "Type": "EndpointConfig",
            "Arguments": {
                "EndpointConfigName": {
                    "Std:Join": {"On": "-", "Values": ["abalone", get("Execution.PipelineExecutionId")]}
                },
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": MODEL,
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            },
        },
        {
            "Name": "Deploy",
            "Type": "Endpoint",
            "Arguments": {
                "EndpointName": "abalone",
                "EndpointConfigName": get("Steps.Config.EndpointConfigName"),
                "Tags": [],
            },
        },
    )


def test_a_deployment_creates_the_endpoint_then_a_second_run_updates_it(cloud: Cloud) -> None:
    cloud.register(json.dumps(deployment(cloud)))
    first = cloud.run()
    second = cloud.run()

    assert (first.status, second.status) == ("Succeeded", "Succeeded")
    deployed = cloud.steps(second.execution_id)["Deploy"]
    assert deployed.properties is not None
    assert deployed.properties["EndpointStatus"] == "InService"
    assert deployed.properties["EndpointConfigName"] == f"abalone-{second.execution_id}"
    assert deployed.metadata == {"Endpoint": {"Arn": deployed.properties["EndpointArn"]}}
    config = cloud.steps(second.execution_id)["Config"]
    assert config.metadata == {
        "EndpointConfig": {"Arn": config.properties and config.properties["EndpointConfigArn"]}
    }
    live = cloud.sagemaker.describe_endpoint(EndpointName="abalone")
    assert live["EndpointConfigName"] == f"abalone-{second.execution_id}"
    assert len(cloud.sagemaker.list_endpoints()["Endpoints"]) == 1


def test_an_endpoint_that_fails_fails_its_step_with_the_failure_reason(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = lambda kind, name, request: (
        Failed("The primary container failed the ping health check.") if kind == "Endpoint" else None
    )
    cloud.register(json.dumps(deployment(cloud)))
    final = cloud.run()

    assert final.status == "Failed"
    deployed = cloud.steps(final.execution_id)["Deploy"]
    assert (deployed.status, deployed.failure_reason) == (
        "Failed",
        "The primary container failed the ping health check.",
    )


def test_an_update_that_rolls_back_names_the_config_still_served(cloud: Cloud) -> None:
    cloud.register(json.dumps(deployment(cloud)))
    first = cloud.run()
    cloud.moto.jobs.decide = lambda kind, name, request: (
        Failed("health check failed") if kind == "Endpoint" else None
    )
    second = cloud.run()

    deployed = cloud.steps(second.execution_id)["Deploy"]
    assert deployed.failure_reason == (
        f"The update of endpoint abalone to EndpointConfig abalone-{second.execution_id} was rolled back; "
        f"it still serves abalone-{first.execution_id}: health check failed"
    )


def spark(cloud: Cloud, **where: Any) -> dict[str, Any]:
    return {
        "Name": "Spark",
        "Type": "EMRServerless",
        "Arguments": {
            "ExecutionRoleArn": cloud.role_arn,
            "JobConfig": {
                "executionRoleArn": cloud.role_arn,
                "jobDriver": {
                    "sparkSubmit": {
                        "entryPoint": "s3://data/job.py",
                        "entryPointArguments": ["--rows", "100"],
                    }
                },
                "configurationOverrides": {
                    "monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://data/logs/"}}
                },
            },
            **where,
        },
    }


NEW_APPLICATION = {"ApplicationConfig": {"name": "spark-app", "releaseLabel": "emr-7.1.0", "type": "SPARK"}}


def test_an_emr_serverless_step_has_its_job_run_as_properties_for_later_steps(cloud: Cloud) -> None:
    cloud.function("after", lambda event, _ctx: {"state": event["state"]})
    cloud.register(
        json.dumps(
            pipeline(
                spark(cloud, **NEW_APPLICATION),
                lambda_step(
                    "After", "after", {"state": get("Steps.Spark.jobRun.state")}, {"state": "String"}
                ),
            )
        )
    )
    final = cloud.run()

    assert final.status == "Succeeded"
    steps = cloud.steps(final.execution_id)
    run = steps["Spark"].properties and steps["Spark"].properties["jobRun"]
    assert run and run["state"] == "SUCCESS" and run["name"] == steps["Spark"].job_name
    assert steps["Spark"].metadata == {
        "EMRServerless": {
            "ApplicationId": run["applicationId"],
            "JobRunId": run["jobRunId"],
            "JobRunName": steps["Spark"].job_name,
            "LogFilePath": "s3://data/logs/",
        }
    }
    assert steps["After"].properties == {"OutputParameters": [{"Name": "state", "Value": "SUCCESS"}]}
    emr = aws.client("emr-serverless", REGION)
    assert emr.get_application(applicationId=run["applicationId"])["application"]["state"] == "TERMINATED"
    assert function_arn("after") in json.dumps(steps["After"].metadata)


def test_a_failed_job_run_fails_the_step_with_its_state_details(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = lambda kind, name, request: (
        Failed("Job failed, ExitCode: 1. Last few exceptions: ValueError")
        if kind == "EMRServerless"
        else None
    )
    cloud.register(json.dumps(pipeline(spark(cloud, **NEW_APPLICATION))))
    final = cloud.run()

    spark_step = cloud.steps(final.execution_id)["Spark"]
    assert final.status == "Failed"
    assert spark_step.failure_reason is not None
    assert spark_step.failure_reason.startswith("EMR Serverless job run ")
    assert spark_step.failure_reason.endswith(
        " ended FAILED: Job failed, ExitCode: 1. Last few exceptions: ValueError"
    )


def test_stopping_cancels_the_running_job_run_as_the_pipeline_role(cloud: Cloud) -> None:
    emr = aws.client("emr-serverless", REGION)
    application_id = emr.create_application(name="team", releaseLabel="emr-7.1.0", type="SPARK")[
        "applicationId"
    ]
    cloud.moto.jobs.decide = lambda kind, name, request: Hold() if kind == "EMRServerless" else None
    cloud.register(json.dumps(pipeline(spark(cloud, ApplicationId=application_id))))
    started = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    cloud.api.stop(started.execution_arn)
    final = cloud.wait(started.execution_arn)

    spark_step = cloud.steps(final.execution_id)["Spark"]
    assert (final.status, spark_step.status) == ("Stopped", "Stopped")
    assert cloud.moto.jobs.stopped == [("EMRServerless", spark_step.job_name)]
    (run,) = emr.list_job_runs(applicationId=application_id)["jobRuns"]
    assert run["state"] == "CANCELLED"


def test_a_cleanup_deletes_the_application_a_stopped_attempt_created(cloud: Cloud) -> None:
    """A stopped attempt has no properties to name its application by: the Cleanup that handles
    the stop finds it by the attempt's job name and deletes it as the pipeline role."""
    cloud.moto.jobs.decide = lambda kind, name, request: Hold() if kind == "EMRServerless" else None
    cleanup = {
        "Name": "DropApplication",
        "Type": "Cleanup",
        "Arguments": {"Resources": {"EMRServerless": [{"StepName": "Spark"}]}},
        "DependsOn": [{"Step": "Spark", "Trigger": "Stopped"}],
    }
    cloud.register(json.dumps(pipeline(spark(cloud, **NEW_APPLICATION), cleanup)))
    started = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    emr = aws.client("emr-serverless", REGION)
    (application,) = emr.list_applications()["applications"]
    cloud.api.stop(started.execution_arn)
    final = cloud.wait(started.execution_arn)

    steps = cloud.steps(final.execution_id)
    assert (final.status, steps["Spark"].status, steps["Spark"].properties) == ("Stopped", "Stopped", None)
    assert application["name"] == steps["Spark"].job_name
    assert steps["DropApplication"].status == "Succeeded", steps["DropApplication"].failure_reason
    assert steps["DropApplication"].metadata["Cleanup"] == {
        "CleanedSteps": ["Spark"],
        "FailedSteps": [],
        "SkippedSteps": [],
    }
    assert emr.get_application(applicationId=application["id"])["application"]["state"] == "TERMINATED"
