"""``s3://`` in a Spark job reads and writes the object root, through Hadoop's own classes.

The object root keeps ``s3://bucket/key`` at ``<root>/bucket/key`` (pipelines.objects.local).
pyspark bundles no S3 connector (no ``hadoop-aws``, no AWS SDK), and Maven is out of reach
offline, so S3A against ``pipelines serve`` cannot work. What the bundled Hadoop client does
have is ``ViewFileSystemOverloadScheme``: a view file system that takes over a scheme and
resolves each URI through a mount table named after the URI's authority. So:

- ``fs.s3.impl``, ``fs.s3a.impl`` and ``fs.s3n.impl`` are the view file system, and each bucket
  has a mount table whose fallback link is its folder of the object root. ``s3://b/k``,
  ``s3a://b/k`` and ``s3n://b/k`` all read and write ``<root>/b/k``, for the application file,
  ``--py-files``/``--jars``/``--files``, DataFrame and RDD reads and writes, listing, overwrite
  and the output committer's renames.
- The link target is the scheme ``objectroot:``, bound to ``RawLocalFileSystem``: plain files,
  with none of the ``.crc`` checksum files that ``file:`` (LocalFileSystem) would leave beside
  every object.

A bucket has a mount table when it exists in the object root or is named anywhere in the
job's command (options, application, arguments). A job that builds the URI of any other bucket
at run time fails, as a missing bucket does on S3, with Hadoop's ``Could not initialize target
File System for URI : s3://<bucket>/``. Other schemes (``hdfs://``, ``gs://``) are not mapped.

spark-submit reads a few files itself, before any Hadoop file system exists
(``--properties-file``): :func:`local_path` gives the object root's file for those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from pipelines.objects.local import bucket_problem

SCHEMES = ("s3", "s3a", "s3n")
VIEW_FILE_SYSTEM = "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
RAW_LOCAL_FILE_SYSTEM = "org.apache.hadoop.fs.RawLocalFileSystem"
TARGET_SCHEME = "objectroot"
_BUCKET_IN_TEXT = re.compile(r"\bs3[an]?://([A-Za-z0-9][A-Za-z0-9._-]*)")
_S3_URI = re.compile(r"^s3[an]?://([^/]+)/(.+)$")


def buckets_named(texts: Iterable[str]) -> set[str]:
    """Buckets of every ``s3://``, ``s3a://`` or ``s3n://`` URI inside ``texts``."""
    return {match for text in texts for match in _BUCKET_IN_TEXT.findall(text)}


def object_root_buckets(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {entry.name for entry in root.iterdir() if entry.is_dir() and bucket_problem(entry.name) is None}


def object_root_conf(root: Path, buckets: Iterable[str]) -> dict[str, str]:
    """The ``--conf`` settings that map ``s3://<bucket>`` onto ``<root>/<bucket>`` for each bucket."""
    conf = {f"spark.hadoop.fs.{scheme}.impl": VIEW_FILE_SYSTEM for scheme in SCHEMES}
    conf[f"spark.hadoop.fs.{TARGET_SCHEME}.impl"] = RAW_LOCAL_FILE_SYSTEM
    for bucket in sorted(set(buckets)):
        if bucket_problem(bucket) is not None:
            continue  # the object root cannot hold it; the job fails on it as on an unknown bucket
        target = quote(str((root / bucket).resolve()))
        conf[f"spark.hadoop.fs.viewfs.mounttable.{bucket}.linkFallback"] = f"{TARGET_SCHEME}://{target}"
    return conf


def local_path(root: Path, uri: str) -> Path | None:
    """The object root's file for an ``s3://``/``s3a://``/``s3n://`` URI (None for another
    kind of path, or a bucket the object root cannot hold)."""
    match = _S3_URI.match(uri)
    if match is None or bucket_problem(match.group(1)) is not None:
        return None
    return root / match.group(1) / match.group(2)
