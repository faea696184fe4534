"""Shared boto3 clients: one botocore session per process, one client per (service, region).

Creating a client loads the service model (~0.1-0.3 s on a cold session), and creating one per
thread or per call made engine runs seconds slower; clients are thread-safe, sessions are not,
so the session is used under a lock and the clients are shared.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3

_lock = threading.Lock()
_session: boto3.session.Session | None = None


def session() -> boto3.session.Session:
    global _session
    with _lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def client(service: str, region: str | None = None, **kwargs: Any) -> Any:
    """A new client of the process-wide session (model loading is cached by the session)."""
    current = session()
    with _lock:
        return current.client(service, region_name=region, **kwargs)  # type: ignore[call-overload]
