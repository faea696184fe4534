"""aws-chunked uploads (boto3's streamed, checksummed PutObject/UploadPart) over raw HTTP: the
payload is decoded, its length checked against ``x-amz-decoded-content-length`` and its
trailing checksum verified; a body that fails either is refused and nothing is stored."""

from __future__ import annotations

import base64
import zlib

import pytest

from tests.api.conftest import Served
from tests.api.raw_http import request


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def chunked(data: bytes, checksum: str) -> bytes:
    return b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (len(data), data, checksum.encode())


def put_chunked(served: Served, key: str, body: bytes, decoded_length: int) -> tuple[int, bytes]:
    response = request(
        served.url,
        "PUT",
        f"/bkt/{key}",
        body,
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length": str(decoded_length),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
    )
    return response.status, response.body


@pytest.fixture
def bucket(single_user: Served) -> Served:
    single_user.client("s3").create_bucket(Bucket="bkt")
    return single_user


def test_a_chunked_upload_with_its_trailing_checksum_is_stored_decoded(bucket: Served) -> None:
    status, _ = put_chunked(bucket, "ok", chunked(b"hello", crc32(b"hello")), 5)
    assert status == 200
    got = bucket.client("s3").get_object(Bucket="bkt", Key="ok")
    assert got["Body"].read() == b"hello" and "ContentEncoding" not in got


@pytest.mark.parametrize(
    ("body", "length", "code"),
    [
        (chunked(b"hello", crc32(b"hellO")), 5, b"BadDigest"),
        (chunked(b"hello", crc32(b"hello")), 6, b"IncompleteBody"),
        (b"5\r\nhel", 5, b"IncompleteBody"),
    ],
    ids=["wrong-trailing-checksum", "wrong-decoded-length", "truncated"],
)
def test_a_chunked_upload_that_does_not_add_up_is_refused(
    bucket: Served, body: bytes, length: int, code: bytes
) -> None:
    status, answer = put_chunked(bucket, "bad", body, length)
    assert status == 400 and b"<Code>" + code + b"</Code>" in answer
    assert request(bucket.url, "HEAD", "/bkt/bad").status == 404
