"""Object stores behind ``s3://`` and ``file://`` URIs.

- :mod:`~pipelines.objects.base`: the :class:`ObjectStore` protocol the engine and runners use.
- :mod:`~pipelines.objects.local`: the embedded runtime's store, ``s3://bucket/key`` as the file
  ``<object_root>/bucket/key`` (atomic writes); ``pipelines serve``'s S3 endpoint
  (:mod:`pipelines.api.s3`) serves the same files.
- :mod:`~pipelines.objects.names`: which bucket and key names the object root can hold as files
  of their own; the rest are refused (:class:`UnmappableKey`), never folded onto another file.
- :mod:`~pipelines.objects.listing`: a bucket folder's keys in S3's order (UTF-8 binary, so
  ``a-b`` before ``a/b``), after a start key, rolled up at a delimiter, read lazily: listing a
  page reads the folders on its way and no object's metadata, however many keys the prefix holds.
- :mod:`~pipelines.objects.s3`: Amazon S3 itself, for the cloud runtime.
"""

from pipelines.objects.base import ObjectNotFound, ObjectStore, split_uri
from pipelines.objects.listing import Listed
from pipelines.objects.local import LocalObjectStore
from pipelines.objects.names import UnmappableKey

__all__ = ["Listed", "LocalObjectStore", "ObjectNotFound", "ObjectStore", "UnmappableKey", "split_uri"]
