"""CDK assertions on the synthesized stack: resources, key properties, least privilege, nag."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template
from pipelines.stepfunctions import pipeline_execution_definition, step_runner_definition

from tests.infra.conftest import SHARING_ACCOUNT, Synth, cfn_lint_findings

REPO = Path(__file__).resolve().parents[2]


def _resources(template: Template, kind: str) -> dict[str, Any]:
    return template.find_resources(kind)


def test_synth_reports_its_time(synthesized: Synth) -> None:
    print(f"\ncdk synth (no bundling) took {synthesized.seconds:.1f} s")
    assert synthesized.template_file.is_file()


@pytest.mark.parametrize("variant", ["synthesized", "deploy_env_synth"])
def test_cdk_nag_aws_solutions_is_clean(variant: str, request: pytest.FixtureRequest) -> None:
    """Environment-agnostic (ARNs with <AWS::Region> tokens) and for an account and region
    (literal ARNs, as `cdk deploy` resolves them): the acknowledgments must hold for both."""
    synthesized: Synth = request.getfixturevalue(variant)
    annotations = Annotations.from_stack(synthesized.stack)
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [str(e.entry.data)[:200] for e in errors + warnings] == []


def test_deploy_env_synth_resolves_arns_to_literals(deploy_env_synth: Synth) -> None:
    """The nag test above checks the literal forms only if the ARNs really resolve."""
    text = deploy_env_synth.template_file.read_text()
    assert "arn:aws:states:eu-west-1:111111111111:execution:smp-dev-step-runner:*" in text


def test_no_wildcard_is_acknowledged_stack_wide(synthesized: Synth) -> None:
    """`Resource::*` is acknowledged on the few policies whose actions need it, never on the
    stack (where it would hide any new unscoped grant)."""
    stack_metadata = json.dumps(synthesized.stack.template_options.metadata or {})
    template = json.loads(synthesized.template_file.read_text())
    stack_metadata += json.dumps(template.get("Metadata", {}))
    assert '"Resource::*"' not in stack_metadata
    acknowledged = [
        path
        for path, resource in template["Resources"].items()
        if '"Resource::*"' in json.dumps(resource.get("Metadata", {}).get("cdk_nag", {}))
    ]
    assert acknowledged and all(template["Resources"][p]["Type"] == "AWS::IAM::Policy" for p in acknowledged)


def test_tables_are_encrypted_with_pitr_and_ttl(template: Template) -> None:
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        props = table["Properties"]
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
        assert props["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [("step-runner", step_runner_definition), ("pipeline-execution", pipeline_execution_definition)],
)
def test_state_machines_deploy_exactly_the_core_asl(template: Template, suffix: str, expected: Any) -> None:
    machines = _resources(template, "AWS::StepFunctions::StateMachine")
    [machine] = [m for m in machines.values() if m["Properties"]["StateMachineName"].endswith(suffix)]
    props = machine["Properties"]
    assert json.loads(props["DefinitionString"]) == expected()
    assert set(props["DefinitionSubstitutions"]) <= {"ReportQueueUrl", "StateTable"}
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_state_machines_pass_asl_validator(template: Template, tmp_path: Path) -> None:
    validator = REPO / "node_modules" / ".bin" / "asl-validator"
    assert validator.exists(), "run `make install` (npm ci installs asl-validator)"
    for logical_id, machine in _resources(template, "AWS::StepFunctions::StateMachine").items():
        path = tmp_path / f"{logical_id}.json"
        path.write_text(
            machine["Properties"]["DefinitionString"]
            .replace("${ReportQueueUrl}", "https://sqs.us-east-1.amazonaws.com/123456789012/engine.fifo")
            .replace("${StateTable}", "state")
        )
        result = subprocess.run([str(validator), "--json-path", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_api_uses_iam_auth_and_admits_sharing_accounts(template: Template) -> None:
    methods = _resources(template, "AWS::ApiGateway::Method")
    assert methods
    # Every method but the console's CORS preflights (mock integrations, test_console.py) signs.
    signed = [m for m in methods.values() if m["Properties"]["HttpMethod"] != "OPTIONS"]
    assert signed and {m["Properties"]["AuthorizationType"] for m in signed} == {"AWS_IAM"}
    [api] = _resources(template, "AWS::ApiGateway::RestApi").values()
    statement = api["Properties"]["Policy"]["Statement"][0]
    principals = json.dumps(statement["Principal"])
    assert SHARING_ACCOUNT in principals
    [stage] = _resources(template, "AWS::ApiGateway::Stage").values()
    assert "AccessLogSetting" in stage["Properties"]
    throttle = stage["Properties"]["MethodSettings"][0]
    assert throttle["ThrottlingRateLimit"] == 50


def test_callback_queue_has_a_dead_letter_queue(template: Template) -> None:
    queues = _resources(template, "AWS::SQS::Queue")
    with_dlq = [
        q
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"] and not q["Properties"].get("FifoQueue")
    ]
    assert len(with_dlq) == 1
    assert with_dlq[0]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5


def _policy_statements(template: Template, role_logical_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for logical_id, policy in _resources(template, "AWS::IAM::Policy").items():
        if logical_id.startswith(role_logical_prefix):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_step_runner_role_only_assumes_pipeline_roles_and_reports(template: Template) -> None:
    statements = _policy_statements(template, "EngineStepRunnerRole")
    actions = {a for s in statements for a in _actions(s)}
    assert not any(a.startswith("sagemaker:") for a in actions), actions
    assume = [s for s in statements if "sts:AssumeRole" in _actions(s)]
    assert len(assume) == 1
    assert "role/pipelines/*" in json.dumps(assume[0]["Resource"])
    assert "sqs:SendMessage" in actions  # its reports go to the engine's queue
    assert "lambda:InvokeFunction" not in actions


def test_the_engine_consumes_its_fifo_queue_in_batches_with_partial_failures(template: Template) -> None:
    [mapping] = _resources(template, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["BatchSize"] == 10
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queues = _resources(template, "AWS::SQS::Queue")
    fifo = {k: q["Properties"] for k, q in queues.items() if q["Properties"].get("FifoQueue")}
    [engine_queue] = [p for p in fifo.values() if "RedrivePolicy" in p]
    assert engine_queue["VisibilityTimeout"] >= 6 * 300  # 6x the engine's timeout
    assert len(fifo) == 2  # the queue and its dead letters


def test_runs_that_end_badly_and_the_sweep_reach_the_engine(template: Template) -> None:
    rules = _resources(template, "AWS::Events::Rule")
    patterns = [r["Properties"].get("EventPattern") for r in rules.values()]
    [ended] = [p for p in patterns if p and p.get("source") == ["aws.states"]]
    assert ended["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(ended["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert len(ended["detail"]["stateMachineArn"]) == 2
    [sweep] = [r for r in rules.values() if r["Properties"].get("ScheduleExpression")]
    assert sweep["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(sweep["Properties"]["Targets"][0]["Input"]) == {"action": "Sweep"}


def test_dead_letter_queues_raise_alarms_and_the_trigger_has_one(template: Template) -> None:
    functions = _resources(template, "AWS::Lambda::Function")
    with_dlq = [f for f in functions.values() if "DeadLetterConfig" in f["Properties"]]
    assert len(with_dlq) == 1 and "Starts pipeline executions" in with_dlq[0]["Properties"]["Description"]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    watched = [a["Properties"]["MetricName"] for a in alarms.values()]
    assert watched.count("ApproximateNumberOfMessagesVisible") >= 2


def test_api_reaches_only_pipeline_jobs_and_models_and_the_registry(template: Template) -> None:
    statements = _policy_statements(template, "ApiFunctionServiceRole")
    [jobs] = [s for s in statements if "sagemaker:DescribeProcessingJob" in _actions(s)]
    assert "sagemaker:StopTrainingJob" in _actions(jobs) and "sagemaker:DescribeModel" in _actions(jobs)
    resources = json.dumps(jobs["Resource"])
    assert resources.count("/pipelines-*") == 5 and '"*"' not in resources
    [registry] = [s for s in statements if "sagemaker:UpdateModelPackage" in _actions(s)]
    assert "model-package-group/*" in json.dumps(registry["Resource"])
    [lists] = [s for s in statements if "sagemaker:ListProcessingJobs" in _actions(s)]
    assert all(a.startswith("sagemaker:List") for a in _actions(lists))


def test_engine_can_start_only_our_two_state_machines(template: Template) -> None:
    statements = _policy_statements(template, "EngineEngineFunctionServiceRole")
    [start] = [s for s in statements if _actions(s) == ["states:StartExecution"]]
    resources = json.dumps(start["Resource"])
    assert "step-runner" in resources and "pipeline-execution" in resources
    assert '"*"' not in resources


def test_handlers_use_the_core_layer_and_tracing(template: Template) -> None:
    """Every handler has the core layer first; the engine alone also has the MLflow layer."""
    functions = _resources(template, "AWS::Lambda::Function")
    handlers = {k: f for k, f in functions.items() if f["Properties"].get("Handler") == "handler.handler"}
    assert len(handlers) == 3
    layer_ids = {k for k in _resources(template, "AWS::Lambda::LayerVersion")}
    [core] = [k for k in layer_ids if k.startswith("CoreLayer")]
    [mlflow] = [k for k in layer_ids if k.startswith("EngineMlflowLayer")]
    for name, fn in handlers.items():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}
        expected = [core, mlflow] if name.startswith("EngineEngineFunction") else [core]
        assert [ref["Ref"] for ref in fn["Properties"]["Layers"]] == expected, name


def test_cfn_lint_passes_on_the_template(template: Template, tmp_path: Path) -> None:
    assert cfn_lint_findings(template, tmp_path) == ""


def test_the_stack_sets_api_gateways_cloudwatch_role_before_the_stage(template: Template) -> None:
    """Stage logging needs the account-level CloudWatch role; in a fresh account nobody set it."""
    [(account_id, account)] = _resources(template, "AWS::ApiGateway::Account").items()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = _resources(template, "AWS::IAM::Role")[role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
    assert account["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"
    [stage] = _resources(template, "AWS::ApiGateway::Stage").values()
    assert account_id in stage["DependsOn"]
    assert "AccessLogSetting" in stage["Properties"]


def test_an_account_with_its_own_api_gateway_role_can_keep_it() -> None:
    from tests.infra.conftest import synth

    kept = synth({"apiGatewayCloudWatchRole": "false"})
    kept.template.resource_count_is("AWS::ApiGateway::Account", 0)


def test_the_roles_pipeline_roles_must_trust_are_outputs(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    roles = _resources(template, "AWS::IAM::Role")
    for name, prefix in (
        ("StepRunnerRoleArn", "EngineStepRunnerRole"),
        ("EngineRoleArn", "EngineEngineFunctionServiceRole"),
    ):
        [logical_id, attribute] = outputs[name]["Value"]["Fn::GetAtt"]
        assert attribute == "Arn" and logical_id.startswith(prefix) and logical_id in roles


def test_state_machine_logs_are_vended_log_groups(template: Template) -> None:
    groups = _resources(template, "AWS::Logs::LogGroup")
    for machine in _resources(template, "AWS::StepFunctions::StateMachine").values():
        props = machine["Properties"]
        [destination] = props["LoggingConfiguration"]["Destinations"]
        group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        assert (
            groups[group_id]["Properties"]["LogGroupName"]
            == f"/aws/vendedlogs/states/{props['StateMachineName']}"
        )


def test_payload_bodies_are_tiered_never_expired(template: Template) -> None:
    [bucket] = [
        b
        for logical, b in _resources(template, "AWS::S3::Bucket").items()
        if logical.startswith("DataPayloads")
    ]
    [rule] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == "payloads/" and rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rule["Transitions"] == [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}]
    assert "ExpirationInDays" not in rule
