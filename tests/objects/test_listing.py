"""The object root's listing walk against S3's definition of a listing (tests/objects/reference.py).

The walk must give the same items without sorting every key: these tests pin down the orderings
a folder-by-folder walk gets wrong, and the folders and files it must pass over.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from pipelines.objects import Listed, LocalObjectStore
from pipelines.objects.listing import FolderIndex

from tests.objects.reference import TRICKY, expected


def later() -> int:
    """A clock ten seconds ahead: every folder written by now counts as settled."""
    return time.time_ns() + 10 * 10**9


@pytest.fixture(params=["read", "kept"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> LocalObjectStore:
    """The tricky keys, each folder read afresh at every listing, or kept sorted once read."""
    folders = FolderIndex(min_entries=0, now=later) if request.param == "kept" else None
    objects = LocalObjectStore(tmp_path / "objects", folders=folders)
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


def test_a_kept_folder_is_read_again_once_it_changes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", folders=FolderIndex(min_entries=2, now=later))
    for n in range(3):
        store.put(f"s3://bkt/f/{n}", b"x")
    folder = tmp_path / "objects" / "bkt" / "f"
    os.utime(folder, ns=(0, 10**18))  # a modification time no write can give it
    assert [item.name for item in store.walk("bkt", "f/")] == ["f/0", "f/1", "f/2"]
    assert store.folders.kept() == [str(folder)]  # "bkt" holds one entry: not worth keeping
    store.put("s3://bkt/f/10", b"x")
    store.delete("s3://bkt/f/0")
    assert [item.name for item in store.walk("bkt", "f/")] == ["f/1", "f/10", "f/2"]
    assert [item.name for item in store.walk("bkt", "f/", after="f/1")] == ["f/10", "f/2"]


def test_a_folder_changed_in_the_last_seconds_is_not_kept(tmp_path: Path) -> None:
    """Within the filesystem's timestamp granularity a change can leave a folder's times as they
    were, so a folder is kept only once it has been still for a while."""
    store = LocalObjectStore(tmp_path / "objects", folders=FolderIndex(min_entries=0, settle_seconds=60))
    store.put("s3://bkt/f/0", b"x")
    assert [item.name for item in store.walk("bkt")] == ["f/0"]
    assert store.folders.kept() == []


def test_the_least_recently_used_folders_go_first(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", folders=FolderIndex(min_entries=2, max_names=5, now=later))
    for folder in ("a", "b", "c"):
        for n in range(2):
            store.put(f"s3://bkt/{folder}/{n}", b"x")
    bucket = tmp_path / "objects" / "bkt"
    for folder in ("a", "b", "a", "c"):
        assert len(list(store.walk("bkt", f"{folder}/"))) == 2
    assert store.folders.kept() == [str(bucket / "a"), str(bucket / "c")]
