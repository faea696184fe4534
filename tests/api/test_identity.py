"""Identities that mean something: with secret keys in [accounts], every request's SigV4
signature (header or presigned URL) is recomputed with botocore's signer and must match.
Real boto3 clients throughout; raw HTTP where a client would not send the request."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pipelines.api.embedded import UnauthenticatedRemote, build_embedded_api

from tests.api.conftest import ROLE, Served, condition_definition, make_config, secret_of
from tests.api.raw_http import request

NO_RETRIES = BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"})


def code_of(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def raw_client(served: Served, service: str, **kwargs: Any) -> Any:
    return boto3.client(service, endpoint_url=served.url, region_name="us-east-1", **kwargs)


def create_pipeline(sm: Any, name: str = "p1") -> Any:
    return sm.create_pipeline(PipelineName=name, PipelineDefinition=condition_definition(), RoleArn=ROLE)


@pytest.fixture
def frozen_signing_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dt.datetime], None]]:
    """Sign as if the client's clock said ``when`` (the server's clock stays real)."""

    def at(when: dt.datetime) -> None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when.replace(tzinfo=None))

    yield at


def test_a_wrong_secret_is_refused_with_each_protocols_code(served: Served) -> None:
    wrong = {"access_key": "AKIDOWNER", "secret_key": "not-the-secret"}
    sm = served.client("sagemaker", **wrong)
    assert code_of(lambda: create_pipeline(sm)) == "InvalidSignatureException"
    assert code_of(lambda: served.client("s3", **wrong).list_buckets()) == "SignatureDoesNotMatch"
    assert (
        code_of(lambda: served.client("scheduler", **wrong).list_schedules()) == "InvalidSignatureException"
    )
    assert code_of(lambda: served.client("ram", **wrong).get_resource_shares(resourceOwner="SELF")) == (
        "InvalidSignatureException"
    )
    assert served.client("sagemaker").list_pipelines()["PipelineSummaries"] == []  # nothing happened


def test_an_unknown_access_key_is_refused(served: Served) -> None:
    stranger = {"access_key": "AKIDSTRANGER", "secret_key": "whatever"}
    assert code_of(lambda: served.client("sagemaker", **stranger).list_pipelines()) == (
        "UnrecognizedClientException"
    )
    assert code_of(lambda: served.client("s3", **stranger).list_buckets()) == "InvalidAccessKeyId"
    assert code_of(lambda: served.client("ram", **stranger).get_resource_shares(resourceOwner="SELF")) == (
        "UnrecognizedClientException"
    )


def test_an_unsigned_request_is_refused(served: Served) -> None:
    unsigned = BotoConfig(signature_version=UNSIGNED, retries={"total_max_attempts": 1})
    sm = raw_client(served, "sagemaker", config=unsigned)
    assert code_of(lambda: create_pipeline(sm)) == "MissingAuthenticationToken"
    s3 = raw_client(served, "s3", config=unsigned)
    assert code_of(lambda: s3.create_bucket(Bucket="anon")) == "AccessDenied"
    assert code_of(lambda: raw_client(served, "scheduler", config=unsigned).list_schedules()) == (
        "MissingAuthenticationToken"
    )
    assert not (served.config.object_root / "anon").exists()


def test_a_tampered_body_or_forged_signature_is_refused(served: Served) -> None:
    """Capture a correctly signed request, then replay it byte for byte (accepted) and altered."""
    captured: list[Any] = []
    sm = served.client("sagemaker")
    sm.meta.events.register("before-send.sagemaker", lambda request, **_: captured.append(request))
    sm.list_pipelines()
    sent = captured[0]
    headers = {
        k: v.decode() if isinstance(v, bytes) else v
        for k, v in sent.headers.items()
        if k.lower() != "content-length"
    }
    body = sent.body if isinstance(sent.body, bytes) else sent.body.encode()
    assert request(served.url, "POST", "/", body, headers).status == 200  # the control
    tampered = json.dumps({"MaxResults": 1}).encode()
    response = request(served.url, "POST", "/", tampered, headers)
    assert response.status == 403 and b"InvalidSignatureException" in response.body
    forged = dict(headers)
    forged["Authorization"] = headers["Authorization"][:-4] + "0000"
    response = request(served.url, "POST", "/", body, forged)
    assert response.status == 403 and b"InvalidSignatureException" in response.body


def test_signatures_from_a_clock_far_off_are_refused(served: Served, frozen_signing_time: Any) -> None:
    frozen_signing_time(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20))
    assert code_of(lambda: served.client("s3").list_buckets()) == "RequestTimeTooSkewed"
    assert code_of(lambda: served.client("sagemaker").list_pipelines()) == "InvalidSignatureException"
    frozen_signing_time(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    assert served.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


@pytest.mark.parametrize("form", ["s3v4", "default"])
def test_presigned_urls_are_verified(served: Served, frozen_signing_time: Any, form: str) -> None:
    s3 = served.client("s3")
    if form == "s3v4":
        s3 = raw_client(
            served,
            "s3",
            aws_access_key_id="AKIDOWNER",
            aws_secret_access_key=secret_of("AKIDOWNER"),
            config=BotoConfig(signature_version="s3v4"),
        )
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="report.txt", Body=b"the report")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "report.txt"}, ExpiresIn=300
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"the report"

    def status(target: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(target, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    marker = "X-Amz-Signature=" if form == "s3v4" else "&Signature="
    at = url.index(marker) + len(marker)
    forged = url[:at] + ("0" if url[at] != "0" else "1") + url[at + 1 :]
    assert status(forged)[0] == 403 and b"SignatureDoesNotMatch" in status(forged)[1]
    other_key = url.replace("/report.txt", "/other.txt")
    assert status(other_key)[0] == 403
    stranger = raw_client(
        served,
        "s3",
        aws_access_key_id="AKIDSTRANGER",
        aws_secret_access_key="x",
        config=BotoConfig(signature_version="s3v4" if form == "s3v4" else None),
    )
    unknown = stranger.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "report.txt"})
    assert b"InvalidAccessKeyId" in status(unknown)[1]
    frozen_signing_time(dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))  # SigV4: signed long ago
    expires_in = 60 if form == "s3v4" else -3600  # the older form: Expires in the past
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "bkt", "Key": "report.txt"}, ExpiresIn=expires_in
    )
    code, body = status(expired)
    assert code == 403 and b"<Code>AccessDenied</Code>" in body and b"expired" in body


def test_buckets_belong_to_the_account_that_created_them(served: Served) -> None:
    owner, reader = served.client("s3"), served.client("s3", access_key="AKIDREADER")
    owner.create_bucket(Bucket="owners")
    owner.put_object(Bucket="owners", Key="k", Body=b"private")
    reader.create_bucket(Bucket="readers")
    assert [b["Name"] for b in owner.list_buckets()["Buckets"]] == ["owners"]
    assert [b["Name"] for b in reader.list_buckets()["Buckets"]] == ["readers"]
    for call in (
        lambda: reader.get_object(Bucket="owners", Key="k"),
        lambda: reader.put_object(Bucket="owners", Key="k", Body=b"overwritten"),
        lambda: reader.delete_object(Bucket="owners", Key="k"),
        lambda: reader.list_objects_v2(Bucket="owners"),
        lambda: reader.delete_objects(Bucket="owners", Delete={"Objects": [{"Key": "k"}]}),
        lambda: reader.copy_object(
            Bucket="readers", Key="stolen", CopySource={"Bucket": "owners", "Key": "k"}
        ),
        lambda: reader.create_multipart_upload(Bucket="owners", Key="m"),
        lambda: reader.delete_bucket(Bucket="owners"),
    ):
        assert code_of(call) == "AccessDenied"
    assert code_of(lambda: reader.create_bucket(Bucket="owners")) == "BucketAlreadyExists"
    assert code_of(lambda: owner.create_bucket(Bucket="owners")) == "BucketAlreadyOwnedByYou"
    assert owner.get_object(Bucket="owners", Key="k")["Body"].read() == b"private"


def test_without_secrets_the_server_stays_on_loopback(tmp_path: Path) -> None:
    api = build_embedded_api(make_config(tmp_path, accounts={}))
    try:
        with pytest.raises(UnauthenticatedRemote, match="--allow-unauthenticated"):
            api.server("0.0.0.0", 0, run_scheduler=False, resume=False)
        with pytest.raises(UnauthenticatedRemote):
            api.server("::", 0, run_scheduler=False, resume=False)
        assert "single-user" in api.describe_security()
    finally:
        api.close()
    (tmp_path / "labels").mkdir()
    labels = build_embedded_api(make_config(tmp_path / "labels", accounts={"AKIDA": "111111111111"}))
    try:
        with pytest.raises(UnauthenticatedRemote):
            labels.server("0.0.0.0", 0, run_scheduler=False, resume=False)
        assert "NOT verified" in labels.describe_security()
    finally:
        labels.close()
