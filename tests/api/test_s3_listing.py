"""ListObjects and ListObjectsV2 through real boto3 clients: pages in S3's order (keys whose
bytes a folder walk would misplace), paging through thousands of keys with and without a
delimiter, the url encoding, and objects that change while they are listed. The reference is S3's
definition of a listing (tests/objects/reference.py), and moto's server for ListObjectsV2."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from pipelines.objects import Listed, LocalObjectStore

from tests.api.conftest import Served
from tests.objects.reference import TRICKY, expected


@pytest.fixture
def s3(single_user: Served) -> Any:
    client = single_user.client("s3")
    client.create_bucket(Bucket="bkt")
    return client


def page_items(page: dict[str, Any]) -> list[Listed]:
    """A page's objects and common prefixes in the order S3 counts them off."""
    items = [Listed(o["Key"]) for o in page.get("Contents", [])]
    items += [Listed(p["Prefix"], True) for p in page.get("CommonPrefixes", [])]
    return sorted(items, key=lambda item: item.name.encode("utf-8"))


def pages_v2(s3: Any, *, moto: bool = False, **params: Any) -> list[dict[str, Any]]:
    """Every page, each request continuing from the last answer's NextContinuationToken (which
    S3 echoes as ContinuationToken; moto's server does not)."""
    pages = [s3.list_objects_v2(Bucket="bkt", **params)]
    while pages[-1]["IsTruncated"]:
        token = pages[-1]["NextContinuationToken"]
        pages.append(s3.list_objects_v2(Bucket="bkt", ContinuationToken=token, **params))
        assert moto or pages[-1]["ContinuationToken"] == token
    return pages


def pages_v1(s3: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page, each request's Marker the NextMarker (with a delimiter) or the last key."""
    pages = [s3.list_objects(Bucket="bkt", **params)]
    while pages[-1]["IsTruncated"]:
        marker = pages[-1]["NextMarker"] if params.get("Delimiter") else pages[-1]["Contents"][-1]["Key"]
        if not params.get("Delimiter"):
            assert "NextMarker" not in pages[-1]  # S3 gives it only with a delimiter
        pages.append(s3.list_objects(Bucket="bkt", Marker=marker, **params))
        assert pages[-1]["Marker"] == marker
    return pages


def check_pages(pages: list[dict[str, Any]], want: list[Listed], page_size: int) -> None:
    """Each page a full run of ``want`` (the last one the rest), counted and flagged as S3 does."""
    assert len(pages) == max(1, -(-len(want) // page_size))
    for number, page in enumerate(pages):
        chunk = want[number * page_size : (number + 1) * page_size]
        assert page_items(page) == chunk, number
        assert page["IsTruncated"] is (number < len(pages) - 1)
        assert page["MaxKeys"] == page_size
        if "KeyCount" in page or "StartAfter" in page or "ContinuationToken" in page:
            assert page["KeyCount"] == len(chunk)
            assert ("NextContinuationToken" in page) is page["IsTruncated"]


def seed_tricky(served: Served, s3: Any) -> None:
    """Half through PutObject, half written as a runner writes them (no stored metadata)."""
    store = LocalObjectStore(served.config.object_root)
    for number, key in enumerate(TRICKY):
        if number % 2:
            s3.put_object(Bucket="bkt", Key=key, Body=key.encode())
        else:
            store.put(f"s3://bkt/{key}", key.encode())


@pytest.mark.parametrize("delimiter", ["", "/", "-"])
def test_pages_come_in_utf8_byte_order_whatever_the_page_size(
    single_user: Served, s3: Any, delimiter: str
) -> None:
    """'a-b/c' < 'a.b' < 'a/b-c' < 'a/b/c-d' < 'a0', non-ASCII by its UTF-8 bytes; prefixes
    that end mid-name ('a', 'a/b') roll up at the delimiter after them."""
    seed_tricky(single_user, s3)
    extra = {"Delimiter": delimiter} if delimiter else {}
    for prefix, size in itertools.product(["", "a", "a/", "a/b", "z/"], [1, 3, 1000]):
        want = expected(TRICKY, prefix, "", delimiter)
        check_pages(pages_v2(s3, Prefix=prefix, MaxKeys=size, **extra), want, size)
        check_pages(pages_v1(s3, Prefix=prefix, MaxKeys=size, **extra), want, size)


def test_start_after_anywhere_lists_what_s3_lists(s3: Any, single_user: Served) -> None:
    seed_tricky(single_user, s3)
    for delimiter, after in itertools.product(
        ["", "/"], ["a", "a-b/c", "a-c", "a/", "a/b/", "a/b/c-d", "a~", "z/~"]
    ):
        extra = {"Delimiter": delimiter} if delimiter else {}
        pages = pages_v2(s3, StartAfter=after, MaxKeys=4, **extra)
        check_pages(pages, expected(TRICKY, "", after, delimiter), 4)
        assert all(page["StartAfter"] == after for page in pages)


def seed_thousands(served: Served) -> list[str]:
    """2,500 keys: 1,500 objects in one folder, 1,000 in 25 folders beside them."""
    store = LocalObjectStore(served.config.object_root)
    keys = [f"data/shard-{n:04d}" for n in range(1500)]
    keys += [f"data/part-{p:02d}/file-{n:02d}.csv" for p in range(25) for n in range(40)]
    for key in keys:
        store.put(f"s3://bkt/{key}", key.encode())
    return sorted(keys)


def test_paging_through_2500_keys(s3: Any, single_user: Served) -> None:
    keys = seed_thousands(single_user)
    pages = pages_v2(s3, Prefix="data/")
    assert [page["KeyCount"] for page in pages] == [1000, 1000, 500]
    check_pages(pages, [Listed(key) for key in keys], 1000)
    assert [o["Key"] for page in pages_v1(s3) for o in page["Contents"]] == keys
    first = pages[0]["Contents"][0]
    assert first["Key"] == "data/part-00/file-00.csv" and first["Size"] == len(first["Key"])
    assert first["ETag"] == f'"{hashlib.md5(first["Key"].encode()).hexdigest()}"'
    paginated = s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", PaginationConfig={"PageSize": 700})
    assert [o["Key"] for page in paginated for o in page["Contents"]] == keys


def test_paging_through_2500_keys_with_a_delimiter(s3: Any, single_user: Served) -> None:
    keys = seed_thousands(single_user)
    want = expected(keys, "data/", "", "/")
    assert (
        len(want) == 1525
        and want[0] == Listed("data/part-00/", True)
        and want[25] == Listed("data/shard-0000")
    )
    for size in (1000, 10):
        check_pages(pages_v2(s3, Prefix="data/", Delimiter="/", MaxKeys=size), want, size)
    check_pages(pages_v1(s3, Prefix="data/", Delimiter="/"), want, 1000)
    top = s3.list_objects_v2(Bucket="bkt", Delimiter="/")
    assert page_items(top) == [Listed("data/", True)] and top["IsTruncated"] is False
    inside = s3.list_objects_v2(Bucket="bkt", Prefix="data/part-1", Delimiter="/")
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == [f"data/part-{n}/" for n in range(10, 20)]
    by_dash = s3.list_objects_v2(Bucket="bkt", Prefix="data/", Delimiter="-")
    assert page_items(by_dash) == [Listed("data/part-", True), Listed("data/shard-", True)]


def test_url_encoding_when_the_client_asks_for_it(s3: Any) -> None:
    """boto3 asks for EncodingType=url itself and decodes; a client that asks explicitly gets
    every key-like member encoded: Key, Prefix, Delimiter, StartAfter, Marker, NextMarker."""
    for key in ("dir one/a+b", "dir one/a%b", "dir one/é x/y"):
        s3.put_object(Bucket="bkt", Key=key, Body=b"x")
    v2 = s3.list_objects_v2(
        Bucket="bkt", Prefix="dir one/", Delimiter=" ", StartAfter="dir one/a b", EncodingType="url"
    )
    assert v2["EncodingType"] == "url"
    assert [o["Key"] for o in v2["Contents"]] == ["dir%20one/a%25b", "dir%20one/a%2Bb"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["dir%20one/%C3%A9%20"]
    assert (v2["Prefix"], v2["Delimiter"], v2["StartAfter"]) == ("dir%20one/", "%20", "dir%20one/a%20b")
    v1 = s3.list_objects(
        Bucket="bkt", Prefix="dir one/", Marker="dir one/a b", Delimiter=" ", MaxKeys=1, EncodingType="url"
    )
    assert (v1["Marker"], v1["NextMarker"]) == ("dir%20one/a%20b", "dir%20one/a%25b")
    decoded = s3.list_objects(Bucket="bkt", Marker="dir one/a%b")  # boto3 encodes and decodes
    assert decoded["Marker"] == "dir one/a%b" and [o["Key"] for o in decoded["Contents"]] == [
        "dir one/a+b",
        "dir one/\u00e9 x/y",
    ]


def test_a_file_a_runner_rewrites_is_listed_with_its_new_etag(s3: Any, single_user: Served) -> None:
    store = LocalObjectStore(single_user.config.object_root)
    for body in (b"first", b"second!", b"third!!"):
        store.put("s3://bkt/out/model.tar.gz", body)
        (listed,) = s3.list_objects_v2(Bucket="bkt")["Contents"]
        assert listed["ETag"] == f'"{hashlib.md5(body).hexdigest()}"' and listed["Size"] == len(body)
        assert s3.head_object(Bucket="bkt", Key="out/model.tar.gz")["ETag"] == listed["ETag"]


@pytest.fixture
def moto_s3() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    server.stop()


def test_list_objects_v2_answers_as_motos_server_does(s3: Any, moto_s3: Any) -> None:
    """The same keys in both; every page of every listing alike, but the opaque tokens (and the
    StartAfter and ContinuationToken that S3 echoes and moto does not)."""
    moto_s3.create_bucket(Bucket="bkt")
    keys = [*TRICKY, *(f"n/{n:03d}" for n in range(30)), *(f"n/sub{n % 3}/{n}" for n in range(12))]
    for key in keys:
        s3.put_object(Bucket="bkt", Key=key, Body=key.encode())
        moto_s3.put_object(Bucket="bkt", Key=key, Body=key.encode())
    compared = ("Contents", "CommonPrefixes", "IsTruncated", "KeyCount", "Prefix", "Delimiter")
    for prefix, delimiter, after, size in itertools.product(
        ["", "a", "a/", "n/", "n/s"], ["", "/", "-", "b"], ["", "a/b/", "n/010"], [7, 1000]
    ):
        params = {"Prefix": prefix, "Delimiter": delimiter, "StartAfter": after, "MaxKeys": size}
        params = {name: value for name, value in params.items() if value != ""}
        ours, theirs = pages_v2(s3, **params), pages_v2(moto_s3, moto=True, **params)
        assert len(ours) == len(theirs), params
        for mine, moto in zip(ours, theirs, strict=True):
            for member in compared:
                got = mine.get(member)
                want = moto.get(member)
                if member == "Contents":
                    got = [(o["Key"], o["ETag"], o["Size"]) for o in got or []]
                    want = [(o["Key"], o["ETag"], o["Size"]) for o in want or []]
                assert got == want, (params, member)


def test_an_object_deleted_while_listed_is_left_out(
    single_user: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = single_user.client("s3")
    s3.create_bucket(Bucket="bkt")
    for key in ("a", "c"):
        s3.put_object(Bucket="bkt", Key=key, Body=b"x")
    walk = LocalObjectStore.walk

    def with_a_vanished_key(
        self: LocalObjectStore, bucket: str, prefix: str = "", **kwargs: str
    ) -> Iterator[Listed]:
        for item in walk(self, bucket, prefix, **kwargs):
            yield item
            if item.name == "a":
                yield Listed("b")  # "b" was listed, then deleted

    monkeypatch.setattr(LocalObjectStore, "walk", with_a_vanished_key)
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
    assert "Contents" not in empty and empty["IsTruncated"] is False  # as S3 (and moto) answer


def test_objects_name_their_owner_in_list_objects_and_when_fetch_owner_asks(s3: Any) -> None:
    s3.put_object(Bucket="bkt", Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    assert s3.list_objects(Bucket="bkt")["Contents"][0]["Owner"] == owner
    assert "Owner" not in s3.list_objects_v2(Bucket="bkt")["Contents"][0]
    assert s3.list_objects_v2(Bucket="bkt", FetchOwner=True)["Contents"][0]["Owner"] == owner
