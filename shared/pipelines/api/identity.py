"""Who is calling: the account behind a request's SigV4 access key.

Locally there is no IAM: the access key id in the ``Authorization`` header (or a presigned
URL's ``X-Amz-Credential``) is looked up in the config's ``[accounts]`` map. Requests that
are unsigned, or signed with a key the map does not know, act as the local default account,
so the SDK works with whatever credentials happen to be in the environment. Signatures are
not verified: the embedded server listens on loopback and this is an identity, not a lock.
In the cloud the account comes from API Gateway's request context instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Credential:
    """The scope a request was signed for."""

    access_key: str
    region: str
    service: str


def signed_credential(authorization: str | None, query_credential: str | None = None) -> Credential | None:
    """The credential scope of a SigV4 header or presigned-URL credential, if any."""
    text = authorization or ""
    if query_credential:
        text = f"Credential={query_credential}"
    match = _CREDENTIAL.search(text)
    if match is None:
        return None
    return Credential(access_key=match.group(1), region=match.group(3), service=match.group(4))


def caller_account(credential: Credential | None, accounts: Mapping[str, str], default_account: str) -> str:
    """The account id a request acts as (see the module docstring)."""
    if credential is None:
        return default_account
    return accounts.get(credential.access_key, default_account)
