"""ListObjectsV2 cost against the size of the prefix, over real HTTP with boto3.

Seeds one object root with ``--keys`` objects under ``big/`` (20,000: one folder, as processing
outputs and data shards lie), ``--small`` under ``small/`` (1,000) and ``--nested`` under
``nested/part-NN/`` (2,000 in 20 folders), written as the runners write them; then times, for
each server, the first 1,000-key page of ``small/`` and of ``big/``, a page from the middle of
``big/`` (StartAfter), paging through all of ``big/`` with the continuation token, and
Delimiter=/ listings (``nested/``: 20 common prefixes; the bucket's top: 3).

The servers, each its own process, queried in turn so that the machine's drift hits them alike:

- after: ``pipelines serve`` from this checkout;
- before: ``pipelines serve`` from ``--before`` (a git revision: the code before listing walked
  the folders in key order; ``git archive`` of its ``shared/`` on ``PYTHONPATH``), over the same
  object root with its own state directory; ``--before none`` skips it;
- moto: ``python -m moto.server`` (in memory) holding the same keys, put through S3 (``--no-moto``
  skips it).

Every server's listing of each prefix is checked to hold the same keys in the same order before
any figure is printed; that first pass is timed too (cold: this checkout hashes each file a
runner wrote once, at its first listing, and keeps the ETag; the code before hashed the page's
files at every listing). The target: the first page of 1,000 keys out of 20,000 costs at most 5x a
1,000-key prefix's only page (cost proportional to the page, not the prefix).

    .venv/bin/python benchmarks/object_listing.py [--keys 20000] [--small 1000] [--nested 2000]
                                                  [--repeats 5] [--before REV|none] [--no-moto]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from pipelines.testing import stop_process  # noqa: E402

from benchmarks.api import client, start_moto, start_ours  # noqa: E402

BEFORE = "a3c6ae830d55a552b7e11e61b0acfe50d907eb02"
"""main just before the ordered walk: every listing walked and sorted the whole prefix."""
TARGET_RATIO = 5.0
PAGE = 1000
PAGING_ROUNDS = 1
BODY = b"x" * 64


def layout(args: argparse.Namespace) -> dict[str, list[str]]:
    """The keys of each prefix, in S3's order."""
    width = len(str(args.keys))
    return {
        "big/": [f"big/shard-{n:0{width}d}.bin" for n in range(args.keys)],
        "small/": [f"small/shard-{n:04d}.bin" for n in range(args.small)],
        "nested/": sorted(f"nested/part-{n % 20:02d}/file-{n:05d}.bin" for n in range(args.nested)),
    }


def seed_disk(objects: Path, keys: list[str]) -> None:
    """Files as a runner leaves them: no metadata stored beside them."""
    for key in keys:
        path = objects / "bkt" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(BODY)


def seed_s3(url: str, keys: list[str]) -> None:
    clients = [client(url, "s3") for _ in range(8)]
    clients[0].create_bucket(Bucket="bkt")

    def put(index: int) -> None:
        for key in keys[index::8]:
            clients[index].put_object(Bucket="bkt", Key=key, Body=BODY)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(8)))


@contextmanager
def before_code(revision: str) -> Iterator[Path]:
    """That revision's ``shared/`` in a temporary folder (for ``PYTHONPATH``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision, "shared"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="listing-before-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / "shared"


def list_all(s3: Any, **params: Any) -> tuple[list[str], int]:
    """Every key and common prefix, page by page with the continuation token; and the pages."""
    names: list[str] = []
    pages = 0
    token: dict[str, str] = {}
    while True:
        page = s3.list_objects_v2(Bucket="bkt", **params, **token)
        pages += 1
        names += [o["Key"] for o in page.get("Contents", [])]
        names += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            return names, pages
        token = {"ContinuationToken": page["NextContinuationToken"]}


def timed(call: Callable[[Any], Any], s3: Any) -> float:
    began = time.perf_counter()
    call(s3)
    return time.perf_counter() - began


def cases(keys: dict[str, list[str]]) -> list[tuple[str, Callable[[Any], Any]]]:
    middle = keys["big/"][len(keys["big/"]) // 2]
    return [
        (
            f"first page of small/ ({len(keys['small/']):,} keys)",
            lambda s3: s3.list_objects_v2(Bucket="bkt", Prefix="small/"),
        ),
        (
            f"first page of big/ ({len(keys['big/']):,} keys)",
            lambda s3: s3.list_objects_v2(Bucket="bkt", Prefix="big/"),
        ),
        (
            "a page from the middle of big/",
            lambda s3: s3.list_objects_v2(Bucket="bkt", Prefix="big/", StartAfter=middle),
        ),
        (
            "nested/, Delimiter=/ (20 prefixes)",
            lambda s3: s3.list_objects_v2(Bucket="bkt", Prefix="nested/", Delimiter="/"),
        ),
        ("the bucket's top, Delimiter=/", lambda s3: s3.list_objects_v2(Bucket="bkt", Delimiter="/")),
        ("all of big/, page by page", lambda s3: list_all(s3, Prefix="big/")),
    ]


def check_alike(servers: dict[str, Any], keys: dict[str, list[str]]) -> dict[str, float]:
    """Every server lists every prefix's keys in the same order (the expected ones), and the
    Delimiter=/ top alike; how long each took for this first pass."""
    took: dict[str, float] = {}
    for name, s3 in servers.items():
        began = time.perf_counter()
        for prefix, want in keys.items():
            got, pages = list_all(s3, Prefix=prefix)
            if got != want:
                raise SystemExit(f"{name} lists {prefix} differently ({len(got)} keys)")
            print(f"  {name:<7} {prefix:<8} {len(got):>6,} keys in {pages} pages, as expected")
        top = list_all(s3, Delimiter="/")[0]
        if top != ["big/", "nested/", "small/"]:
            raise SystemExit(f"{name} lists the top with Delimiter=/ as {top}")
        took[name] = time.perf_counter() - began
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=PAGE)
    parser.add_argument("--nested", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with, or 'none'")
    parser.add_argument("--no-moto", action="store_true")
    args = parser.parse_args()
    keys = layout(args)
    everything = [key for prefix in keys.values() for key in prefix]
    with tempfile.TemporaryDirectory(prefix="object-listing-") as folder, ExitStack() as stack:
        root = Path(folder)
        began = time.perf_counter()
        seed_disk(root / "objects", everything)
        print(
            f"{len(everything):,} objects written to the object root in {time.perf_counter() - began:.1f} s"
        )
        urls: dict[str, str] = {}
        if args.before != "none":
            code = stack.enter_context(before_code(args.before))
            env = {**os.environ, "PYTHONPATH": str(code)}
            served_from = subprocess.run(
                [sys.executable, "-c", "import pipelines; print(pipelines.__file__)"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            if not served_from.startswith(str(code)):
                raise SystemExit(f"the 'before' server would run {served_from}, not {args.before}")
            before = start_ours(root, state_dir="state-before", env=env)
            stack.callback(before.stop)
            urls["before"] = before.url
        after = start_ours(root, state_dir="state-after")
        stack.callback(after.stop)
        urls["after"] = after.url
        if not args.no_moto:
            moto, urls["moto"] = start_moto()
            stack.callback(stop_process, moto)
            began = time.perf_counter()
            seed_s3(urls["moto"], everything)
            print(
                f"{len(everything):,} objects put into moto's server in {time.perf_counter() - began:.1f} s"
            )
        servers = {name: client(url, "s3") for name, url in urls.items()}
        first_pass = check_alike(servers, keys)  # also the warm-up: ETags of the files known
        table = cases(keys)
        samples: dict[tuple[str, str], list[float]] = {}
        for repeat in range(args.repeats):
            for label, call in table:
                if label.startswith("all of") and repeat >= PAGING_ROUNDS:
                    continue  # long: fewer rounds
                for name, s3 in servers.items():
                    samples.setdefault((label, name), []).append(timed(call, s3))
        width = max(len(label) for label, _ in table)
        print(f"\nmedian ms over {args.repeats} rounds ({PAGING_ROUNDS} for paging through)")
        print(f"{'':<{width}}" + "".join(f"{name:>10}" for name in servers))
        for label, _ in table:
            print(
                f"{label:<{width}}"
                + "".join(f"{statistics.median(samples[label, n]) * 1000:>10.1f}" for n in servers)
            )
        print(
            f"{'first pass over every key (cold)':<{width}}"
            + "".join(f"{first_pass[n] * 1000:>10.1f}" for n in servers)
        )
        small = statistics.median(samples[table[0][0], "after"])
        big = statistics.median(samples[table[1][0], "after"])
        ratio = big / small
        print(
            f"\nobject_listing: first page of {PAGE:,} of {args.keys:,} keys in {ratio:.2f}x the time of a "
            f"{args.small:,}-key prefix (target <= {TARGET_RATIO:g}x): {'OK' if ratio <= TARGET_RATIO else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
