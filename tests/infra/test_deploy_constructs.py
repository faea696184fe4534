"""The deploy side of the stack: triggers, status events, the Pipeline construct, the example."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from pipelines.deploy.resource import SPEC_PROPERTY, PipelineSpec
from pipelines.deploy.settings import CloudSettings
from pipelines.store.dynamodb import STATE_INDEXES
from pipelines.triggers import TriggerParameterMissing, UnmappableEventField, s3_object_created
from pipelines.triggers.targets import EVENT_PLACEHOLDER

from infra.constructs.deployment import PipelinesDeployment
from infra.constructs.pipeline import InvalidPipelineDefinition, Pipeline, PipelineSchedule
from infra.packaging import model_archive
from infra.stacks.example_stack import EXAMPLE_DEFINITION, MODEL_DIR, SKLEARN_REGISTRIES
from tests.infra.conftest import Synth, cfn_lint_findings
from tests.project_files import sklearn_image_registries

REPO = Path(__file__).resolve().parents[2]


def one(template: Template, kind: str, where: dict[str, Any] | None = None) -> dict[str, Any]:
    found = template.find_resources(kind, {"Properties": where} if where else None)
    assert len(found) == 1, (kind, list(found))
    return dict(next(iter(found.values())))


def function(template: Template, description_start: str) -> dict[str, Any]:
    matches = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if str(f["Properties"].get("Description", "")).startswith(description_start)
    ]
    assert len(matches) == 1
    return dict(matches[0])


def statements_of(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if logical_id.startswith(role_prefix):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_the_state_table_matches_the_dynamodb_store(template: Template) -> None:
    state = one(template, "AWS::DynamoDB::Table", {"GlobalSecondaryIndexes": Match.any_value()})["Properties"]
    assert [i["IndexName"] for i in state["GlobalSecondaryIndexes"]] == list(STATE_INDEXES)
    for index in state["GlobalSecondaryIndexes"]:
        name = index["IndexName"]
        assert index["KeySchema"] == [
            {"AttributeName": f"{name}pk", "KeyType": "HASH"},
            {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
        ]
        assert index["Projection"] == {"ProjectionType": "ALL"}


def test_handlers_get_every_setting_they_read(template: Template) -> None:
    for description in ("SageMaker pipeline API", "Starts pipeline executions"):
        variables = function(template, description)["Properties"]["Environment"]["Variables"]
        concrete = {k: v if isinstance(v, str) else f"resolved-{k}" for k, v in variables.items()}
        settings = CloudSettings.from_environment({**concrete, "AWS_REGION": "eu-west-1"})
        assert settings.payload_bucket and settings.event_bus_name
    api = function(template, "SageMaker pipeline API")["Properties"]["Environment"]["Variables"]
    assert api["RULE_PREFIX"] == "smp-dev-trigger-"
    assert {"SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "TRIGGER_FUNCTION_ARN"} <= set(api)


def test_the_api_manages_only_its_schedules_and_rules(template: Template) -> None:
    statements = {s.get("Sid"): s for s in statements_of(template, "ApiFunctionServiceRole")}
    assert "schedule/" in json.dumps(statements["ManageSchedules"]["Resource"])
    assert statements["PassSchedulerRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }
    assert json.dumps(statements["ManageRules"]["Resource"]).endswith(':rule/smp-dev-trigger-*"]]}')
    assert sorted(statements["ListSchedulesAndRules"]["Action"]) == [
        "events:ListRules",
        "scheduler:ListSchedules",
    ]
    trigger_actions = {
        a
        for s in statements_of(template, "TriggerFunctionServiceRole")
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert not any(
        a.startswith(("scheduler:", "events:PutRule", "events:PutTargets", "events:DeleteRule"))
        for a in trigger_actions
    )
    assert "lambda:InvokeFunction" in trigger_actions  # starts go through the engine Lambda
    assert not any(a.startswith("states:") for a in trigger_actions)


def test_only_pipeline_rules_and_the_scheduler_may_invoke_the_trigger_lambda(template: Template) -> None:
    permissions = template.find_resources(
        "AWS::Lambda::Permission", {"Properties": {"Principal": "events.amazonaws.com"}}
    )
    engine = {
        k: p
        for k, p in permissions.items()
        if "EngineFunction" in json.dumps(p["Properties"]["FunctionName"])
    }
    # the engine: only from its own two rules (runs that end badly, the sweep)
    assert sorted(json.dumps(p["Properties"]["SourceArn"]) for p in engine.values()) == [
        '{"Fn::GetAtt": ["EngineRunsThatEnd7A3FD316", "Arn"]}',
        '{"Fn::GetAtt": ["EngineSweep30821498", "Arn"]}',
    ]
    permissions = {k: p for k, p in permissions.items() if k not in engine}
    sources = [json.dumps(p["Properties"]["SourceArn"]) for p in permissions.values()]
    status_bus = [s for s in sources if '{"Ref": "MessagingStatusEvents' in s]
    default_bus = [s for s in sources if s not in status_bus]
    assert len(status_bus) == 1 and status_bus[0].endswith('"/smp-dev-trigger-*"]]}')
    assert len(default_bus) == 1 and default_bus[0].endswith(':rule/smp-dev-trigger-*"]]}')
    assert {json.dumps(p["Properties"]["SourceAccount"]) for p in permissions.values()} == {
        '{"Ref": "AWS::AccountId"}'
    }
    role = one(template, "AWS::IAM::Role", {"Description": Match.string_like_regexp("EventBridge Scheduler")})
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "scheduler.amazonaws.com"
    }


def test_sdk_clients_get_aws_error_codes_from_api_gateway(template: Template) -> None:
    responses = template.find_resources("AWS::ApiGateway::GatewayResponse")
    by_type = {r["Properties"]["ResponseType"]: r["Properties"] for r in responses.values()}
    assert json.loads(
        by_type["ACCESS_DENIED"]["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"m"'
        )
    ) == {"__type": "AccessDeniedException", "message": "m"}
    assert "ThrottlingException" in by_type["THROTTLED"]["ResponseTemplates"]["application/json"]


def _reference(part: dict[str, Any]) -> str:
    """A CloudFormation reference inside a joined string, as a readable marker."""
    if "Fn::GetAtt" in part:
        return "<{}.{}>".format(*part["Fn::GetAtt"])
    if "Fn::FindInMap" in part:
        mapping, key, attribute = part["Fn::FindInMap"]
        return f"<{mapping}[{_reference(key) if isinstance(key, dict) else key}].{attribute}>"
    return "<{}>".format(part["Ref"])


def test_the_example_registers_its_pipeline_through_the_custom_resource(example_template: Template) -> None:
    resource = one(example_template, "Custom::SageMakerPipeline")["Properties"]
    joined = resource[SPEC_PROPERTY]["Fn::Join"][1]
    spec = PipelineSpec.model_validate_json(
        "".join(p if isinstance(p, str) else _reference(p) for p in joined)
    )
    assert spec.pipeline_name == "smp-dev-approval-example"
    assert spec.role_arn.startswith("<SamplePipelineRole")
    definition, original = json.loads(spec.definition), json.loads(EXAMPLE_DEFINITION.read_text())
    assert definition["Steps"][0]["Name"] == original["Steps"][0]["Name"] == "Evaluate"
    assert len(json.dumps(definition)) > 0.9 * len(json.dumps(original))
    [schedule] = spec.schedules
    assert (schedule.expression, schedule.state) == ("cron(0 3 * * ? *)", "DISABLED")
    provider = function(example_template, "Registers Pipeline constructs")["Properties"]
    assert "API_URL" in provider["Environment"]["Variables"]
    invoke = [
        s
        for s in statements_of(example_template, "PipelineResourceProviderFunction")
        if s["Action"] == "execute-api:Invoke"
    ]
    assert len(invoke) == 1
    # every method the resource's clients use (the deploy rehearsal's API Gateway enforces it)
    assert sorted(json.dumps(r).split("/dev/", 1)[1].removesuffix('"]]}') for r in invoke[0]["Resource"]) == [
        "DELETE/deleteresourceshare",
        "DELETE/schedules/*",
        "GET/schedules/*",
        "POST/*",
        "PUT/schedules/*",
    ]


def test_everything_the_example_pipeline_uses_is_in_the_stack_and_its_role_may_use_it(
    example_template: Template,
) -> None:
    """Issue 10 item 6: the example's Lambda functions, queue and bucket exist, and the role it
    runs as may invoke, send, read and write them, write job logs and pull images."""
    resource = one(example_template, "Custom::SageMakerPipeline")["Properties"]
    joined = resource[SPEC_PROPERTY]["Fn::Join"][1]
    spec = PipelineSpec.model_validate_json(
        "".join(p if isinstance(p, str) else _reference(p) for p in joined)
    )
    definition = json.loads(spec.definition)
    steps = {s["Name"]: s for s in definition["Steps"]}
    steps.update({s["Name"]: s for s in steps["CheckAccuracy"]["Arguments"]["IfSteps"]})
    resources = example_template.to_json()["Resources"]
    functions = []
    for name in ("Evaluate", "Summarize"):
        logical_id = steps[name]["FunctionArn"].strip("<>").removesuffix(".Arn")
        functions.append(logical_id)
        assert resources[logical_id]["Type"] == "AWS::Lambda::Function"
        assert resources[logical_id]["Properties"]["Handler"] == f"functions.{name.lower()}.handler"
    queue_id = steps["RequestApproval"]["SqsQueueUrl"].strip("<>")
    assert resources[queue_id]["Type"] == "AWS::SQS::Queue"
    [model_url] = [p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == "ModelDataUrl"]
    bucket_id = model_url.removeprefix("s3://").split("/")[0].strip("<>")
    assert resources[bucket_id]["Type"] == "AWS::S3::Bucket"
    # the model's image is the scikit-learn image of the region the stack is deployed to
    [container] = steps["RegisterCandidate"]["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["Image"] == (
        "<SklearnImageRegistries[<AWS::Region>].account>.dkr.ecr.<AWS::Region>.<AWS::URLSuffix>"
        "/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    mapping = example_template.to_json()["Mappings"]["SklearnImageRegistries"]
    assert mapping == {region: {"account": account} for region, account in SKLEARN_REGISTRIES.items()}
    assert spec.role_arn.startswith("<SamplePipelineRole")
    statements = statements_of(example_template, "SamplePipelineRole")

    def grants(action: str, logical_id: str | None = None) -> bool:
        return any(
            action in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
            and (logical_id is None or logical_id in json.dumps(st["Resource"]))
            for st in statements
        )

    for function in functions:
        assert grants("lambda:InvokeFunction", function)
    assert grants("sqs:SendMessage", queue_id)
    assert grants("s3:GetObject", bucket_id) and grants("s3:PutObject", bucket_id)
    assert grants("logs:PutLogEvents") and grants("ecr:BatchGetImage") and grants("ecr:GetAuthorizationToken")


def test_the_example_upload_rule_feeds_the_trigger_lambda(example_template: Template) -> None:
    rule = one(
        example_template, "AWS::Events::Rule", {"Name": Match.string_like_regexp("^smp-dev-trigger-")}
    )["Properties"]
    assert rule["EventPattern"]["detail"]["object"] == {"key": [{"prefix": "incoming/"}]}
    [target] = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("TriggerFunction")
    parts = target["InputTransformer"]["InputTemplate"]["Fn::Join"][1]
    assert parts[-1].endswith(
        '"parameters":{"ValidationData":"s3://{detail.bucket.name}/{detail.object.key}"}},"event":'
        + EVENT_PLACEHOLDER
        + "}"
    )
    notifications = one(example_template, "Custom::S3BucketNotifications")["Properties"]
    assert notifications["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    assert notifications["BucketName"]["Ref"].startswith("ExampleData")


def test_the_example_stack_is_nag_clean_and_lints(
    example_synth: Synth, example_template: Template, tmp_path: Path
) -> None:
    annotations = Annotations.from_stack(example_synth.stack)
    findings = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    findings += annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [str(f.entry.data)[:200] for f in findings] == []
    assert cfn_lint_findings(example_template, tmp_path) == ""


# -- synth-time validation of Pipeline constructs ------------------------------------------------------


def deployment() -> PipelinesDeployment:
    from aws_cdk import aws_lambda as lambda_

    stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "Other")
    layer = lambda_.LayerVersion.from_layer_version_arn(
        stack, "Layer", "arn:aws:lambda:us-east-1:123456789012:layer:core:1"
    )
    deployed = PipelinesDeployment.from_outputs(
        api_url="https://abc.execute-api.us-east-1.amazonaws.com/dev/",
        api_id="abc",
        stage="dev",
        trigger_function_arn="arn:aws:lambda:us-east-1:123456789012:function:trigger",
        rule_prefix="smp-dev-trigger-",
        layer=layer,
    )
    return deployed, stack  # type: ignore[return-value]


def test_a_bad_definition_fails_the_synth_with_the_validators_errors() -> None:
    deployed, stack = deployment()  # type: ignore[misc]
    broken = json.loads(EXAMPLE_DEFINITION.read_text())
    broken["Steps"][0]["Arguments"]["threshold"] = {"Get": "Parameters.Nope"}
    broken["Steps"].append({"Name": "Evaluate", "Type": "Fail", "Arguments": {}})
    with pytest.raises(InvalidPipelineDefinition) as exc:
        Pipeline(
            stack, "Broken", deployment=deployed, definition=broken, pipeline_name="broken", role_arn="arn:r"
        )
    message = str(exc.value)
    assert "Other/Broken" in message and "Parameters.Nope" in message and "Evaluate" in message


def test_schedules_and_event_mappings_are_checked_at_synth() -> None:
    deployed, stack = deployment()  # type: ignore[misc]
    required = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Input", "Type": "String"}],
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
    }
    with pytest.raises(TriggerParameterMissing, match="Input"):
        Pipeline(
            stack,
            "Unscheduled",
            deployment=deployed,
            definition=required,
            pipeline_name="p",
            role_arn="arn:r",
            schedules=[PipelineSchedule(name="s", expression="rate(1 day)")],
        )
    pipeline = Pipeline(
        stack,
        "Fine",
        deployment=deployed,
        definition=required,
        pipeline_name="p",
        role_arn="arn:r",
        schedules=[PipelineSchedule(name="s", expression="rate(1 day)", parameters={"Input": "x"})],
    )
    with pytest.raises(UnmappableEventField, match="version-id"):
        pipeline.on_event(
            "Versions", pattern=s3_object_created("b"), parameters={"Input": "$.detail.object.version-id"}
        )
    with pytest.raises(TriggerParameterMissing):
        pipeline.on_s3_object_created("NoInput", bucket_name="b", prefix="in/")
    pipeline.on_s3_object_created(
        "Upload", bucket_name="b", prefix="in/", parameters={"Input": "$.detail.object.key"}
    )


def test_the_example_image_registries_are_the_sdks() -> None:
    """The example stack's region table is the SageMaker SDK's, so every region gets its own
    registry's scikit-learn image (SageMaker pulls framework images from its own region only)."""
    assert sklearn_image_registries() == SKLEARN_REGISTRIES


def test_the_model_archive_is_deterministic_and_holds_the_example_model(tmp_path: Path) -> None:
    first = model_archive(MODEL_DIR, tmp_path / "a").read_bytes()
    second = model_archive(MODEL_DIR, tmp_path / "b").read_bytes()
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "model.json"]
