"""The jobs a pipeline ran, through real boto3 clients against ``pipelines serve``: Describe*,
List* (filters, sorting, paging), Stop*Job, the CloudWatch Logs subset over their logs, and STS.

The server is strict: every response is checked against botocore's output shape."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE, Served

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1"
SAY = "import sys\nfor i in range(3):\n    print(f'{sys.argv[1]} line {i}', flush=True)\n"
SLOW = "import time\nprint('slow started', flush=True)\ntime.sleep(60)\n"


def processing(name: str, script: str, *args: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "-c", script, *args]},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            "RoleArn": ROLE,
        },
    }


def training(name: str) -> dict[str, Any]:
    script = (
        "import pathlib\nprint('fitting', flush=True)\npathlib.Path('/opt/ml/model/m.txt').write_text('m')\n"
    )
    return {
        "Name": name,
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": ["python3", "-c", script],
            },
            "OutputDataConfig": {"S3OutputPath": "s3://jobs-api/models"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "RoleArn": ROLE,
            "HyperParameters": {"depth": "3"},
        },
    }


def definition(*steps: dict[str, Any]) -> str:
    import json

    return json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": list(steps)})


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.2)


def run(served: Served, name: str, text: str) -> tuple[Any, str]:
    sm = served.client("sagemaker")
    sm.create_pipeline(PipelineName=name, PipelineDefinition=text, RoleArn=ROLE)
    arn = sm.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
    return sm, arn


def finished(sm: Any, arn: str) -> str | None:
    status = sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
    return status if status not in ("Executing", "Stopping") else None


def job_names(sm: Any, arn: str) -> dict[str, str]:
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    names = {}
    for step in steps:
        for meta in step.get("Metadata", {}).values():
            if isinstance(meta, dict) and "Arn" in meta:
                names[step["StepName"]] = meta["Arn"].rpartition("/")[2]
    return names


@pytest.fixture
def ran(served: Served) -> tuple[Served, Any, str, dict[str, str]]:
    text = definition(processing("SayA", SAY, "alpha"), processing("SayB", SAY, "beta"), training("Fit"))
    sm, arn = run(served, "jobs-api", text)
    assert wait_for(lambda: finished(sm, arn)) == "Succeeded"
    return served, sm, arn, job_names(sm, arn)


def test_describe_returns_the_step_properties(ran: tuple[Served, Any, str, dict[str, str]]) -> None:
    served, sm, arn, names = ran
    steps = {
        s["StepName"]: s
        for s in sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    }
    described = sm.describe_processing_job(ProcessingJobName=names["SayA"])
    assert described["ProcessingJobStatus"] == "Completed"
    assert described["ProcessingJobArn"] == steps["SayA"]["Metadata"]["ProcessingJob"]["Arn"]
    assert described["AppSpecification"]["ContainerEntrypoint"][-1] == "alpha"
    assert described["ProcessingEndTime"] >= described["ProcessingStartTime"]

    # the job name as the ARN carries it (lower-cased), the way the SDK derives it
    fit = sm.describe_training_job(TrainingJobName=names["Fit"])
    assert fit["TrainingJobStatus"] == "Completed" and fit["SecondaryStatus"] == "Completed"
    assert fit["ModelArtifacts"]["S3ModelArtifacts"].startswith("s3://jobs-api/models/")
    assert fit["HyperParameters"] == {"depth": "3"}

    with pytest.raises(ClientError) as missing:
        sm.describe_training_job(TrainingJobName="no-such-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as other_account:
        served.client("sagemaker", "AKIDREADER").describe_processing_job(ProcessingJobName=names["SayA"])
    assert other_account.value.response["Error"]["Code"] == "ResourceNotFound"


def test_list_filters_sorts_and_pages(ran: tuple[Served, Any, str, dict[str, str]]) -> None:
    _served, sm, _arn, names = ran
    everything = sm.list_processing_jobs(SortBy="Name", SortOrder="Ascending")["ProcessingJobSummaries"]
    # ARNs carry names lower-cased; the records keep the name as the job was created
    assert [s["ProcessingJobName"].lower() for s in everything] == sorted([names["SayA"], names["SayB"]])
    first = sm.list_processing_jobs(MaxResults=1, SortBy="Name", SortOrder="Ascending")
    assert len(first["ProcessingJobSummaries"]) == 1 and first["NextToken"]
    second = sm.list_processing_jobs(
        MaxResults=1, SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [s["ProcessingJobName"] for s in second["ProcessingJobSummaries"]] == [
        everything[1]["ProcessingJobName"]
    ]
    assert "NextToken" not in second
    paged = [
        s["ProcessingJobName"]
        for page in sm.get_paginator("list_processing_jobs").paginate(PaginationConfig={"PageSize": 1})
        for s in page["ProcessingJobSummaries"]
    ]
    assert sorted(n.lower() for n in paged) == sorted([names["SayA"], names["SayB"]])

    contains = sm.list_processing_jobs(NameContains=names["SayB"][-12:].upper())["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"].lower() for s in contains] == [names["SayB"]]
    assert sm.list_processing_jobs(StatusEquals="Failed")["ProcessingJobSummaries"] == []
    created = sm.describe_processing_job(ProcessingJobName=names["SayA"])["CreationTime"]
    later = sm.list_processing_jobs(CreationTimeAfter=created)["ProcessingJobSummaries"]
    assert names["SayA"] not in [s["ProcessingJobName"].lower() for s in later]
    trainings = sm.list_training_jobs()["TrainingJobSummaries"]
    assert [(s["TrainingJobName"].lower(), s["TrainingJobStatus"]) for s in trainings] == [
        (names["Fit"], "Completed")
    ]
    assert sm.list_transform_jobs()["TransformJobSummaries"] == []
    assert sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []

    with pytest.raises(ClientError) as bad_token:
        sm.list_processing_jobs(NextToken="garbage")
    assert bad_token.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as no_tuning:
        sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="nope")
    assert no_tuning.value.response["Error"]["Code"] == "ResourceNotFound"


def test_stopping_a_completed_job_is_refused(ran: tuple[Served, Any, str, dict[str, str]]) -> None:
    _served, sm, _arn, names = ran
    with pytest.raises(ClientError) as refused:
        sm.stop_processing_job(ProcessingJobName=names["SayA"])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Completed" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        sm.stop_training_job(TrainingJobName="no-such-job")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"


def test_stop_processing_job_stops_a_running_job(served: Served) -> None:
    sm, arn = run(served, "slow", definition(processing("Slow", SLOW)))
    name = wait_for(lambda: job_names(sm, arn).get("Slow"))
    running = wait_for(
        lambda: [s for s in sm.list_processing_jobs(StatusEquals="InProgress")["ProcessingJobSummaries"]]
    )
    assert [s["ProcessingJobName"].lower() for s in running] == [name]
    logs = served.client("logs")
    wait_for(
        lambda: logs.filter_log_events(logGroupName="/aws/sagemaker/ProcessingJobs", filterPattern="slow")[
            "events"
        ]
    )
    started = time.monotonic()
    sm.stop_processing_job(ProcessingJobName=name)
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    assert wait_for(lambda: finished(sm, arn), timeout=30) in ("Failed", "Stopped")
    assert time.monotonic() - started < 30  # the 60 s sleep was cut short
    described = sm.describe_processing_job(ProcessingJobName=name)
    assert described["ProcessingJobStatus"] == "Stopped" and described["FailureReason"]


def test_logs_serve_each_job_stream(ran: tuple[Served, Any, str, dict[str, str]]) -> None:
    served, sm, _arn, names = ran
    logs = served.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    name = sm.describe_processing_job(ProcessingJobName=names["SayA"])["ProcessingJobName"]
    streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=name + "/")["logStreams"]
    assert [s["logStreamName"].partition("/")[0] for s in streams] == [name]
    stream = streams[0]["logStreamName"]
    assert stream.partition("/")[2].startswith("algo-1-")

    first = logs.describe_log_streams(logGroupName=group, limit=1)
    second = logs.describe_log_streams(logGroupName=group, limit=1, nextToken=first["nextToken"])
    paged = [s["logStreamName"] for s in first["logStreams"] + second["logStreams"]]
    assert len(paged) == 2 and "nextToken" not in second and paged == sorted(paged)

    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert [e["message"] for e in events["events"]] == ["alpha line 0", "alpha line 1", "alpha line 2"]
    again = logs.get_log_events(
        logGroupName=group, logStreamName=stream, nextToken=events["nextForwardToken"]
    )
    assert again["events"] == [] and again["nextForwardToken"] == events["nextForwardToken"]
    one = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=1)
    assert [e["message"] for e in one["events"]] == ["alpha line 0"]
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1)
    assert [e["message"] for e in tail["events"]] == ["alpha line 2"]

    found = logs.filter_log_events(logGroupName=group, filterPattern='"line 1"')
    assert sorted(e["message"] for e in found["events"]) == ["alpha line 1", "beta line 1"]
    only_beta = logs.filter_log_events(logGroupName=group, filterPattern="line -alpha", limit=2)
    assert [e["message"] for e in only_beta["events"]] == ["beta line 0", "beta line 1"] and only_beta[
        "nextToken"
    ]
    rest = logs.filter_log_events(
        logGroupName=group, filterPattern="line -alpha", limit=2, nextToken=only_beta["nextToken"]
    )
    assert [e["message"] for e in rest["events"]] == ["beta line 2"]
    fitting = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs")["events"]
    assert "fitting" in [e["message"] for e in fitting]

    for call, code in (
        (lambda: logs.describe_log_streams(logGroupName="/aws/other"), "ResourceNotFoundException"),
        (
            lambda: logs.get_log_events(logGroupName=group, logStreamName="nope/algo-1-1"),
            "ResourceNotFoundException",
        ),
        (
            lambda: logs.filter_log_events(logGroupName=group, filterPattern="{ $.a = 1 }"),
            "InvalidParameterException",
        ),
        (
            lambda: logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken="x"),
            "InvalidParameterException",
        ),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == code


def test_sts_answers_with_the_callers_account(served: Served) -> None:
    assert served.client("sts").get_caller_identity()["Account"] == "000000000000"
    identity = served.client("sts", "AKIDREADER").get_caller_identity()
    assert (identity["Account"], identity["Arn"]) == ("111111111111", "arn:aws:iam::111111111111:root")


def test_each_request_is_logged_with_its_outcome(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pipelines.api.requests")
    sm = served.client("sagemaker")
    sm.list_pipelines()
    with pytest.raises(ClientError):
        sm.describe_processing_job(ProcessingJobName="missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "pipelines.api.requests"]
    assert any(line.startswith("POST sagemaker SageMaker.ListPipelines 200 ") for line in lines), lines
    assert any(
        line.startswith("POST sagemaker SageMaker.DescribeProcessingJob 400 ") for line in lines
    ), lines
    assert all(line.endswith(" ms") for line in lines)


SCORE = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--size', type=float)\nprint(f'objective: {p.parse_args().size}')\n"


def tuning(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Tuning",
        "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Grid",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "objective"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "IntegerParameterRanges": [
                        {"Name": "size", "MinValue": "1", "MaxValue": "3", "ScalingType": "Auto"}
                    ]
                },
                "TrainingJobEarlyStoppingType": "Off",
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {
                    "sagemaker_program": '"score.py"',
                    "sagemaker_submit_directory": '"s3://jobs-api/code/sourcedir.tar.gz"',
                },
                "AlgorithmSpecification": {
                    "TrainingImage": IMAGE,
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "objective", "Regex": r"objective: ([0-9\.]+)"}],
                },
                "RoleArn": ROLE,
                "OutputDataConfig": {"S3OutputPath": "s3://jobs-api/tuning"},
                "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            },
        },
    }


def test_a_tuning_job_and_its_trials(served: Served) -> None:
    import io
    import tarfile

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("score.py")
        info.size = len(SCORE.encode())
        tar.addfile(info, io.BytesIO(SCORE.encode()))
    s3 = served.client("s3")
    s3.create_bucket(Bucket="jobs-api")
    s3.put_object(Bucket="jobs-api", Key="code/sourcedir.tar.gz", Body=archive.getvalue())
    sm, arn = run(served, "tuned", definition(tuning("Tune")))
    assert wait_for(lambda: finished(sm, arn), timeout=120) == "Succeeded"
    name = job_names(sm, arn)["Tune"]

    (summary,) = sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert summary["HyperParameterTuningJobName"].lower() == name and summary["Strategy"] == "Grid"
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["BestTrainingJob"]["TunedHyperParameters"] == {"size": "3"}
    assert described["TrainingJobStatusCounters"]["Completed"] == 3

    best_first = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", MaxResults=2
    )
    values = [
        s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in best_first["TrainingJobSummaries"]
    ]
    assert values == [3.0, 2.0] and best_first["NextToken"]
    rest = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        SortBy="FinalObjectiveMetricValue",
        MaxResults=2,
        NextToken=best_first["NextToken"],
    )
    assert [
        s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in rest["TrainingJobSummaries"]
    ] == [1.0]
    trial = best_first["TrainingJobSummaries"][0]["TrainingJobName"]
    assert (
        sm.describe_training_job(TrainingJobName=trial)["TuningJobArn"]
        == described["HyperParameterTuningJobArn"]
    )
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []  # trials are the tuning job's
    assert (
        sm.list_training_jobs_for_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=name, StatusEquals="Failed"
        )["TrainingJobSummaries"]
        == []
    )
