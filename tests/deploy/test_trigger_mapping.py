"""Parameter mappings and what the matched events carry (no AWS involved)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipelines.events import EXECUTION_STATUS_CHANGE, SOURCE
from pipelines.triggers import (
    EventValueMissing,
    InvalidEventPattern,
    InvalidParameterMapping,
    InvalidTriggerInvocation,
    TriggerTarget,
    UnmappableEventField,
    check_mappable,
    event_token,
    load_pattern,
    model_monitor_drift,
    parse_invocation,
    parse_mapping,
    parse_parameter_source,
    pipeline_execution_status,
    resolve_parameters,
    rule_input_template,
    s3_object_created,
    sample_event,
    schedule_input,
    schedule_token,
)
from pipelines.triggers.targets import EVENT_PLACEHOLDER, target_of_rule_template

S3_EVENT: dict[str, Any] = {
    "id": "e-1",
    "source": "aws.s3",
    "detail-type": "Object Created",
    "time": "2030-01-01T00:00:00Z",
    "detail": {
        "bucket": {"name": "in"},
        "object": {"key": "incoming/a b.csv", "size": 12},
        "reason": "PutObject",
    },
}


@pytest.mark.parametrize(
    ("mapping", "value"),
    [
        ("ml.m5.xlarge", "ml.m5.xlarge"),
        ("$.detail.object.key", "incoming/a b.csv"),
        ("$.detail.object.size", "12"),
        ("$.detail.bucket", '{"name":"in"}'),
        ("s3://{detail.bucket.name}/{detail.object.key}", "s3://in/incoming/a b.csv"),
        ("{$.source}:{{literal}}", "aws.s3:{literal}"),
        ("$['detail-type']", "Object Created"),
    ],
)
def test_values_come_from_the_event_or_stay_static(mapping: str, value: str) -> None:
    assert resolve_parameters(parse_mapping({"P": mapping}), S3_EVENT) == [{"Name": "P", "Value": value}]


@pytest.mark.parametrize(
    "mapping", ["$x", "${detail}", "{detail.key!r}", "{detail.key:>5}", "{}", "a}", "$.detail[?"]
)
def test_malformed_mappings_are_refused(mapping: str) -> None:
    with pytest.raises(InvalidParameterMapping):
        parse_parameter_source("P", mapping)


def test_a_missing_or_ambiguous_value_at_fire_time_is_an_error() -> None:
    with pytest.raises(EventValueMissing, match="e-1"):
        resolve_parameters(parse_mapping({"P": "$.detail.object.etag"}), S3_EVENT)
    with pytest.raises(EventValueMissing, match="selects 2 values"):
        resolve_parameters(
            parse_mapping({"P": "$.detail.*.name"}), {"detail": {"a": {"name": 1}, "b": {"name": 2}}}
        )


@pytest.mark.parametrize(
    ("pattern", "mapping", "ok"),
    [
        (s3_object_created("in", "incoming/"), "$.detail.object.key", True),
        (s3_object_created("in"), "$.detail.object.size", True),
        (s3_object_created("in"), "$.detail.object.version-id", False),  # versioned buckets only
        (s3_object_created("in"), "$.id", True),  # the envelope
        (s3_object_created("in"), "$.resources[0]", False),  # the envelope's list may be empty
        (
            model_monitor_drift(alarm_name_prefix="drift-"),
            "{detail.alarmName}@{detail.state.timestamp}",
            True,
        ),
        (model_monitor_drift(["a"]), "$.detail.state.reasonData", False),
        (pipeline_execution_status("arn:p", ["Succeeded"]), "$.detail.pipelineExecutionArn", True),
        (pipeline_execution_status("arn:p", ["Succeeded"]), "$.detail.executionEndTime", False),
        ({"source": ["app"], "detail": {"uri": [{"exists": True}]}}, "$.detail.uri", True),
        ({"source": ["app"], "detail": {"uri": [{"exists": False}]}}, "$.detail.uri", False),
        ({"source": ["app"], "detail": {"uri": [{"anything-but": "x"}]}}, "$.detail.uri", False),
        ({"source": [{"prefix": "aws."}], "detail-type": ["Object Created"]}, "$.detail.object.key", False),
    ],
)
def test_only_fields_every_matching_event_carries_are_mappable(
    pattern: dict[str, Any], mapping: str, ok: bool
) -> None:
    source = parse_parameter_source("P", mapping)
    if ok:
        check_mappable("P", source, load_pattern(pattern))
    else:
        with pytest.raises(UnmappableEventField):
            check_mappable("P", source, load_pattern(pattern))


def test_samples_are_complete_events() -> None:
    sample = sample_event(SOURCE, EXECUTION_STATUS_CHANGE)
    assert sample is not None and sample["source"] == SOURCE and "pipelineArn" in sample["detail"]
    assert sample_event("nobody", "Nothing") is None


@pytest.mark.parametrize(
    "pattern", ["{not json", "[]", "{}", json.dumps({"source": "aws.s3"}), json.dumps({"detail": {"a": []}})]
)
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidEventPattern):
        load_pattern(pattern)


def test_drift_pattern_needs_names_or_a_prefix() -> None:
    with pytest.raises(InvalidEventPattern):
        model_monitor_drift()


TARGET = TriggerTarget(
    pipeline_arn="arn:aws:sagemaker:us-east-1:111111111111:pipeline/p",
    account="111111111111",
    trigger="rule/r/t",
    parameters={"InputData": "s3://{detail.bucket.name}/{detail.object.key}"},
)


def test_a_rule_template_carries_the_target_and_the_whole_event() -> None:
    template = rule_input_template(TARGET)
    assert template.endswith('"event":' + EVENT_PLACEHOLDER + "}")
    assert target_of_rule_template(template) == TARGET
    delivered = json.loads(template.replace(EVENT_PLACEHOLDER, json.dumps(S3_EVENT)))
    invocation = parse_invocation(delivered)
    assert invocation.kind == "event" and invocation.token() == event_token("rule/r/t", "e-1")


def test_schedule_tokens_identify_one_occurrence() -> None:
    text = (
        schedule_input(TARGET)
        .replace("<aws.scheduler.schedule-arn>", "arn:s")
        .replace("<aws.scheduler.scheduled-time>", "2030-01-01T10:00:00Z")
    )
    invocation = parse_invocation(json.loads(text))
    assert invocation.token() == schedule_token("arn:s", "2030-01-01T10:00:00+00:00")
    assert invocation.token() != schedule_token("arn:s", "2030-01-01T10:05:00Z")
    assert 32 <= len(invocation.token()) <= 128  # ClientRequestToken's limits


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"kind": "event", "target": TARGET.wire()},
        {"kind": "event", "target": TARGET.wire(), "event": {}},
        {"kind": "schedule", "target": TARGET.wire(), "scheduleArn": "a", "scheduledTime": "yesterday"},
    ],
)
def test_inputs_no_trigger_sends_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidTriggerInvocation):
        parse_invocation(payload).token()
