"""``pipelines serve`` runs and serves S3 and STS with moto impossible to import.

moto is a test dependency only (requirements-dev.txt): the server's protocols are read and
written from botocore's model (``pipelines.api.codec``). The server runs in a subprocess whose
import system refuses ``moto`` (a meta-path finder raising ImportError), and real boto3 clients
drive it from outside.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from pipelines.testing import ServeProcess

BLOCK_MOTO = textwrap.dedent(
    """
    import sys

    class RefuseMoto:
        def find_spec(self, name, path=None, target=None):
            if name == "moto" or name.startswith("moto."):
                raise ImportError(f"moto is blocked in this process: {name}")
            return None

    sys.meta_path.insert(0, RefuseMoto())
    """
)
SERVE = BLOCK_MOTO + textwrap.dedent(
    """
    sys.argv[0] = "pipelines"
    from pipelines.cli import main
    try:
        main()
    finally:
        assert not any(m == "moto" or m.startswith("moto.") for m in sys.modules), "moto was imported"
    """
)


def test_the_blocker_refuses_moto() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_MOTO + "import moto\n"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "moto is blocked in this process: moto" in done.stderr


@pytest.fixture
def served_without_moto(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    with ServeProcess(tmp_path, command=(sys.executable, "-c", SERVE)) as server:
        yield server.url
        assert server.stop() == 0, server.output()


def test_s3_and_sts_are_served_without_moto(served_without_moto: str, tmp_path: Path) -> None:
    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=served_without_moto,
            region_name="eu-west-1",
            aws_access_key_id="AKIDLOCAL",
            aws_secret_access_key="secret",
            config=BotoConfig(retries={"total_max_attempts": 1}),
        )

    s3, sts = client("s3"), client("sts")
    assert sts.get_caller_identity()["Account"] == "000000000000"
    s3.create_bucket(Bucket="bkt", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket="bkt")["LocationConstraint"] == "eu-west-1"
    s3.put_object(
        Bucket="bkt", Key="dir/a b%.txt", Body=b"hello", ContentType="text/plain", Metadata={"k": "v"}
    )
    got = s3.get_object(Bucket="bkt", Key="dir/a b%.txt")
    assert (got["Body"].read(), got["ContentType"], got["Metadata"]) == (b"hello", "text/plain", {"k": "v"})
    assert s3.head_object(Bucket="bkt", Key="dir/a b%.txt")["ContentLength"] == 5
    listed = s3.list_objects_v2(Bucket="bkt", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["dir/"] and listed["KeyCount"] == 1
    upload = s3.create_multipart_upload(Bucket="bkt", Key="big")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket="bkt", Key="big", UploadId=upload, PartNumber=n, Body=data)["ETag"],
        }
        for n, data in ((1, b"a" * 100), (2, b"b" * 50))
    ]
    s3.complete_multipart_upload(Bucket="bkt", Key="big", UploadId=upload, MultipartUpload={"Parts": parts})
    source = tmp_path / "streamed.bin"
    source.write_bytes(b"streamed")
    s3.upload_file(str(source), "bkt", "streamed.bin")  # aws-chunked with a trailing checksum
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "bkt", "Key": "big"})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"a" * 100 + b"b" * 50
    assert s3.get_object(Bucket="bkt", Key="streamed.bin")["Body"].read() == b"streamed"
    deleted = s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "big"}, {"Key": "streamed.bin"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["big", "streamed.bin"]
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="bkt", Key="big")
