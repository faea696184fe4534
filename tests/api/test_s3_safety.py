"""The S3 endpoint maps keys to files faithfully or refuses, and never leaves the object root.

Written from the outside: raw HTTP (the request target is sent byte for byte) and boto3.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import Served
from tests.api.raw_http import RawResponse, request


def put(served: Served, target: str, body: bytes, headers: dict[str, str] | None = None) -> RawResponse:
    return request(served.url, "PUT", target, body, headers)


def error_code(response: RawResponse) -> str:
    match = re.search(rb"<Code>([^<]*)</Code>", response.body)
    return match.group(1).decode() if match else ""


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def bucket(single_user: Served) -> Served:
    assert put(single_user, "/bkt", b"").status == 200
    assert put(single_user, "/bkt2", b"").status == 200
    return single_user


def test_different_keys_are_different_objects(bucket: Served) -> None:
    s3 = bucket.client("s3")
    keys = ["a.txt", "a.txt#x", "a.txt?x=1", "a.txt;v=2", "a%2Etxt", "d/x", "d x", "ü/ß"]
    for key in keys:
        s3.put_object(Bucket="bkt", Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket="bkt", Key=key)["Body"].read() == key.encode(), key
    listed = s3.list_objects_v2(Bucket="bkt")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(keys)


@pytest.mark.parametrize(
    "target",
    [
        "/bkt/./a.txt",
        "/bkt/x/../a.txt",
        "/bkt/x/%2E%2E/a.txt",
        "/bkt/d//x",
        "/bkt/d/./x",
        "/bkt/d/%2E/x",
        "/bkt/..%2Fbkt2/x",
        "/bkt/%2E%2E/bkt2/x",
        "/bkt/%2Flead",
        "/bkt/trail/",
        "/bkt/a%00b",
        "/bkt/.tmp-abc",
    ],
)
def test_keys_the_filesystem_cannot_hold_faithfully_are_refused(bucket: Served, target: str) -> None:
    before = files_under(bucket.config.object_root.parent)
    response = put(bucket, target, b"payload")
    assert response.status == 400, response.body
    assert error_code(response) == "InvalidArgument"
    assert files_under(bucket.config.object_root.parent) == before  # nothing written anywhere
    assert request(bucket.url, "GET", target).status == 400


def test_a_key_written_in_one_bucket_never_lands_in_another(bucket: Served) -> None:
    s3 = bucket.client("s3")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="bkt", Key="../bkt2/x", Body=b"sneaky")
    assert caught.value.response["Error"]["Code"] == "InvalidArgument"
    assert s3.list_objects_v2(Bucket="bkt2").get("KeyCount") == 0


def test_long_keys_and_long_segments_are_refused_with_s3_errors(bucket: Served) -> None:
    long_key = put(bucket, "/bkt/" + "k" * 1025, b"x")
    assert (long_key.status, error_code(long_key)) == (400, "KeyTooLongError")
    long_segment = put(bucket, "/bkt/" + "s" * 256 + "/x", b"x")
    assert (long_segment.status, error_code(long_segment)) == (400, "InvalidArgument")


def test_a_key_and_a_longer_key_through_it_are_refused_not_a_server_error(bucket: Served) -> None:
    assert put(bucket, "/bkt/a", b"file").status == 200
    below = put(bucket, "/bkt/a/b", b"x")
    assert (below.status, error_code(below)) == (400, "InvalidArgument")
    assert put(bucket, "/bkt/c/d", b"x").status == 200
    over = put(bucket, "/bkt/c", b"x")
    assert (over.status, error_code(over)) == (400, "InvalidArgument")
    assert request(bucket.url, "GET", "/bkt/a").body == b"file"


@pytest.mark.parametrize("target", ["/bk%00t", "/%2E%2E", "/..%2Fstate", "/.hidden", "/%2E"])
def test_bad_bucket_names_are_refused(bucket: Served, target: str) -> None:
    for method in ("PUT", "GET", "DELETE"):
        response = request(bucket.url, method, target)
        assert response.status == 400, (method, response.body)
        assert error_code(response) == "InvalidBucketName"
        response = request(bucket.url, method, target + "/key")
        assert response.status == 400, (method, response.body)


def test_listing_never_leaves_the_bucket_or_names_host_files(bucket: Served, tmp_path: Path) -> None:
    outside = tmp_path / "OUTSIDE"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    bucket.client("s3").put_object(Bucket="bkt", Key="inside/k", Body=b"k")
    for query in (
        "prefix=../../OUTSIDE/&delimiter=/",
        "prefix=../../&delimiter=/",
        "prefix=../",
        "prefix=../../OUTSIDE/",
        "prefix=../../../../../../etc/",
        "prefix=/etc/",
        "prefix=inside/../../",
    ):
        response = request(bucket.url, "GET", f"/bkt?list-type=2&{query}")
        assert response.status == 200, response.body
        assert b"<Contents>" not in response.body and b"<CommonPrefixes>" not in response.body, query
        assert str(tmp_path).encode() not in response.body
        assert b"OUTSIDE" not in response.body.replace(b"<Prefix>../../OUTSIDE/</Prefix>", b"")


def test_errors_never_name_host_files(bucket: Served, tmp_path: Path) -> None:
    for method, target in [
        ("GET", "/bkt/%2Fetc%2Fpasswd"),
        ("GET", "/bkt?list-type=2&prefix=../../../../etc/ssh/"),
        ("PUT", "/bkt/a/" + "x" * 300),
        ("DELETE", "/bkt/..%2F..%2Fstate"),
        ("GET", "/bkt2/..%2Fbkt%2Finside"),
    ]:
        response = request(bucket.url, method, target, b"x" if method == "PUT" else b"")
        assert response.status < 500, (target, response.body)
        assert str(tmp_path).encode() not in response.body
        assert b"/etc/ssh/ssh_config" not in response.body


@pytest.mark.parametrize("form", ["absolute", "relative", "encoded", "not-made-here"])
def test_multipart_state_is_addressed_only_by_ids_the_server_made(bucket: Served, form: str) -> None:
    # A folder that looks like upload state, written through S3 itself, beside an unrelated file.
    s3 = bucket.client("s3")
    s3.create_multipart_upload(Bucket="bkt", Key="other")  # the server's own upload state exists
    s3.put_object(
        Bucket="bkt", Key="evil/upload.json", Body=b'{"Bucket": "bkt", "Key": "k", "attributes": {}}'
    )
    s3.put_object(Bucket="bkt", Key="evil/keep.txt", Body=b"keep me")
    folder = bucket.config.object_root / "bkt" / "evil"
    upload_id = {
        "absolute": str(folder),
        "relative": "../../objects/bkt/evil",
        "encoded": "..%2F..%2Fobjects%2Fbkt%2Fevil",
        "not-made-here": "0" * 31 + "g",
    }[form]
    before = files_under(bucket.config.object_root)
    part = request(bucket.url, "PUT", f"/bkt/k?partNumber=1&uploadId={upload_id}", b"part")
    assert (part.status, error_code(part)) == (404, "NoSuchUpload")
    abort = request(bucket.url, "DELETE", f"/bkt/k?uploadId={upload_id}")
    assert (abort.status, error_code(abort)) == (404, "NoSuchUpload")
    assert (folder / "keep.txt").read_bytes() == b"keep me"
    assert files_under(bucket.config.object_root) == before


def test_an_upload_id_of_another_key_names_nothing(bucket: Served) -> None:
    s3 = bucket.client("s3")
    upload = s3.create_multipart_upload(Bucket="bkt", Key="one")["UploadId"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket="bkt", Key="two", UploadId=upload, PartNumber=1, Body=b"x")
    assert caught.value.response["Error"]["Code"] == "NoSuchUpload"


def test_object_metadata_survives_a_round_trip(bucket: Served) -> None:
    s3 = bucket.client("s3")
    s3.put_object(
        Bucket="bkt",
        Key="m/data.csv",
        Body=b"a,b\n",
        ContentType="text/csv; charset=utf-8",
        Metadata={"Owner": "Team-A", "run": "42"},
        ContentDisposition="attachment",
    )
    etag = '"' + hashlib.md5(b"a,b\n").hexdigest() + '"'
    for described in (
        s3.get_object(Bucket="bkt", Key="m/data.csv"),
        s3.head_object(Bucket="bkt", Key="m/data.csv"),
    ):
        assert described["ContentType"] == "text/csv; charset=utf-8"
        assert described["Metadata"] == {"owner": "Team-A", "run": "42"}  # S3 lower-cases the names
        assert described["ETag"] == etag
        assert described["ContentDisposition"] == "attachment"
    assert s3.list_objects_v2(Bucket="bkt", Prefix="m/")["Contents"][0]["ETag"] == etag
    s3.copy_object(Bucket="bkt2", Key="copy.csv", CopySource={"Bucket": "bkt", "Key": "m/data.csv"})
    copied = s3.head_object(Bucket="bkt2", Key="copy.csv")
    assert (copied["ContentType"], copied["Metadata"], copied["ETag"]) == (
        "text/csv; charset=utf-8",
        {"owner": "Team-A", "run": "42"},
        etag,
    )
    upload = s3.create_multipart_upload(
        Bucket="bkt", Key="mp.bin", ContentType="application/x-thing", Metadata={"K": "v"}
    )["UploadId"]
    part = s3.upload_part(Bucket="bkt", Key="mp.bin", UploadId=upload, PartNumber=1, Body=b"p" * 10)
    done = s3.complete_multipart_upload(
        Bucket="bkt",
        Key="mp.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    multipart = s3.head_object(Bucket="bkt", Key="mp.bin")
    assert (multipart["ContentType"], multipart["Metadata"], multipart["ETag"]) == (
        "application/x-thing",
        {"k": "v"},
        done["ETag"],
    )


@pytest.mark.parametrize(
    "header", ["bytes=0-" + "9" * 5000, "bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 5000]
)
def test_a_range_with_thousands_of_digits_is_not_a_server_error(bucket: Served, header: str) -> None:
    assert put(bucket, "/bkt/r", b"0123456789").status == 200
    response = request(bucket.url, "GET", "/bkt/r", headers={"Range": header})
    assert response.status in (206, 416), response.body
    if response.status == 206:
        assert response.body == b"0123456789"


def test_an_empty_object_uploads_and_reads_back(bucket: Served) -> None:
    """botocore sends ``Expect: 100-continue`` with an empty PutObject body; the server must
    answer it rather than wait for a body that never comes (the SDK uploads empty files)."""
    s3 = bucket.client("s3")
    s3.meta.config.read_timeout = 10
    s3.put_object(Bucket="bkt", Key="empty.txt", Body=b"")
    assert s3.get_object(Bucket="bkt", Key="empty.txt")["Body"].read() == b""
    assert s3.head_object(Bucket="bkt", Key="empty.txt")["ContentLength"] == 0
