"""ListObjectsV2 while other clients write: an object deleted between the listing of the folder
and the reading of its metadata is left out of the page, never a server error."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pipelines.api.s3 import ObjectRoot

from tests.api.conftest import Served


def test_an_object_deleted_while_listed_is_left_out(
    single_user: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = single_user.client("s3")
    s3.create_bucket(Bucket="bkt")
    for key in ("a", "c"):
        s3.put_object(Bucket="bkt", Key=key, Body=b"x")
    listed = ObjectRoot.keys

    def with_a_vanished_key(self: ObjectRoot, bucket: str, prefix: str) -> list[str]:
        return sorted([*listed(self, bucket, prefix), "b"])  # "b" was listed, then deleted

    monkeypatch.setattr(ObjectRoot, "keys", with_a_vanished_key)
    page = s3.list_objects_v2(Bucket="bkt")
    assert [o["Key"] for o in page["Contents"]] == ["a", "c"] and page["KeyCount"] == 2
    first = s3.list_objects_v2(Bucket="bkt", MaxKeys=1)
    assert [o["Key"] for o in first["Contents"]] == ["a"] and first["IsTruncated"]


@pytest.mark.parametrize("operation", ["list_objects_v2", "list_objects"])
def test_a_negative_max_keys_is_an_invalid_argument_and_zero_an_empty_page(
    single_user: Served, operation: str
) -> None:
    """S3 refuses max-keys outside 0..2^31-1 (InvalidArgument, 400); it used to answer an empty page."""
    s3 = single_user.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="a", Body=b"x")
    with pytest.raises(ClientError) as refused:
        getattr(s3, operation)(Bucket="bkt", MaxKeys=-5)
    error = refused.value.response
    assert error["Error"]["Code"] == "InvalidArgument", error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "maxKeys" in error["Error"]["Message"]
    empty = getattr(s3, operation)(Bucket="bkt", MaxKeys=0)
    assert "Contents" not in empty
