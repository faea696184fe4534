"""The object root's listing walk against S3's definition of a listing (tests/objects/reference.py).

The walk must give the same items without sorting every key: these tests pin down the orderings
a folder-by-folder walk gets wrong, and the folders and files it must pass over.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from pipelines.objects import Listed, LocalObjectStore

from tests.objects.reference import TRICKY, expected


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    objects = LocalObjectStore(tmp_path / "objects")
    for key in TRICKY:
        objects.put(f"s3://bkt/{key}", key.encode())
    return objects


def test_every_key_comes_in_utf8_byte_order(store: LocalObjectStore) -> None:
    listed = [item.name for item in store.walk("bkt")]
    assert listed == sorted(TRICKY, key=lambda k: k.encode("utf-8"))
    assert (
        listed.index("a-b/c")
        < listed.index("a.b")
        < listed.index("a/b-c")
        < listed.index("a/b/c-d")
        < listed.index("a0")
    )
    assert store.list("s3://bkt/") == [f"s3://bkt/{k}" for k in listed]


PREFIXES = ["", "a", "a/", "a/b", "a/b/", "a-", "z/", "z/\u00e9", "\u65e5", "nothing", "a/b/c/d/e"]
DELIMITERS = ["", "/", "-", "b", "/c", "b/", ".", "\U0001f600"]


@pytest.mark.parametrize("delimiter", DELIMITERS)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_prefix_and_delimiter_match_s3s_definition(
    store: LocalObjectStore, prefix: str, delimiter: str
) -> None:
    assert list(store.walk("bkt", prefix, delimiter=delimiter)) == expected(TRICKY, prefix, "", delimiter)


@pytest.mark.parametrize("delimiter", ["", "/", "-", "b"])
def test_starting_after_any_point_matches_s3s_definition(store: LocalObjectStore, delimiter: str) -> None:
    """Start keys taken from every key, every common prefix, and strings between and beyond them."""
    points = {"", "a", "a/", "a/b/", "a/b/c/", "a-", "a-b/", "a/a", "a/c", "z", "zz", "\uffff", "0"}
    points |= set(TRICKY) | {item.name for item in expected(TRICKY, "", "", delimiter)}
    for prefix, after in itertools.product(["", "a", "a/", "a/b"], sorted(points)):
        got = list(store.walk("bkt", prefix, after=after, delimiter=delimiter))
        assert got == expected(TRICKY, prefix, after, delimiter), (prefix, after)


def test_paging_by_the_last_item_visits_everything_once(store: LocalObjectStore) -> None:
    """What ListObjectsV2 does with its continuation token: start after the last item listed."""
    for delimiter in ("", "/", "-"):
        items: list[Listed] = []
        after = ""
        while True:
            page = list(itertools.islice(store.walk("bkt", after=after, delimiter=delimiter), 2))
            if not page:
                break
            items += page
            after = page[-1].name
        assert items == expected(TRICKY, delimiter=delimiter)


def test_folders_without_objects_are_no_common_prefixes(tmp_path: Path) -> None:
    """Deleting an object leaves its folders behind, and an upload leaves temporary files for a
    moment: neither is an object, so neither makes a common prefix."""
    store = LocalObjectStore(tmp_path / "objects")
    store.put("s3://bkt/keep/x", b"x")
    store.put("s3://bkt/gone/deep/x", b"x")
    store.delete("s3://bkt/gone/deep/x")
    bucket = tmp_path / "objects" / "bkt"
    (bucket / "empty" / "a" / "b").mkdir(parents=True)
    (bucket / "uploading").mkdir()
    (bucket / "uploading" / ".tmp-abc123").write_bytes(b"half")
    (bucket / ".tmp-top").write_bytes(b"half")
    assert list(store.walk("bkt", delimiter="/")) == [Listed("keep/", True)]
    assert [item.name for item in store.walk("bkt")] == ["keep/x"]
    (bucket / "empty" / "a" / "b" / "late").write_bytes(b"now")
    assert list(store.walk("bkt", delimiter="/")) == [Listed("empty/", True), Listed("keep/", True)]


def test_names_no_key_can_have_are_passed_over(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put("s3://bkt/ok", b"x")
    bucket = os.fsencode(tmp_path / "objects" / "bkt")
    with open(os.path.join(bucket, b"latin1-\xe9"), "wb") as fh:  # not UTF-8: no key names it
        fh.write(b"x")
    os.mkdir(os.path.join(bucket, b"dir-\xff"))
    with open(os.path.join(bucket, b"dir-\xff", b"inner"), "wb") as fh:
        fh.write(b"x")
    os.mkfifo(os.path.join(bucket, b"pipe"))
    assert [item.name for item in store.walk("bkt")] == ["ok"]
    assert list(store.walk("bkt", delimiter="/")) == [Listed("ok")]


def test_links_are_listed_only_to_files_inside_the_root(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put("s3://bkt/real/file", b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    bucket = tmp_path / "objects" / "bkt"
    (bucket / "to-file").symlink_to(bucket / "real" / "file")
    (bucket / "to-folder").symlink_to(bucket / "real")
    (bucket / "to-outside").symlink_to(outside / "secret")
    (bucket / "to-nothing").symlink_to(bucket / "missing")
    assert [item.name for item in store.walk("bkt")] == ["real/file", "to-file"]
    assert store.get("s3://bkt/to-file") == b"x"


def test_keys_beyond_s3s_length_limit_are_passed_over(tmp_path: Path) -> None:
    """Folders can nest deeper than a key can be long; what lies there has no key."""
    store = LocalObjectStore(tmp_path / "objects")
    segment = "s" * 200
    deep = "/".join([segment] * 5)  # 1,004 bytes
    store.put(f"s3://bkt/{deep}/{'k' * 19}", b"x")  # 1,024 bytes: the longest key
    folder = tmp_path / "objects" / "bkt" / deep
    (folder / ("k" * 20)).write_bytes(b"x")  # 1,025 bytes
    (folder / ("f" * 19)).mkdir()
    (folder / ("f" * 19) / "x").write_bytes(b"x")  # 1,026 bytes, below a 1,024-byte folder key
    assert [item.name for item in store.walk("bkt")] == [f"{deep}/{'k' * 19}"]
    assert list(store.walk("bkt", delimiter="k")) == [Listed(f"{deep}/k", True)]


def test_a_prefix_or_bucket_no_key_can_have_lists_nothing(store: LocalObjectStore) -> None:
    for prefix in ("../", "a/../a/", "/a", "a//b", ".tmp-x/"):
        assert list(store.walk("bkt", prefix)) == [], prefix
    assert list(store.walk("../bkt")) == [] and list(store.walk("no-such-bucket")) == []
