"""S3 uploads start pipelines: a rule registered through the API's EventBridge subset, an
upload to moto S3, moto EventBridge matching the rule, the rule's input transformer, and the
trigger Lambda starting the execution with the mapped parameters.

moto delivers rule matches only to SQS/Logs/bus/API-destination targets (a Lambda target
raises NotImplementedError, which its S3 path swallows), skips input transformers for S3
events, and gives every S3 event the same id. The ``lambda_targets`` patch fills exactly those
gaps as AWS behaves: it applies the target's input transformer with moto's own template
parser, gives each S3 event its own id, and invokes the trigger handler in-process. Pattern
matching stays moto's.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.events.models import Rule
from moto.events.utils import _BASE_EVENT_MESSAGE, EventTemplateParser
from moto.utilities.arns import parse_arn
from pipelines.triggers import fire, model_monitor_drift, parse_invocation, s3_object_created
from pipelines.triggers.targets import TriggerTarget, rule_input_template

from tests.deploy.conftest import (
    OTHER,
    OWNER,
    RULE_PREFIX,
    TRIGGER_FUNCTION_ARN,
    Cloud,
    LambdaContext,
    definition,
    load_handler,
)

BUCKET = "uploads-bucket"
TEMPLATE = "s3://{detail.bucket.name}/{detail.object.key}"


class Deliveries:
    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []


@pytest.fixture
def lambda_targets(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deliveries]:
    trigger = load_handler("trigger")
    monkeypatch.setattr(trigger, "cloud_starter", cloud.services.starter)
    deliveries = Deliveries()
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if lambdas and self.event_pattern.matches_event(original_event):
            event = dict(original_event)
            if event["id"] == _BASE_EVENT_MESSAGE["id"]:  # moto's S3 events all share one id
                event["id"] = str(uuid.uuid4())
            event.setdefault("ingestion-time", datetime.now(UTC).isoformat())
            for target in lambdas:
                assert target["Arn"] == TRIGGER_FUNCTION_ARN
                transformer = target["InputTransformer"]
                payload = EventTemplateParser.parse(
                    input_template=transformer["InputTemplate"],
                    input_paths_map=transformer.get("InputPathsMap", {}),
                    event=event,
                )
                deliveries.inputs.append(payload)
                try:
                    deliveries.results.append(trigger.handler(payload, LambdaContext()))
                except BaseException as exc:  # moto's S3 path would swallow it: keep it for the test
                    deliveries.errors.append(exc)
        others = [t for t in self.targets if t not in lambdas]
        if others:
            kept, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = kept

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)
    yield deliveries


def register(
    cloud: Cloud,
    pipeline_arn: str,
    parameters: dict[str, str],
    *,
    name: str = "uploads",
    pattern: dict[str, Any] | None = None,
    account: str = "111111111111",
) -> Any:
    events = cloud.clients(account).events
    events.put_rule(Name=name, EventPattern=json.dumps(pattern or s3_object_created(BUCKET, "incoming/")))
    return events.put_targets(
        Rule=name,
        Targets=[
            {
                "Id": "pipeline",
                "Arn": pipeline_arn,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": k, "Value": v} for k, v in parameters.items()]
                },
            }
        ],
    )


def upload(cloud: Cloud, key: str) -> None:
    s3 = cloud.real("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"a,b\n1,2\n")


def execution_parameters(cloud: Cloud, arn: str) -> dict[str, str]:
    listed = cloud.clients().sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in listed["PipelineParameters"]}


def test_an_upload_starts_the_pipeline_with_mapped_parameters(
    cloud: Cloud, lambda_targets: Deliveries
) -> None:
    arn = cloud.create_pipeline("on-upload")
    assert register(cloud, arn, {"InputData": TEMPLATE, "Threshold": "0.7"})["FailedEntryCount"] == 0

    upload(cloud, "incoming/2030/a.csv")
    upload(cloud, "elsewhere/b.csv")  # outside the prefix: the pattern does not match

    assert lambda_targets.errors == []
    [result] = lambda_targets.results
    assert execution_parameters(cloud, result["PipelineExecutionArn"]) == {
        "InputData": f"s3://{BUCKET}/incoming/2030/a.csv",
        "Threshold": "0.7",
    }
    [delivered] = lambda_targets.inputs
    assert delivered["kind"] == "event"
    assert delivered["event"]["detail"]["object"]["key"] == "incoming/2030/a.csv"
    assert cloud.runtime.wait(result["PipelineExecutionArn"], timeout=20).status == "Succeeded"


def test_a_redelivered_event_starts_nothing_new(cloud: Cloud, lambda_targets: Deliveries) -> None:
    arn = cloud.create_pipeline("redelivery")
    register(cloud, arn, {"InputData": "$.detail.object.key"})
    upload(cloud, "incoming/once.csv")
    [payload] = lambda_targets.inputs
    trigger = load_handler("trigger")
    trigger.cloud_starter = cloud.services.starter  # type: ignore[attr-defined]
    again = trigger.handler(payload, LambdaContext())
    assert again == lambda_targets.results[0]
    executions = cloud.clients().sagemaker.list_pipeline_executions(PipelineName="redelivery")
    assert len(executions["PipelineExecutionSummaries"]) == 1
    # An event delivered to several containers at once (threads stand in for them): one execution.
    fresh = parse_invocation(dict(payload, event=dict(payload["event"], id=str(uuid.uuid4()))))
    starter = cloud.services.starter()
    answers: list[str] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            answers.append(fire(fresh, starter))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 4 and len(set(answers)) == 1
    executions = cloud.clients().sagemaker.list_pipeline_executions(PipelineName="redelivery")
    assert len(executions["PipelineExecutionSummaries"]) == 2
    # a second upload is a new event: a new execution
    upload(cloud, "incoming/twice.csv")
    assert len({r["PipelineExecutionArn"] for r in lambda_targets.results}) == 2
    assert (
        len(
            cloud.clients().sagemaker.list_pipeline_executions(PipelineName="redelivery")[
                "PipelineExecutionSummaries"
            ]
        )
        == 3
    )


@pytest.mark.parametrize(
    ("parameters", "pattern", "message"),
    [
        ({"InputData": "$.detail.object.version-id"}, None, "do not always carry it"),
        ({"InputData": "s3://{detail.bucket.name}/{detail.object.nope}"}, None, "detail.object.nope"),
        ({"InputData": "s3://{detail.bucket.name"}, None, "unbalanced braces"),
        ({"InputData": "$..[?"}, None, "is not a JSONPath"),
        ({"Threshold": "0.9"}, None, "InputData"),  # required parameter left without a value
        ({"InputData": "$.detail.object.key", "Other": "1"}, None, "'Other' is not declared"),
        ({"InputData": "x", "Threshold": "high"}, None, "is not a Float"),
        (
            {"InputData": "$.detail.anything"},
            {"source": ["my.app"], "detail-type": ["Thing"]},
            "does not constrain",
        ),
    ],
)
def test_registration_refuses_mappings_that_cannot_work(
    cloud: Cloud, parameters: dict[str, str], pattern: dict[str, Any] | None, message: str
) -> None:
    arn = cloud.create_pipeline("checked")
    with pytest.raises(ClientError) as exc:
        register(cloud, arn, parameters, pattern=pattern)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert message in exc.value.response["Error"]["Message"]
    assert cloud.real("events").list_targets_by_rule(Rule=f"{RULE_PREFIX}uploads")["Targets"] == []


def test_custom_patterns_may_map_the_fields_they_constrain(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("custom")
    pattern = {
        "source": ["my.app"],
        "detail-type": ["Dataset Ready"],
        "detail": {"uri": [{"prefix": "s3://"}]},
    }
    register(cloud, arn, {"InputData": "$.detail.uri"}, pattern=pattern, name="datasets")
    drift = model_monitor_drift(["feature-drift"])
    register(
        cloud,
        arn,
        {"InputData": "s3://monitoring/{detail.alarmName}/{detail.state.timestamp}"},
        pattern=drift,
        name="drift",
    )
    listed = cloud.clients().events.list_targets_by_rule(Rule="drift")["Targets"]
    assert listed == [
        {
            "Id": "pipeline",
            "Arn": arn,
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [
                    {
                        "Name": "InputData",
                        "Value": "s3://monitoring/{detail.alarmName}/{detail.state.timestamp}",
                    }
                ]
            },
        }
    ]


def test_rules_are_the_registering_accounts_and_go_with_their_pipeline(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("owned")
    register(cloud, arn, {"InputData": TEMPLATE})
    mine = cloud.clients().events
    assert [r["Name"] for r in mine.list_rules()["Rules"]] == ["uploads"]
    assert json.loads(mine.describe_rule(Name="uploads")["EventPattern"]) == s3_object_created(
        BUCKET, "incoming/"
    )
    theirs = cloud.clients(OTHER).events
    # another account acts only through its shares: no rules at all, and no name revealed
    for call in (theirs.list_rules, lambda: theirs.describe_rule(Name="uploads")):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "uploads" not in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError):  # and nobody else may point a rule at it
        register(cloud, arn, {"InputData": TEMPLATE}, name="hijack", account=OTHER)

    cloud.clients().sagemaker.delete_pipeline(PipelineName="owned")
    assert cloud.real("events").list_targets_by_rule(Rule=f"{RULE_PREFIX}uploads")["Targets"] == []


def test_schedule_expressions_and_other_buses_are_refused(cloud: Cloud) -> None:
    events = cloud.clients().events
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="cron", ScheduleExpression="rate(5 minutes)")
    assert "Scheduler" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        events.put_rule(Name="bus", EventPattern=json.dumps(s3_object_created(BUCKET)), EventBusName="custom")
    assert "default bus" in exc.value.response["Error"]["Message"]
    assert definition()  # the module's definition helper stays importable for the other tests


def test_deleting_a_pipeline_leaves_the_rules_a_stack_declares_alone(cloud: Cloud) -> None:
    """A stack's rule (the Pipeline construct's: the deployment's prefix, no owner tag) is
    CloudFormation's: DeletePipeline removes only the targets of rules registered through the API."""
    arn = cloud.create_pipeline("owned")
    register(cloud, arn, {"InputData": TEMPLATE})
    target = TriggerTarget.model_construct(
        pipeline_arn=arn,
        account=OWNER,
        trigger=f"rule/{RULE_PREFIX}from-stack/pipeline",
        parameters={},
        role_arn=None,
    )
    events = cloud.real("events")
    events.put_rule(
        Name=f"{RULE_PREFIX}from-stack", EventPattern=json.dumps(s3_object_created(BUCKET, "in/"))
    )
    events.put_targets(
        Rule=f"{RULE_PREFIX}from-stack",
        Targets=[
            {
                "Id": "pipeline",
                "Arn": TRIGGER_FUNCTION_ARN,
                "InputTransformer": {"InputTemplate": rule_input_template(target)},
            }
        ],
    )

    cloud.clients().sagemaker.delete_pipeline(PipelineName="owned")

    assert events.list_targets_by_rule(Rule=f"{RULE_PREFIX}uploads")["Targets"] == []
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=f"{RULE_PREFIX}from-stack")["Targets"]] == [
        "pipeline"
    ]
