"""Rules registered through the API select only the trigger sources the deployment declares
(pipelines.triggers.sources; tests/deploy/conftest.py declares uploads-bucket, raw-*,
feature-drift, drift-* and my.app). A refusal names the pattern path and creates nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.deploy.settings import CloudSettings
from pipelines.triggers import model_monitor_drift, pipeline_execution_status, s3_object_created
from pipelines.triggers.sources import DeclaredSources, UndeclaredEventSource, check_declared_sources

from tests.deploy.conftest import OTHER, OWNER, REGION, ROLE, RULE_PREFIX, Cloud


def _put(cloud: Cloud, pattern: dict[str, Any], name: str = "r") -> Any:
    return cloud.clients().events.put_rule(Name=name, EventPattern=json.dumps(pattern))


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        (s3_object_created("someone-elses-bucket"), "detail.bucket.name: bucket someone-elses-bucket"),
        ({"source": ["aws.s3"], "detail-type": ["Object Created"]}, "detail.bucket.name: required"),
        ({"source": ["aws.s3"], "detail": {"bucket": {"name": [{"prefix": "ra"}]}}}, "prefix 'ra'"),
        (
            {"source": ["aws.s3"], "detail": {"bucket": {"name": [{"anything-but": "x"}]}}},
            'detail.bucket.name: {"anything-but"',
        ),
        (model_monitor_drift(["prod-latency"]), "detail.alarmName: alarm prod-latency"),
        (model_monitor_drift(alarm_name_prefix="d"), "detail.alarmName: prefix 'd'"),
        (
            {"source": ["aws.cloudwatch"], "resources": ["arn:aws:cloudwatch:us-east-1:1:alarm:x"]},
            "resources:",
        ),
        (
            {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
            "source: aws.ec2",
        ),
        ({"source": [{"prefix": "aws."}]}, "source: must list exact values"),
        ({"detail": {"bucket": {"name": ["uploads-bucket"]}}}, "source: must list exact values"),
        ({"$or": [{"source": ["my.app"]}, {"source": ["aws.s3"]}]}, "$or:"),
        (
            pipeline_execution_status(f"arn:aws:sagemaker:{REGION}:{OTHER}:pipeline/theirs", ["Failed"]),
            f"detail.pipelineArn: arn:aws:sagemaker:{REGION}:{OTHER}:pipeline/theirs",
        ),
    ],
)
def test_patterns_reaching_undeclared_sources_are_refused_naming_the_path(
    cloud: Cloud, pattern: dict[str, Any], path: str
) -> None:
    with pytest.raises(ClientError) as refused:
        _put(cloud, pattern)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert path in error["Message"]
    assert cloud.real("events").list_rules(NamePrefix=RULE_PREFIX)["Rules"] == []


@pytest.mark.parametrize(
    "pattern",
    [
        s3_object_created("uploads-bucket", "incoming/"),
        s3_object_created("raw-landing"),  # raw-*
        {"source": ["aws.s3"], "detail": {"bucket": {"name": [{"prefix": "raw-eu-"}]}}},
        model_monitor_drift(["feature-drift"]),
        model_monitor_drift(alarm_name_prefix="drift-churn-"),
        {"source": ["aws.cloudwatch"], "resources": ["arn:aws:cloudwatch:us-east-1:1:alarm:drift-a"]},
        {"source": ["my.app"], "detail-type": ["Dataset Ready"]},
        pipeline_execution_status(f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/mine", ["Succeeded"]),
    ],
)
def test_patterns_within_the_declared_sources_are_accepted(cloud: Cloud, pattern: dict[str, Any]) -> None:
    assert _put(cloud, pattern)["RuleArn"].endswith(f"rule/{RULE_PREFIX}r")


def test_put_targets_rechecks_a_rule_whose_source_is_no_longer_declared(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("p")
    _put(cloud, s3_object_created("uploads-bucket"), name="uploads")
    cloud.services.rules.declared = DeclaredSources(buckets=("other",), alarms=(), sources=())  # redeployed
    with pytest.raises(ClientError, match="bucket uploads-bucket is not declared"):
        cloud.clients().events.put_targets(
            Rule="uploads",
            Targets=[{"Id": "p", "Arn": arn, "SageMakerPipelineParameters": {"PipelineParameterList": []}}],
        )
    assert cloud.real("events").list_targets_by_rule(Rule=f"{RULE_PREFIX}uploads")["Targets"] == []


def test_the_declarations_come_from_the_stack_environment() -> None:
    base = {"AWS_REGION": REGION, "STATE_TABLE": "s", "CACHE_TABLE": "c"}
    assert CloudSettings.from_environment(base).trigger_sources == DeclaredSources((), (), ())
    declared = CloudSettings.from_environment(
        {
            **base,
            "TRIGGER_BUCKETS": "a, raw-*",
            "TRIGGER_ALARMS": "arn:aws:cloudwatch:us-east-1:111111111111:alarm:drift,x",
            "TRIGGER_SOURCES": "*",
        }
    ).trigger_sources
    assert declared == DeclaredSources(("a", "raw-*"), ("drift", "x"), None)
    # None declared: status events of the owner's pipelines only
    check_declared_sources(
        pipeline_execution_status(f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/p", ["Failed"]),
        DeclaredSources(),
        OWNER,
    )
    with pytest.raises(UndeclaredEventSource, match="detail.bucket.name"):
        check_declared_sources(s3_object_created("a"), DeclaredSources(), OWNER)


def test_create_and_update_pipeline_record_the_role_with_who_passed_it(cloud: Cloud) -> None:
    """(pipelines.engine.roles) The API records each RoleArn with the principal that passed it."""
    arn = cloud.create_pipeline("granted")
    second = f"arn:aws:iam::{OWNER}:role/pipelines/second"
    cloud.clients().sagemaker.update_pipeline(PipelineName="granted", RoleArn=second)
    record = cloud.store.get_pipeline(arn)
    assert record is not None and record.role_arn == second
    assert {(g.role_arn, g.passed_by) for g in record.role_grants} == {
        (ROLE, f"arn:aws:iam::{OWNER}:user/tester"),
        (second, f"arn:aws:iam::{OWNER}:user/tester"),
    }
