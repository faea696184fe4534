"""The S3-compatible endpoint: real boto3 S3 calls over the local object root."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pipelines.objects import LocalObjectStore

from tests.api.conftest import Served


@pytest.fixture
def s3(served: Served):
    client = served.client("s3")
    client.create_bucket(Bucket="bkt")
    return client


def test_put_get_head_round_trip_with_metadata(s3, served: Served) -> None:
    s3.put_object(
        Bucket="bkt", Key="dir/a b+c.txt", Body=b"hello", ContentType="text/plain", Metadata={"Who": "me"}
    )
    got = s3.get_object(Bucket="bkt", Key="dir/a b+c.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"who": "me"}
    head = s3.head_object(Bucket="bkt", Key="dir/a b+c.txt")
    assert head["ContentLength"] == 5 and head["ETag"] == got["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    # the object is the file the runners see
    assert (served.config.object_root / "bkt" / "dir" / "a b+c.txt").read_bytes() == b"hello"


def test_files_written_by_runners_are_visible(s3, served: Served) -> None:
    LocalObjectStore(served.config.object_root).put("s3://bkt/out/result.json", b'{"x": 1}')
    listed = s3.list_objects_v2(Bucket="bkt", Prefix="out/")
    assert [o["Key"] for o in listed["Contents"]] == ["out/result.json"]
    got = s3.get_object(Bucket="bkt", Key="out/result.json")
    assert got["Body"].read() == b'{"x": 1}' and got["ContentType"] == "binary/octet-stream"


def test_list_with_delimiter_and_pagination(s3) -> None:
    for key in ["a/1", "a/2", "b/1", "c", "d"]:
        s3.put_object(Bucket="bkt", Key=key, Body=key.encode())
    top = s3.list_objects_v2(Bucket="bkt", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in top["Contents"]] == ["c", "d"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", PaginationConfig={"PageSize": 2})
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == ["a/1", "a/2", "b/1", "c", "d"]
    v1 = s3.list_objects(Bucket="bkt", Prefix="a/")
    assert [o["Key"] for o in v1["Contents"]] == ["a/1", "a/2"]


def test_ranged_get_and_conditional_get(s3) -> None:
    s3.put_object(Bucket="bkt", Key="k", Body=b"0123456789")
    ranged = s3.get_object(Bucket="bkt", Key="k", Range="bytes=2-4")
    assert ranged["Body"].read() == b"234" and ranged["ContentRange"] == "bytes 2-4/10"
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="bkt", Key="k", IfMatch='"nope"')
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"


def test_multipart_upload_and_download(s3, tmp_path: Path, served: Served) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (40 * 1024 + 3))  # ~10 MiB: two parts
    s3.upload_file(str(source), "bkt", "big/file.bin")
    head = s3.head_object(Bucket="bkt", Key="big/file.bin")
    assert head["ContentLength"] == source.stat().st_size and head["ETag"].endswith('-2"')
    target = tmp_path / "down.bin"
    s3.download_file("bkt", "big/file.bin", str(target))
    assert target.read_bytes() == source.read_bytes()
    assert not list((served.config.state_dir / "s3-uploads").iterdir())


def test_streamed_upload_is_decoded_from_aws_chunked(s3) -> None:
    s3.upload_fileobj(io.BytesIO(b"streamed payload"), "bkt", "stream.txt")
    assert s3.get_object(Bucket="bkt", Key="stream.txt")["Body"].read() == b"streamed payload"


def test_copy_and_delete(s3) -> None:
    s3.put_object(Bucket="bkt", Key="src", Body=b"data", ContentType="text/csv")
    s3.copy_object(Bucket="bkt", Key="dst", CopySource={"Bucket": "bkt", "Key": "src"})
    assert s3.get_object(Bucket="bkt", Key="dst")["ContentType"] == "text/csv"
    s3.delete_object(Bucket="bkt", Key="src")
    deleted = s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "dst"}]})
    assert deleted["Deleted"] == [{"Key": "dst"}]
    assert s3.list_objects_v2(Bucket="bkt")["KeyCount"] == 0


def test_bucket_lifecycle_and_errors(s3) -> None:
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["bkt"]
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="bkt")
    assert caught.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="bkt", Key="missing")
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket="bkt", Key="missing")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.put_object(Bucket="nobucket", Key="k", Body=b"x")
    s3.put_object(Bucket="bkt", Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="bkt")
    assert caught.value.response["Error"]["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket="bkt", Key="k")
    s3.delete_bucket(Bucket="bkt")
    assert s3.list_buckets()["Buckets"] == []


def test_unsupported_features_are_refused_not_ignored(s3) -> None:
    s3.put_object(Bucket="bkt", Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="bkt", Key="k", VersionId="v1")
    assert caught.value.response["Error"]["Code"] == "NotImplemented"


def test_bad_checksum_is_rejected(single_user: Served) -> None:
    import urllib.error
    import urllib.request

    single_user.client("s3").create_bucket(Bucket="bkt")
    request = urllib.request.Request(
        single_user.url + "/bkt/k",
        data=b"payload",
        method="PUT",
        headers={
            "x-amz-checksum-crc32": "AAAAAA==",
            "Authorization": "AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/s3/aws4_request",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400 and b"BadDigest" in caught.value.read()
