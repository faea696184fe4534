"""The rest-json codec routes and reads requests from botocore's model alone (no moto)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pipelines.api.errors import UnknownOperation
from pipelines.api.rest import RestRequest
from pipelines.api.rest_json import RestJsonCodec


def test_routes_by_method_and_uri_template_with_labels_and_query() -> None:
    codec = RestJsonCodec("scheduler")
    request = RestRequest("GET", "/schedules", args={"ScheduleGroup": ["g"], "MaxResults": ["5"]})
    operation, labels = codec.match(request)
    assert operation.name == "ListSchedules" and labels == {}
    assert codec.parse(operation, labels, request, b"", request.args) == {"GroupName": "g", "MaxResults": 5}
    operation, labels = codec.match(RestRequest("DELETE", "/schedules/nightly"))
    assert (operation.name, labels) == ("DeleteSchedule", {"Name": "nightly"})
    with pytest.raises(UnknownOperation, match="no scheduler operation at PATCH /schedules/x"):
        codec.match(RestRequest("PATCH", "/schedules/x"))


def test_an_arn_label_may_arrive_with_its_slashes_decoded() -> None:
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule-group/team"
    operation, labels = RestJsonCodec("scheduler").match(RestRequest("POST", f"/tags/{arn}"))
    assert (operation.name, labels) == ("TagResource", {"ResourceArn": arn})


def test_body_members_get_their_model_types_and_unknown_ones_are_kept_for_the_validator() -> None:
    codec = RestJsonCodec("scheduler")
    request = RestRequest("POST", "/schedules/n")
    operation, labels = codec.match(request)
    body = json.dumps({"ScheduleExpression": "rate(1 day)", "StartDate": 1700000000, "Bogus": 1}).encode()
    params = codec.parse(operation, labels, request, body, {})
    assert params["Name"] == "n" and params["Bogus"] == 1
    assert params["StartDate"] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    status, headers, payload = codec.serialize(operation, {"ScheduleArn": "arn:s"}, strict=True)
    assert (status, headers["Content-Type"], json.loads(payload)) == (
        200,
        "application/json",
        {"ScheduleArn": "arn:s"},
    )
