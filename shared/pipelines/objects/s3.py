"""Amazon S3 behind the object-store protocol: what the cloud engine reads (property files,
JsonGet) and where the DynamoDB store offloads bodies too large for an item.

``file://`` URIs name the embedded runtime's disk; in the cloud there is no such disk, so they
are refused with a typed error instead of being read from the Lambda's scratch space.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pipelines import aws
from pipelines.errors import ValidationError
from pipelines.objects.base import ObjectNotFound, split_uri

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})


class LocalUriInCloud(ValidationError):
    """A ``file://`` URI reached the S3 object store."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"{uri}: file:// URIs exist only in the embedded runtime; use an s3:// URI")


class S3ObjectStore:
    """``s3://bucket/key`` objects through one shared boto3 client (clients are thread-safe)."""

    def __init__(self, client: Any | None = None, *, region: str | None = None) -> None:
        self.client = client if client is not None else aws.client("s3", region)

    def get(self, uri: str) -> bytes:
        bucket, key = _bucket_key(uri)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            return bytes(body.read())
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                raise ObjectNotFound(uri) from exc
            raise

    def put(self, uri: str, data: bytes) -> None:
        bucket, key = _bucket_key(uri)
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def exists(self, uri: str) -> bool:
        bucket, key = _bucket_key(uri)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND_CODES:
                return False
            raise
        return True

    def list(self, prefix_uri: str) -> list[str]:
        bucket, prefix = _bucket_key(prefix_uri)
        uris: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            uris.extend(f"s3://{bucket}/{item['Key']}" for item in page.get("Contents", []))
        return sorted(uris)

    def delete(self, uri: str) -> None:
        bucket, key = _bucket_key(uri)
        self.client.delete_object(Bucket=bucket, Key=key)


def _bucket_key(uri: str) -> tuple[str, str]:
    scheme, bucket, key = split_uri(uri)
    if scheme != "s3":
        raise LocalUriInCloud(uri)
    return bucket, key


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
