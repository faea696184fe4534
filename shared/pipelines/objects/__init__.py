"""Object stores behind ``s3://`` and ``file://`` URIs."""

from pipelines.objects.base import ObjectNotFound, ObjectStore, split_uri
from pipelines.objects.local import LocalObjectStore, UnmappableKey

__all__ = ["LocalObjectStore", "ObjectNotFound", "ObjectStore", "UnmappableKey", "split_uri"]
