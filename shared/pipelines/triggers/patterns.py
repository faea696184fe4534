"""Event patterns for the triggers the product documents, and what matching events carry.

A parameter mapped from an event field must be readable from *every* event the rule matches,
or starts would fail at fire time. A field is mappable when it is

* part of the EventBridge envelope (``id``, ``source``, ``time``, ...), or
* always present in the event types the pattern selects (samples below, from the services'
  documented examples, with fields that only sometimes appear -- an S3 ``version-id`` -- left
  out), or
* constrained by the pattern itself (``"object": {"key": [{"prefix": "in/"}]}`` implies every
  matching event has ``detail.object.key``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from pipelines.events.details import EXECUTION_STATUS_CHANGE, SOURCE, STEP_STATUS_CHANGE
from pipelines.triggers.errors import InvalidEventPattern, UnmappableEventField
from pipelines.triggers.mapping import EventPath, ParameterSource, Segment

S3_OBJECT_CREATED = ("aws.s3", "Object Created")
ALARM_STATE_CHANGE = ("aws.cloudwatch", "CloudWatch Alarm State Change")

_ENVELOPE: dict[str, Any] = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "",
    "source": "",
    "account": "123456789012",
    "time": "2021-11-12T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
}

_DETAILS: dict[tuple[str, str], dict[str, Any]] = {
    S3_OBJECT_CREATED: {
        "version": "0",
        "bucket": {"name": "example-bucket"},
        "object": {
            "key": "example-key",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "sequencer": "00617F08299329D189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
    ALARM_STATE_CHANGE: {
        "alarmName": "feature-baseline-drift-alarm",
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed",
            "timestamp": "2024-05-01T00:00:00.000+0000",
        },
        "previousState": {
            "value": "OK",
            "reason": "Threshold Crossed",
            "timestamp": "2024-04-30T00:00:00.000+0000",
        },
        "configuration": {"metrics": []},
    },
    (SOURCE, EXECUTION_STATUS_CHANGE): {
        "pipelineExecutionDisplayName": "execution",
        "currentPipelineExecutionStatus": "Succeeded",
        "executionStartTime": "2021-03-15T16:03:13Z",
        "pipelineArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p",
        "pipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abcdefghijkl",
    },
    (SOURCE, STEP_STATUS_CHANGE): {
        "metadata": {},
        "stepName": "step",
        "stepType": "Processing",
        "currentStepStatus": "Succeeded",
        "pipelineArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p",
        "pipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abcdefghijkl",
    },
}


def sample_event(source: str, detail_type: str) -> dict[str, Any] | None:
    """An event of a known type with exactly the fields every such event has, or None."""
    detail = _DETAILS.get((source, detail_type))
    if detail is None:
        return None
    event = copy.deepcopy(_ENVELOPE)
    event.update({"source": source, "detail-type": detail_type, "detail": copy.deepcopy(detail)})
    return event


# -- patterns ----------------------------------------------------------------------------------------


def s3_object_created(bucket: str, prefix: str = "") -> dict[str, Any]:
    """New objects under ``prefix`` in ``bucket`` (the bucket must send events to EventBridge)."""
    detail: dict[str, Any] = {"bucket": {"name": [bucket]}}
    if prefix:
        detail["object"] = {"key": [{"prefix": prefix}]}
    return {"source": [S3_OBJECT_CREATED[0]], "detail-type": [S3_OBJECT_CREATED[1]], "detail": detail}


def model_monitor_drift(
    alarm_names: list[str] | None = None, *, alarm_name_prefix: str | None = None
) -> dict[str, Any]:
    """A model-monitoring drift alarm going into ALARM.

    Model Monitor publishes drift metrics to CloudWatch; an alarm on them (for example on
    ``feature_baseline_drift_<feature>``) changes state when drift crosses its threshold, and
    EventBridge carries that change. Name the alarms, or give a prefix they share.
    """
    if bool(alarm_names) == (alarm_name_prefix is not None):
        raise InvalidEventPattern("give either alarm_names or alarm_name_prefix")
    names: list[Any] = list(alarm_names) if alarm_names else [{"prefix": alarm_name_prefix}]
    return {
        "source": [ALARM_STATE_CHANGE[0]],
        "detail-type": [ALARM_STATE_CHANGE[1]],
        "detail": {"alarmName": names, "state": {"value": ["ALARM"]}},
    }


def pipeline_execution_status(pipeline_arn: str, statuses: list[str]) -> dict[str, Any]:
    """Executions of another pipeline reaching one of ``statuses`` (our own status events)."""
    return {
        "source": [SOURCE],
        "detail-type": [EXECUTION_STATUS_CHANGE],
        "detail": {"pipelineArn": [pipeline_arn], "currentPipelineExecutionStatus": list(statuses)},
    }


def load_pattern(pattern: str | Mapping[str, Any]) -> dict[str, Any]:
    """A pattern given as JSON text or a dict, checked for the shape EventBridge requires."""
    if isinstance(pattern, str):
        try:
            loaded = json.loads(pattern)
        except json.JSONDecodeError as exc:
            raise InvalidEventPattern(f"not JSON ({exc})") from exc
    else:
        loaded = dict(pattern)
    if not isinstance(loaded, dict) or not loaded:
        raise InvalidEventPattern("a pattern is a non-empty JSON object")
    _check_pattern_node(loaded, "")
    return loaded


def _check_pattern_node(node: Mapping[str, Any], where: str) -> None:
    for key, value in node.items():
        here = f"{where}.{key}" if where else key
        if key in ("$or",):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InvalidEventPattern(f"{here} must be a list of objects")
            for option in value:
                _check_pattern_node(option, where)
        elif isinstance(value, dict):
            _check_pattern_node(value, here)
        elif not isinstance(value, list) or not value:
            raise InvalidEventPattern(f"{here} must be an object or a non-empty list of matchers")


# -- mappability -------------------------------------------------------------------------------------


def _exact_strings(pattern: Mapping[str, Any], key: str) -> list[str] | None:
    values = pattern.get(key)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    return list(values)


def matching_samples(pattern: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Samples of every event type the pattern can match, or None if it can match unknown types."""
    sources = _exact_strings(pattern, "source")
    detail_types = _exact_strings(pattern, "detail-type")
    if sources is None or detail_types is None:
        return None
    samples = []
    for source in sources:
        for detail_type in detail_types:
            sample = sample_event(source, detail_type)
            if sample is None:
                return None
            samples.append(sample)
    return samples


def _constrained(pattern: Mapping[str, Any], segments: list[Segment]) -> bool:
    """Whether every event matching ``pattern`` has a value at ``segments``."""
    node: Any = pattern
    for index, segment in enumerate(segments):
        if not isinstance(segment, str) or not isinstance(node, dict) or segment not in node:
            return False
        node = node[segment]
        if isinstance(node, list):  # the matchers of a leaf field
            presence = all(
                not (isinstance(m, dict) and ({"exists", "anything-but"} & set(m))) for m in node
            ) or any(isinstance(m, dict) and m.get("exists") is True for m in node)
            return presence and index == len(segments) - 1
    return False


def check_mappable(parameter: str, source: ParameterSource, pattern: Mapping[str, Any]) -> None:
    """Raise :class:`UnmappableEventField` unless every path of ``source`` is readable from every
    event ``pattern`` matches (see the module docstring)."""
    samples = matching_samples(pattern)
    envelope = dict(_ENVELOPE)
    for path in source.paths():
        _check_path(parameter, path, pattern, samples, envelope)


def _check_path(
    parameter: str,
    path: EventPath,
    pattern: Mapping[str, Any],
    samples: list[dict[str, Any]] | None,
    envelope: Mapping[str, Any],
) -> None:
    segments = path.segments()
    head = segments[0] if segments else None
    in_envelope = isinstance(head, str) and head in _ENVELOPE
    if in_envelope and path.expression.find(dict(envelope)):
        return
    if segments is not None and _constrained(pattern, segments):
        return
    if samples is None:
        raise UnmappableEventField(
            parameter,
            path.text,
            "the pattern can match event types this service does not know, and it does not constrain "
            'this field; add the field to the pattern (e.g. {"exists": true}) or map a known field',
        )
    for sample in samples:
        if not path.expression.find(sample):
            raise UnmappableEventField(
                parameter,
                path.text,
                f"{sample['detail-type']} events from {sample['source']} do not always carry it",
            )
