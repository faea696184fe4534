"""No 5xx for a client's mistake: each request the issue found answered 500 now gets the
protocol's 4xx, and changes nothing. Raw HTTP: most of these no SDK would send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import ROLE, Served, condition_definition
from tests.api.raw_http import RawResponse, request

JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


def sagemaker(served: Served, operation: str, body: bytes | dict[str, Any]) -> RawResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(served.url, "POST", "/", raw, {**JSON_HEADERS, "X-Amz-Target": f"SageMaker.{operation}"})


def code(response: RawResponse) -> str:
    return str(json.loads(response.body)["__type"])


@pytest.fixture
def pipeline(single_user: Served) -> Served:
    single_user.client("sagemaker").create_pipeline(
        PipelineName="p", PipelineDefinition=condition_definition(), RoleArn=ROLE
    )
    return single_user


def state(served: Served) -> tuple[Any, ...]:
    sm = served.client("sagemaker")
    pipelines = [p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]]
    executions = sm.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"]
    described = sm.describe_pipeline(PipelineName="p")
    return pipelines, len(executions), described.get("PipelineDescription"), described["PipelineDefinition"]


SURROGATE = "\\ud800"  # JSON's escape for a lone surrogate: valid JSON, not valid Unicode text


def raw_json(template: str) -> bytes:
    return template.replace("SURROGATE", SURROGATE).encode()


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("UpdatePipeline", raw_json('{"PipelineName": "p", "PipelineDescription": "dSURROGATE"}')),
        (
            "StartPipelineExecution",
            raw_json('{"PipelineName": "p", "ClientRequestToken": "SURROGATE' + "t" * 40 + '"}'),
        ),
        ("UpdatePipeline", raw_json('{"PipelineName": "p", "PipelineDefinition": "{SURROGATE}"}')),
        (
            "StartPipelineExecution",
            raw_json(
                '{"PipelineName": "p", "PipelineParameters": [{"Name": "Threshold", "Value": "0.5SURROGATE"}]}'
            ),
        ),
        (
            "StartPipelineExecution",
            raw_json('{"PipelineName": "p", "PipelineExecutionDescription": "SURROGATE"}'),
        ),
    ],
)
def test_a_lone_surrogate_in_any_string_is_a_validation_error(
    pipeline: Served, operation: str, body: bytes
) -> None:
    before = state(pipeline)
    response = sagemaker(pipeline, operation, body)
    assert (response.status, code(response)) == (400, "ValidationException"), response.body
    assert state(pipeline) == before


def test_a_lone_surrogate_inside_the_definition_is_a_validation_error(pipeline: Served) -> None:
    inner = json.dumps(
        {
            "Version": "2020-12-01",
            "Steps": [{"Name": "S", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
        }
    ).replace('"x"', '"bad \\ud800"')  # escaped inside the definition text: valid JSON twice over
    for operation, body in [
        ("CreatePipeline", {"PipelineName": "q", "PipelineDefinition": inner, "RoleArn": ROLE}),
        ("UpdatePipeline", {"PipelineName": "p", "PipelineDefinition": inner}),
    ]:
        before = state(pipeline)
        response = sagemaker(pipeline, operation, body)
        assert (response.status, code(response)) == (400, "ValidationException"), response.body
        assert "lone surrogate" in json.loads(response.body)["message"]
        assert state(pipeline) == before


@pytest.mark.parametrize("value", [1e20, -1e20, 1e300, 253402300800])
def test_timestamps_no_calendar_holds_are_validation_errors(pipeline: Served, value: float) -> None:
    for operation, body in [
        ("ListPipelines", {"CreatedAfter": value}),
        ("ListPipelineExecutions", {"PipelineName": "p", "CreatedBefore": value}),
    ]:
        response = sagemaker(pipeline, operation, body)
        assert (response.status, code(response)) == (400, "ValidationException"), response.body


def test_integers_beyond_what_an_sdk_can_send_are_refused_at_the_door(pipeline: Served) -> None:
    before = state(pipeline)
    huge = sagemaker(pipeline, "ListPipelines", b'{"MaxResults": ' + b"9" * 5000 + b"}")
    assert (huge.status, code(huge)) == (400, "SerializationException")
    overflow = sagemaker(pipeline, "ListPipelines", b'{"MaxResults": 1e400}')
    assert (overflow.status, code(overflow)) == (400, "SerializationException")
    long = sagemaker(
        pipeline,
        "StartPipelineExecution",
        b'{"PipelineName": "p", "ParallelismConfiguration": {"MaxParallelExecutionSteps": '
        + b"9" * 40
        + b"}}",
    )
    assert (long.status, code(long)) == (400, "ValidationException")
    assert state(pipeline) == before


def test_list_pipeline_execution_steps_without_an_execution(pipeline: Served) -> None:
    response = sagemaker(pipeline, "ListPipelineExecutionSteps", {})
    assert (response.status, code(response)) == (400, "ValidationException")
    assert "PipelineExecutionArn" in json.loads(response.body)["message"]


def test_rest_protocols_refuse_bad_text_and_times_with_4xx(pipeline: Served) -> None:
    schedule = raw_json(
        '{"ScheduleExpression": "rate(1 hour)", "FlexibleTimeWindow": {"Mode": "OFF"}, "Description": "SURROGATE",'
        ' "Target": {"Arn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p", "RoleArn": "'
        + ROLE
        + '"}}'
    )
    headers = {"Content-Type": "application/json", "X-Amz-Date": "20240101T000000Z"}
    bad_text = request(pipeline.url, "POST", "/schedules/s1", schedule, headers)
    assert 400 <= bad_text.status < 500, bad_text.body
    far = json.dumps(
        {
            "ScheduleExpression": "rate(1 hour)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "StartDate": 1e20,
            "Target": {"Arn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p", "RoleArn": ROLE},
        }
    ).encode()
    far_time = request(pipeline.url, "POST", "/schedules/s2", far, headers)
    assert 400 <= far_time.status < 500, far_time.body
    assert pipeline.client("scheduler").list_schedules()["Schedules"] == []
