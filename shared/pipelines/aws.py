"""Shared boto3 clients: one botocore session per process, one client per (service, region).

Creating a client loads the service model (~0.1-0.3 s on a cold session), and creating one per
thread or per call made engine runs seconds slower; clients are thread-safe, sessions are not,
so the session is used under a lock and the clients are shared. Modules that only read a
service's shapes (definition checks, job names, Describe builders) share :func:`service_model`:
each new botocore session would decode the multi-megabyte SageMaker model again.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.model import ServiceModel

if TYPE_CHECKING:
    import boto3

_lock = threading.Lock()
_session: boto3.session.Session | None = None


def session() -> boto3.session.Session:
    import boto3  # only clients need boto3; shape readers import this module too

    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


@functools.cache
def _shapes_session() -> botocore.session.Session:
    return botocore.session.get_session()


def service_model(service: str) -> ServiceModel:
    """A service's botocore model, decoded once per process and shared by every reader."""
    with _lock:
        return _cached_model(service)


@functools.cache
def _cached_model(service: str) -> ServiceModel:
    return _shapes_session().get_service_model(service)


def client(service: str, region: str | None = None, **kwargs: Any) -> Any:
    """A new client of the process-wide session (model loading is cached by the session)."""
    current = session()
    with _lock:
        return current.client(service, region_name=region, **kwargs)  # type: ignore[call-overload]
