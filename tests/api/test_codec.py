"""The server-side codec against botocore's own client half, for every protocol it serves.

Requests are built by botocore's serializers (what boto3 sends) and must read back as the very
parameters given; results the codec writes are read by botocore's parsers (what boto3 returns)
and must come back as the very result given. No server, no moto: the codec alone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from botocore import parsers, serialize
from botocore.handlers import parse_get_bucket_location
from botocore.model import OperationModel
from botocore.response import StreamingBody
from pipelines.api.codec import ModelCodec
from pipelines.api.errors import ServiceError, UnknownOperation
from pipelines.api.rest import PROTOCOL_CODECS, RestRequest
from pipelines.api.rest_xml import RestXmlCodec
from pipelines.api.s3 import S3_WIRE
from pipelines.api.validation import service_model
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

MOMENT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def codec_for(service: str) -> ModelCodec:
    return (
        RestXmlCodec("s3", S3_WIRE)
        if service == "s3"
        else PROTOCOL_CODECS[service_model(service).protocol](service)
    )


def client_request(service: str, operation: str, params: dict[str, Any]) -> tuple[RestRequest, bytes]:
    """What boto3 sends for ``operation`` with ``params``, as the server receives it."""
    model = service_model(service)
    built = serialize.create_serializer(model.protocol, include_validation=False).serialize_to_request(
        params, model.operation_model(operation)
    )
    body = built["body"]
    if isinstance(body, dict):  # the query protocol's form, urlencoded by botocore's prepare step
        body = urlencode(body)
    path, _, literals = built["url_path"].partition("?")  # requestUri literals (?delete) ride on the path
    args = parse_qs(literals, keep_blank_values=True)
    query = built["query_string"]
    if isinstance(query, dict):
        args.update({k: v if isinstance(v, list) else [v] for k, v in query.items()})
    headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in built["headers"].items()}
    request = RestRequest(built["method"], path, headers, args)
    return request, body.encode() if isinstance(body, str) else bytes(body or b"")


def read_back(service: str, operation: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    codec = codec_for(service)
    request, body = client_request(service, operation, params)
    matched, labels = codec.match(request, body)
    return matched.name, codec.parse(matched, labels, request, body, request.args)


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "s3",
        "PutObject",
        {
            "Bucket": "bkt",
            "Key": "dir/a%41 b+c?d#e",
            "Body": b"\x00payload",
            "ContentType": "text/csv",
            "ContentMD5": "bm90IGEgcmVhbCBkaWdlc3Q=",
            "Metadata": {"Owner": "team-a", "run": "42"},
            "Expires": MOMENT,
            "IfNoneMatch": "*",
        },
    ),
    (
        "s3",
        "CopyObject",
        {"Bucket": "bkt", "Key": "dst", "CopySource": "bkt/src", "MetadataDirective": "REPLACE"},
    ),
    (
        "s3",
        "UploadPart",
        {"Bucket": "bkt", "Key": "k", "UploadId": "u" * 32, "PartNumber": 3, "Body": b"part"},
    ),
    (
        "s3",
        "CompleteMultipartUpload",
        {
            "Bucket": "bkt",
            "Key": "k",
            "UploadId": "u",
            "MultipartUpload": {
                "Parts": [{"PartNumber": 1, "ETag": '"a"'}, {"PartNumber": 2, "ETag": '"b"'}]
            },
        },
    ),
    (
        "s3",
        "DeleteObjects",
        {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b&<c>"}], "Quiet": True}},
    ),
    (
        "s3",
        "CreateBucket",
        {"Bucket": "bkt", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}},
    ),
    (
        "s3",
        "ListObjectsV2",
        {
            "Bucket": "bkt",
            "Prefix": "a/",
            "Delimiter": "/",
            "MaxKeys": 7,
            "FetchOwner": True,
            "StartAfter": "a/1",
        },
    ),
    ("s3", "ListObjects", {"Bucket": "bkt", "Marker": "m", "EncodingType": "url"}),
    (
        "s3",
        "GetObject",
        {
            "Bucket": "bkt",
            "Key": "k",
            "Range": "bytes=1-2",
            "IfModifiedSince": MOMENT,
            "ResponseContentType": "x/y",
        },
    ),
    ("s3", "HeadObject", {"Bucket": "bkt", "Key": "k", "IfMatch": '"e"'}),
    ("s3", "ListBuckets", {}),
    ("s3", "GetBucketLocation", {"Bucket": "bkt"}),
    ("s3", "AbortMultipartUpload", {"Bucket": "bkt", "Key": "k", "UploadId": "u"}),
    ("sts", "GetCallerIdentity", {}),
    (
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "RoleSessionName": "s",
            "DurationSeconds": 900,
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/x"}],
            "TransitiveTagKeys": [],
        },
    ),
    (
        "scheduler",
        "CreateSchedule",
        {
            "Name": "nightly",
            "ScheduleExpression": "rate(1 day)",
            "StartDate": MOMENT,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": "arn:aws:sagemaker:us-east-1:1:pipeline/p", "RoleArn": "arn:r"},
        },
    ),
    ("scheduler", "ListSchedules", {"GroupName": "g", "MaxResults": 5, "State": "ENABLED"}),
    ("ram", "GetResourceShares", {"resourceOwner": "SELF", "maxResults": 10}),
]


@pytest.mark.parametrize(
    ("service", "operation", "params"), REQUESTS, ids=[f"{s}-{o}" for s, o, _ in REQUESTS]
)
def test_what_boto3_sends_reads_back_as_its_parameters(
    service: str, operation: str, params: dict[str, Any]
) -> None:
    matched, parsed = read_back(service, operation, params)
    assert matched == operation
    expected = dict(params)
    if operation == "AssumeRole":
        expected["TransitiveTagKeys"] = []  # an empty query list is sent as "Key=" and read as []
    assert parsed == expected


@pytest.mark.parametrize(
    ("method", "target", "headers", "operation"),
    [
        ("PUT", "/b/k", {}, "PutObject"),
        ("PUT", "/b/k", {"x-amz-copy-source": "b/src"}, "CopyObject"),
        ("PUT", "/b/k?partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/b/k?partNumber=1&uploadId=u", {"x-amz-copy-source": "b/src"}, "UploadPartCopy"),
        ("PUT", "/b", {}, "CreateBucket"),
        ("PUT", "/b/", {}, "CreateBucket"),
        ("GET", "/", {}, "ListBuckets"),
        ("GET", "/b", {}, "ListObjects"),
        ("GET", "/b?list-type=2", {}, "ListObjectsV2"),
        ("GET", "/b?location", {}, "GetBucketLocation"),
        ("GET", "/b/dir/", {}, "GetObject"),
        ("POST", "/b/k?uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b?delete", {}, "DeleteObjects"),
        ("DELETE", "/b/k?uploadId=u", {}, "AbortMultipartUpload"),
        ("HEAD", "/b", {}, "HeadBucket"),
    ],
)
def test_operations_sharing_a_template_are_told_apart(
    method: str, target: str, headers: dict[str, str], operation: str
) -> None:
    request = Request(EnvironBuilder(method=method, path=target, headers=headers).get_environ())
    assert codec_for("s3").match(request)[0].name == operation


def test_a_label_is_decoded_once_from_the_path_as_sent() -> None:
    environ = EnvironBuilder(method="GET", path="/ignored").get_environ()
    # the target as sent: waitress's REQUEST_URI, copied to RAW_URI by pipelines.api.server
    environ["REQUEST_URI"] = environ["RAW_URI"] = "/bkt/a%2541%2Fb%3Fc?x-id=GetObject"
    operation, labels = codec_for("s3").match(Request(environ))
    assert (operation.name, labels) == ("GetObject", {"Bucket": "bkt", "Key": "a%41/b?c"})


def test_unknown_requests_and_actions_are_refused_by_name() -> None:
    with pytest.raises(UnknownOperation, match="no s3 operation at PATCH /b/k"):
        codec_for("s3").match(RestRequest("PATCH", "/b/k"))
    with pytest.raises(UnknownOperation, match="unknown sts action 'Nope'"):
        codec_for("sts").match(RestRequest("POST", "/"), b"Action=Nope&Version=2011-06-15")


def test_text_that_does_not_fit_its_member_is_left_for_the_validator() -> None:
    codec = codec_for("s3")
    request = RestRequest("GET", "/b/k", {"If-Modified-Since": "garbage"}, {"partNumber": ["x"]})
    operation, labels = codec.match(request)
    parsed = codec.parse(operation, labels, request, b"", request.args)
    assert parsed["IfModifiedSince"] == "garbage" and parsed["PartNumber"] == "x"


def test_malformed_xml_is_s3s_malformed_xml() -> None:
    codec = codec_for("s3")
    request = RestRequest("POST", "/b", args={"delete": [""]})
    operation, labels = codec.match(request)
    with pytest.raises(ServiceError) as caught:
        codec.parse(operation, labels, request, b"<Delete><Object>", request.args)
    assert caught.value.code == "MalformedXML"


def boto3_reads(service: str, operation: OperationModel, response: tuple[int, dict[str, str], bytes]) -> Any:
    status, headers, body = response
    stream: Any = body
    if operation.has_streaming_output:  # as botocore's endpoint hands it to the parser
        stream = StreamingBody(io.BytesIO(body), len(body))
    parsed = parsers.create_parser(service_model(service).protocol).parse(
        {"status_code": status, "headers": headers, "body": stream}, operation.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    if isinstance(parsed.get("Body"), StreamingBody):
        parsed["Body"] = parsed["Body"].read()
    return parsed


RESULTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "s3",
        "ListObjectsV2",
        {
            "IsTruncated": True,
            "Contents": [
                {
                    "Key": "a&b<c>",
                    "LastModified": MOMENT,
                    "ETag": '"e"',
                    "Size": 3,
                    "StorageClass": "STANDARD",
                },
                {"Key": "z", "LastModified": MOMENT, "ETag": '"f"', "Size": 0, "StorageClass": "STANDARD"},
            ],
            "Name": "bkt",
            "Prefix": "",
            "Delimiter": "/",
            "MaxKeys": 2,
            "CommonPrefixes": [{"Prefix": "a/"}],
            "KeyCount": 3,
            "NextContinuationToken": "t",
        },
    ),
    (
        "s3",
        "ListBuckets",
        {
            "Buckets": [{"Name": "bkt", "CreationDate": MOMENT, "BucketRegion": "eu-west-1"}],
            "Owner": {"ID": "local", "DisplayName": "local"},
        },
    ),
    ("s3", "ListBuckets", {"Buckets": [], "Owner": {"ID": "local", "DisplayName": "local"}}),
    (
        "s3",
        "GetObject",
        {
            "Body": b"\x00\x01data",
            "ContentLength": 6,
            "ContentType": "text/plain",
            "ETag": '"e"',
            "LastModified": MOMENT,
            "Metadata": {"owner": "team-a"},
            "ContentRange": "bytes 0-5/9",
            "AcceptRanges": "bytes",
        },
    ),
    ("s3", "HeadObject", {"ContentLength": 9, "ETag": '"e"', "LastModified": MOMENT, "Metadata": {}}),
    ("s3", "PutObject", {"ETag": '"e"'}),
    ("s3", "CopyObject", {"CopyObjectResult": {"ETag": '"e"', "LastModified": MOMENT}}),
    ("s3", "CreateMultipartUpload", {"Bucket": "bkt", "Key": "k", "UploadId": "u"}),
    ("s3", "CompleteMultipartUpload", {"Location": "/bkt/k", "Bucket": "bkt", "Key": "k", "ETag": '"e-2"'}),
    (
        "s3",
        "DeleteObjects",
        {"Deleted": [{"Key": "a"}], "Errors": [{"Key": "v", "Code": "NotImplemented", "Message": "no"}]},
    ),
    ("s3", "HeadBucket", {"BucketRegion": "eu-west-1"}),
    ("sts", "GetCallerIdentity", {"UserId": "1", "Account": "123456789012", "Arn": "arn:aws:iam::1:root"}),
    (
        "sts",
        "AssumeRole",
        {
            "Credentials": {
                "AccessKeyId": "AKID",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": MOMENT,
            },
            "AssumedRoleUser": {"AssumedRoleId": "r:s", "Arn": "arn:a"},
            "PackedPolicySize": 6,
        },
    ),
    ("scheduler", "GetSchedule", {"Name": "n", "CreationDate": MOMENT, "State": "ENABLED"}),
]


@pytest.mark.parametrize(("service", "operation", "result"), RESULTS, ids=[f"{s}-{o}" for s, o, _ in RESULTS])
def test_what_the_codec_writes_boto3_reads_as_the_result(
    service: str, operation: str, result: dict[str, Any]
) -> None:
    model = service_model(service).operation_model(operation)
    written = codec_for(service).serialize(model, result, strict=True, request_id="rid")
    assert boto3_reads(service, model, written) == result


def test_s3_documents_carry_s3s_root_elements_and_namespace() -> None:
    model = service_model("s3")
    codec = codec_for("s3")
    _, headers, body = codec.serialize(
        model.operation_model("ListObjectsV2"), {"Name": "bkt", "KeyCount": 0}, strict=True
    )
    assert headers["Content-Type"] == "application/xml"
    assert body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    )
    status, headers, body = codec.serialize(
        model.operation_model("GetBucketLocation"), {"LocationConstraint": "eu-west-1"}, strict=True
    )
    parsed: dict[str, Any] = {}
    parse_get_bucket_location(parsed, SimpleNamespace(raw=body, content=body))  # botocore's own reader
    assert parsed["LocationConstraint"] == "eu-west-1"
    assert codec.serialize(model.operation_model("DeleteObject"), {}, strict=True) == (204, {}, b"")


def test_query_results_carry_the_request_id() -> None:
    model = service_model("sts").operation_model("GetCallerIdentity")
    status, headers, body = codec_for("sts").serialize(
        model, {"UserId": "1", "Account": "1", "Arn": "a"}, strict=True, request_id="rid-1"
    )
    parsed = parsers.create_parser("query").parse(
        {"status_code": status, "headers": headers, "body": body}, model.output_shape
    )
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1" and headers["Content-Type"] == "text/xml"


@pytest.mark.parametrize("service", ["s3", "sts", "scheduler"])
def test_errors_read_back_as_their_code_and_message(service: str) -> None:
    error = ServiceError("NoSuchThing", "it <is> gone & forgotten", 404)
    response = codec_for(service).error_response(error, "rid")
    parsed = parsers.create_parser(service_model(service).protocol).parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body}, None
    )
    assert parsed["Error"]["Code"] == "NoSuchThing" and parsed["Error"]["Message"] == error.message
    assert response.status == 404


def test_a_head_error_has_no_body_and_boto3_reports_the_status() -> None:
    response = codec_for("s3").error_response(ServiceError("NoSuchKey", "gone", 404), "rid", head=True)
    assert response.body == b""
    parsed = parsers.create_parser("rest-xml").parse(
        {"status_code": 404, "headers": response.headers, "body": b""}, None
    )
    assert parsed["Error"]["Code"] == "404"


def test_rest_json_keeps_unknown_body_keys_for_the_validator() -> None:
    codec = codec_for("scheduler")
    request = RestRequest("POST", "/schedules/n")
    operation, labels = codec.match(request)
    parsed = codec.parse(operation, labels, request, json.dumps({"Bogus": 1}).encode(), {})
    assert parsed == {"Name": "n", "Bogus": 1}
