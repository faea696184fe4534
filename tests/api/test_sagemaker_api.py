"""Every SageMaker pipeline operation through a real boto3 client against ``pipelines serve``
(strict mode: every response is checked against botocore's output shapes by the server)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE, Served, condition_definition


def wait_done(sm: Any, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if answer["PipelineExecutionStatus"] not in ("Executing", "Stopping") or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture
def sm(served: Served) -> Any:
    return served.client("sagemaker")


def create(sm: Any, name: str = "demo", definition: str | None = None, **extra: Any) -> str:
    return str(
        sm.create_pipeline(
            PipelineName=name, PipelineDefinition=definition or condition_definition(), RoleArn=ROLE, **extra
        )["PipelineArn"]
    )


def test_create_describe_update_versions_delete(sm: Any) -> None:
    arn = create(
        sm,
        description := "Demo",
        PipelineDescription="first",
        ParallelismConfiguration={"MaxParallelExecutionSteps": 2},
    )
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:pipeline/Demo"  # the name keeps its case
    described = sm.describe_pipeline(PipelineName="Demo")
    assert described["PipelineStatus"] == "Active" and described["PipelineDescription"] == "first"
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}
    assert sm.describe_pipeline(PipelineName=arn)["PipelineName"] == description  # by ARN
    assert (
        sm.describe_pipeline(PipelineName=arn.lower())["PipelineName"] == description
    )  # ARNs match in any case

    changed = condition_definition(with_lambda=True)
    updated = sm.update_pipeline(
        PipelineName="Demo", PipelineDefinition=changed, PipelineDescription="second"
    )
    assert updated["PipelineVersionId"] == 2
    assert sm.update_pipeline(PipelineName="Demo", PipelineDescription="third")["PipelineVersionId"] == 2
    versions = sm.list_pipeline_versions(PipelineName="Demo")["PipelineVersionSummaries"]
    assert sorted(v["PipelineVersionId"] for v in versions) == [1, 2]
    old = sm.describe_pipeline(PipelineName="Demo", PipelineVersionId=1)
    assert json.loads(old["PipelineDefinition"]) == json.loads(condition_definition())
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_pipeline(PipelineName="Demo", PipelineVersionId=7)

    assert sm.delete_pipeline(PipelineName="Demo")["PipelineArn"] == arn
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_pipeline(PipelineName="Demo")


def test_duplicate_create_says_already_exists_as_the_sdk_expects(sm: Any) -> None:
    create(sm)
    with pytest.raises(ClientError) as caught:
        create(sm)
    assert error_code(caught) == "ValidationException"
    assert "already exists" in caught.value.response["Error"]["Message"]


def test_create_idempotency_token_replays_and_rejects_reuse(sm: Any) -> None:
    token = uuid.uuid4().hex
    first = create(sm, ClientRequestToken=token)
    assert create(sm, ClientRequestToken=token) == first
    with pytest.raises(ClientError) as caught:
        create(sm, name="other", ClientRequestToken=token)
    assert error_code(caught) == "ValidationException"


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        ("{not json", "invalid pipeline definition"),
        (
            json.dumps(
                {"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Fail", "DependsOn": ["B"]}]}
            ),
            "B",
        ),
    ],
)
def test_invalid_definitions_are_validation_errors(sm: Any, definition: str, fragment: str) -> None:
    with pytest.raises(ClientError) as caught:
        create(sm, definition=definition)
    assert (
        error_code(caught) == "ValidationException" and fragment in caught.value.response["Error"]["Message"]
    )


def test_definition_from_s3_location(served: Served, sm: Any) -> None:
    s3 = served.client("s3")
    s3.create_bucket(Bucket="defs")
    s3.put_object(Bucket="defs", Key="p.json", Body=condition_definition().encode())
    arn = sm.create_pipeline(
        PipelineName="froms3",
        PipelineDefinitionS3Location={"Bucket": "defs", "ObjectKey": "p.json"},
        RoleArn=ROLE,
    )["PipelineArn"]
    assert json.loads(sm.describe_pipeline(PipelineName=arn)["PipelineDefinition"]) == json.loads(
        condition_definition()
    )
    with pytest.raises(ClientError) as caught:
        sm.create_pipeline(
            PipelineName="missing",
            PipelineDefinitionS3Location={"Bucket": "defs", "ObjectKey": "no.json"},
            RoleArn=ROLE,
        )
    assert error_code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        sm.create_pipeline(PipelineName="neither", RoleArn=ROLE)
    assert error_code(caught) == "ValidationException"


def test_list_pipelines_paginates_sorts_and_filters(sm: Any) -> None:
    for name in ["alpha", "beta", "gamma"]:
        create(sm, name)
    page = sm.list_pipelines(MaxResults=2, SortBy="Name", SortOrder="Ascending")
    assert [p["PipelineName"] for p in page["PipelineSummaries"]] == ["alpha", "beta"]
    rest = sm.list_pipelines(MaxResults=2, SortBy="Name", SortOrder="Ascending", NextToken=page["NextToken"])
    assert [p["PipelineName"] for p in rest["PipelineSummaries"]] == ["gamma"] and "NextToken" not in rest
    assert [p["PipelineName"] for p in sm.list_pipelines(PipelineNamePrefix="ga")["PipelineSummaries"]] == [
        "gamma"
    ]
    with pytest.raises(ClientError) as caught:
        sm.list_pipelines(NextToken="garbage")
    assert error_code(caught) == "ValidationException"


def test_execution_lifecycle_steps_parameters_definition(sm: Any) -> None:
    arn = create(sm, definition=condition_definition(with_lambda=True))
    started = sm.start_pipeline_execution(
        PipelineName="demo",
        PipelineParameters=[{"Name": "Threshold", "Value": "0.9"}],
        PipelineExecutionDisplayName="first-run",
        PipelineExecutionDescription="runs the lambda",
        ParallelismConfiguration={"MaxParallelExecutionSteps": 1},
    )["PipelineExecutionArn"]
    assert started.startswith(arn + "/execution/") and len(started.rsplit("/", 1)[1]) == 12
    done = wait_done(sm, started)
    assert done["PipelineExecutionStatus"] == "Succeeded", done
    assert done["PipelineExecutionDisplayName"] == "first-run"
    assert done["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 1}
    assert done["PipelineExperimentConfig"]["ExperimentName"] == "demo"
    steps = {
        s["StepName"]: s
        for s in sm.list_pipeline_execution_steps(PipelineExecutionArn=started)["PipelineExecutionSteps"]
    }
    assert set(steps) == {"Check", "Double"}
    assert steps["Check"]["Metadata"] == {"Condition": {"Outcome": "True"}}
    assert steps["Double"]["AttemptCount"] == 1 and steps["Double"]["StepStatus"] == "Succeeded"
    assert {"Name": "doubled", "Value": "42"} in steps["Double"]["Metadata"]["Lambda"]["OutputParameters"]
    assert sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=started)["PipelineParameters"] == [
        {"Name": "Threshold", "Value": "0.9"}
    ]
    snapshot = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=started)
    assert json.loads(snapshot["PipelineDefinition"]) == json.loads(condition_definition(with_lambda=True))
    summaries = sm.list_pipeline_executions(PipelineName="demo")["PipelineExecutionSummaries"]
    assert [s["PipelineExecutionArn"] for s in summaries] == [started]
    assert sm.describe_pipeline(PipelineName="demo")["LastRunTime"] is not None


def test_failed_execution_reports_the_fail_step(sm: Any) -> None:
    create(sm)
    arn = sm.start_pipeline_execution(
        PipelineName="demo", PipelineParameters=[{"Name": "Threshold", "Value": "0.1"}]
    )["PipelineExecutionArn"]
    done = wait_done(sm, arn)
    assert (
        done["PipelineExecutionStatus"] == "Failed"
        and done["FailureReason"] == "Step failure: One or multiple steps failed. Failed steps: TooLow."
    )
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")[
        "PipelineExecutionSteps"
    ]
    fail = next(s for s in steps if s["StepName"] == "TooLow")
    assert fail["Metadata"] == {"Fail": {"ErrorMessage": "too low"}} and fail["StepStatus"] == "Failed"
    assert fail["FailureReason"] == "too low"
    with pytest.raises(ClientError):  # an execution that ended at a Fail step cannot be retried
        sm.retry_pipeline_execution(PipelineExecutionArn=arn)


def test_start_errors(sm: Any) -> None:
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.start_pipeline_execution(PipelineName="nope")
    create(sm)
    with pytest.raises(ClientError) as caught:
        sm.start_pipeline_execution(
            PipelineName="demo", PipelineParameters=[{"Name": "Unknown", "Value": "1"}]
        )
    assert error_code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        sm.start_pipeline_execution(
            PipelineName="demo", PipelineParameters=[{"Name": "Threshold", "Value": "abc"}]
        )
    assert error_code(caught) == "ValidationException"
    with pytest.raises(sm.exceptions.ResourceNotFound, match="alias prod"):
        sm.start_pipeline_execution(PipelineName="demo", PipelineVersionAlias="prod")


def test_start_an_older_pipeline_version_runs_its_definition(sm: Any) -> None:
    create(sm)
    updated = sm.update_pipeline(
        PipelineName="demo", PipelineDefinition=condition_definition(with_lambda=True)
    )
    assert updated["PipelineVersionId"] == 2
    old = sm.start_pipeline_execution(
        PipelineName="demo", PipelineVersionId=1, PipelineParameters=[{"Name": "Threshold", "Value": "0.9"}]
    )["PipelineExecutionArn"]
    done = wait_done(sm, old)
    assert done["PipelineExecutionStatus"] == "Succeeded" and done["PipelineVersionId"] == 1
    snapshot = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=old)
    assert json.loads(snapshot["PipelineDefinition"]) == json.loads(condition_definition())
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=old)["PipelineExecutionSteps"]
    assert [s["StepName"] for s in steps] == ["Check"]  # version 2's Lambda step is not in version 1

    latest = sm.start_pipeline_execution(
        PipelineName="demo", PipelineParameters=[{"Name": "Threshold", "Value": "0.1"}]
    )["PipelineExecutionArn"]
    assert wait_done(sm, latest)["PipelineVersionId"] == 2
    snapshot = sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=latest)
    assert json.loads(snapshot["PipelineDefinition"]) == json.loads(condition_definition(with_lambda=True))
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.start_pipeline_execution(PipelineName="demo", PipelineVersionId=7)


def mlflow_definition(experiment: Any = None) -> str:
    """The condition pipeline with a top-level MlflowConfig, as the v3 SDK emits it."""
    text = json.loads(condition_definition())
    text["Parameters"].append({"Name": "Experiment", "Type": "String", "DefaultValue": "from-parameter"})
    config: dict[str, Any] = {"MlflowResourceArn": TRACKING_SERVER}
    if experiment is not None:
        config["MlflowExperimentName"] = experiment
    text["MlflowConfig"] = config
    return json.dumps(text)


TRACKING_SERVER = "arn:aws:sagemaker:us-east-1:000000000000:mlflow-tracking-server/ts"


def test_start_records_the_mlflow_experiment_and_the_caller(sm: Any) -> None:
    create(sm, "plain")
    plain = sm.start_pipeline_execution(PipelineName="plain")["PipelineExecutionArn"]
    described = sm.describe_pipeline_execution(PipelineExecutionArn=plain)
    assert "MLflowConfig" not in described  # no MlflowConfig in the definition: nothing to log
    assert described["CreatedBy"] == {
        "IamIdentity": {"Arn": "arn:aws:iam::000000000000:root", "PrincipalId": "000000000000"}
    }
    assert described["LastModifiedBy"] == described["CreatedBy"]

    create(sm, "tracked", mlflow_definition({"Get": "Parameters.Experiment"}))
    default = sm.start_pipeline_execution(PipelineName="tracked")["PipelineExecutionArn"]
    assert sm.describe_pipeline_execution(PipelineExecutionArn=default)["MLflowConfig"] == {
        "MlflowResourceArn": TRACKING_SERVER,
        "MlflowExperimentName": "from-parameter",  # the definition's expression, resolved
    }
    overridden = sm.start_pipeline_execution(PipelineName="tracked", MlflowExperimentName="per-run")[
        "PipelineExecutionArn"
    ]
    assert sm.describe_pipeline_execution(PipelineExecutionArn=overridden)["MLflowConfig"] == {
        "MlflowResourceArn": TRACKING_SERVER,
        "MlflowExperimentName": "per-run",
    }

    create(sm, "unnamed", mlflow_definition())
    unnamed = sm.start_pipeline_execution(PipelineName="unnamed")["PipelineExecutionArn"]
    config = sm.describe_pipeline_execution(PipelineExecutionArn=unnamed)["MLflowConfig"]
    assert config["MlflowExperimentName"] == "unnamed"  # the pipeline name
    for arn in (plain, default, overridden, unnamed):
        wait_done(sm, arn)


def test_a_token_replay_needs_the_same_mlflow_experiment(sm: Any) -> None:
    create(sm, "tracked", mlflow_definition())
    token = uuid.uuid4().hex
    sm.start_pipeline_execution(PipelineName="tracked", ClientRequestToken=token, MlflowExperimentName="a")
    with pytest.raises(ClientError) as caught:
        sm.start_pipeline_execution(
            PipelineName="tracked", ClientRequestToken=token, MlflowExperimentName="b"
        )
    assert error_code(caught) in ("ValidationException", "ConflictException")


def test_start_is_idempotent_per_token(sm: Any) -> None:
    create(sm)
    token = uuid.uuid4().hex
    first = sm.start_pipeline_execution(PipelineName="demo", ClientRequestToken=token)["PipelineExecutionArn"]
    again = sm.start_pipeline_execution(PipelineName="demo", ClientRequestToken=token)["PipelineExecutionArn"]
    assert first == again
    assert len(sm.list_pipeline_executions(PipelineName="demo")["PipelineExecutionSummaries"]) == 1


def test_update_stop_and_missing_executions(sm: Any) -> None:
    create(sm)
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    wait_done(sm, arn)
    assert (
        sm.update_pipeline_execution(PipelineExecutionArn=arn, PipelineExecutionDisplayName="renamed")[
            "PipelineExecutionArn"
        ]
        == arn
    )
    assert (
        sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionDisplayName"] == "renamed"
    )
    with pytest.raises(ClientError) as caught:  # finished executions cannot be stopped
        sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert error_code(caught) in ("ConflictException", "ValidationException")
    missing = arn.rsplit("/", 1)[0] + "/zzzzzzzzzzzz"
    for call in (
        sm.describe_pipeline_execution,
        sm.list_pipeline_execution_steps,
        sm.describe_pipeline_definition_for_execution,
        sm.list_pipeline_parameters_for_execution,
    ):
        with pytest.raises(sm.exceptions.ResourceNotFound):
            call(PipelineExecutionArn=missing)


def callback_definition() -> str:
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Steps": [
                {
                    "Name": "Wait",
                    "Type": "Callback",
                    "Arguments": {"note": "x"},
                    "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q",
                    "OutputParameters": [{"OutputName": "answer", "OutputType": "String"}],
                }
            ],
        }
    )


def waiting_token(sm: Any, arn: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for step in sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]:
            token = step.get("Metadata", {}).get("Callback", {}).get("CallbackToken")
            if token:
                return str(token)
        time.sleep(0.05)
    raise AssertionError("the callback step never started")


def test_callback_success_failure_and_stale_tokens(sm: Any) -> None:
    create(sm, definition=callback_definition())
    first = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    token = waiting_token(sm, first)
    answer = sm.send_pipeline_execution_step_success(
        CallbackToken=token, OutputParameters=[{"Name": "answer", "Value": "yes"}]
    )
    assert answer["PipelineExecutionArn"] == first
    assert wait_done(sm, first)["PipelineExecutionStatus"] == "Succeeded"
    with pytest.raises(sm.exceptions.ResourceNotFound):  # a used token is stale
        sm.send_pipeline_execution_step_success(CallbackToken=token)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.send_pipeline_execution_step_failure(CallbackToken="Unknown123", FailureReason="x")

    second = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    sm.send_pipeline_execution_step_failure(CallbackToken=waiting_token(sm, second), FailureReason="said no")
    assert wait_done(sm, second)["PipelineExecutionStatus"] == "Failed"
    (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=second)["PipelineExecutionSteps"]
    assert step["StepStatus"] == "Failed" and "said no" in step["FailureReason"]


def test_stop_waits_for_the_callback_then_ends_stopped(sm: Any) -> None:
    create(sm, definition=callback_definition())
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    token = waiting_token(sm, arn)
    assert sm.stop_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionArn"] == arn
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopping"
    sm.send_pipeline_execution_step_failure(CallbackToken=token, FailureReason="stopped")
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Stopped"
    with pytest.raises(sm.exceptions.ConflictException):
        sm.retry_pipeline_execution(PipelineExecutionArn=arn)


def test_retry_of_a_failed_execution_keeps_the_arn(sm: Any) -> None:
    create(sm, definition=callback_definition())
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    sm.send_pipeline_execution_step_failure(CallbackToken=waiting_token(sm, arn), FailureReason="first try")
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Failed"
    assert sm.retry_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionArn"] == arn
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        if step["StepStatus"] == "Executing" and step["AttemptCount"] == 2:
            break
        time.sleep(0.05)
    sm.send_pipeline_execution_step_success(CallbackToken=step["Metadata"]["Callback"]["CallbackToken"])
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    (step,) = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert step["AttemptCount"] == 2


def test_tags_search_and_listing_shapes(sm: Any) -> None:
    arn = create(sm, Tags=[{"Key": "team", "Value": "a"}])
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    assert {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]} == {"team", "stage"}
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    execution = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    wait_done(sm, execution)
    found = sm.search(
        Resource="Pipeline",
        SearchExpression={"Filters": [{"Name": "Tags.stage", "Operator": "Equals", "Value": "dev"}]},
    )["Results"]
    assert [r["Pipeline"]["PipelineArn"] for r in found] == [arn]
    runs = sm.search(
        Resource="PipelineExecution",
        SearchExpression={
            "Filters": [{"Name": "PipelineArn", "Operator": "Equals", "Value": arn}],
            "SubExpressions": [
                {
                    "Filters": [
                        {"Name": "PipelineExecutionStatus", "Operator": "In", "Value": "Succeeded,Failed"}
                    ]
                }
            ],
        },
    )["Results"]
    assert [r["PipelineExecution"]["PipelineExecutionArn"] for r in runs] == [execution]
    with pytest.raises(ClientError) as caught:
        sm.search(Resource="TrainingJob")
    assert error_code(caught) == "ValidationException"


def test_selective_execution_reuses_the_reference(sm: Any) -> None:
    create(sm, definition=condition_definition(with_lambda=True))
    source = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    assert wait_done(sm, source)["PipelineExecutionStatus"] == "Succeeded"
    selective = sm.start_pipeline_execution(
        PipelineName="demo",
        SelectiveExecutionConfig={
            "SourcePipelineExecutionArn": source,
            "SelectedSteps": [{"StepName": "Double"}],
        },
    )["PipelineExecutionArn"]
    done = wait_done(sm, selective)
    assert done["SelectiveExecutionConfig"] == {
        "SourcePipelineExecutionArn": source,
        "SelectedSteps": [{"StepName": "Double"}],
    }
    steps = {
        s["StepName"]: s
        for s in sm.list_pipeline_execution_steps(PipelineExecutionArn=selective)["PipelineExecutionSteps"]
    }
    assert steps["Check"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": source}
