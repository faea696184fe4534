"""Who holds an access key, as IAM knows it: what API Gateway's AWS_IAM authentication resolves.

The rehearsal's callers are real moto IAM principals, in any account: IAM users with access keys
(:func:`iam_user`) and STS sessions (``sts.assume_role`` in the test, or the console's web
identity). moto's own access-control code (``moto.iam.access_control``) finds a key's holder,
its secret and session token, and collects the holder's identity policies (inline, attached, its
groups'), which moto's policy engine evaluates for ``execute-api:Invoke``. The stack's functions
run with fixed session keys of their execution roles (``LocalFunction.access_key``), resolved
here to those roles' sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from moto.iam.access_control import (
    AssumedRoleAccessKey,
    CreateAccessKeyFailure,
    IAMPolicy,
    IAMUserAccessKey,
    PermissionResult,
    create_access_key,
)
from moto.iam.models import get_account_id_from, iam_backends

from tests.rehearsal.apigateway import Caller, Effect, KeyHolder
from tests.rehearsal.invoker import LocalFunction

PARTITION = "aws"


def iam_user(account: str, name: str, statements: list[dict[str, Any]], region: str) -> tuple[str, str]:
    """An IAM user in ``account`` with one inline policy of ``statements``: (key id, secret)."""
    backend = iam_backends[account][PARTITION]
    backend.create_user(region_name=region, user_name=name)
    if statements:
        document = {"Version": "2012-10-17", "Statement": statements}
        backend.put_user_policy(name, f"{name}-policy", json.dumps(document))
    key = backend.create_access_key(name)
    return key.access_key_id, key.secret_access_key


def _effect(policies: Iterable[Any], action: str, resource: str) -> Effect:
    """IAM's identity-policy evaluation by moto's engine: an explicit deny wins, then an allow."""
    results = [IAMPolicy(policy).is_action_permitted(action, resource) for policy in policies]
    if PermissionResult.DENIED in results:
        return "deny"
    return "allow" if PermissionResult.PERMITTED in results else "neither"


def key_holder(
    access_key: str, headers: Mapping[str, str], functions: Iterable[LocalFunction], account: str
) -> KeyHolder | None:
    """The holder of ``access_key`` (None: IAM knows no such key, or its token is not the one)."""
    for function in functions:
        if function.access_key == access_key:
            return _function_session(function, account)
    holder_account = get_account_id_from(access_key)
    try:
        found = create_access_key(holder_account, PARTITION, access_key, dict(headers.items()))
    except (CreateAccessKeyFailure, KeyError):
        return None
    credentials = found.create_credentials()
    backend = iam_backends[holder_account][PARTITION]
    if isinstance(found, IAMUserAccessKey):
        principal_id = backend.get_user(found.arn.rsplit("/", 1)[1]).id
    else:
        assert isinstance(found, AssumedRoleAccessKey)
        role, session = found.arn.split("/")[1:3]
        principal_id = f"{backend.get_role(role).id}:{session}"
    return KeyHolder(
        Caller(holder_account, found.arn, principal_id, access_key),
        credentials.secret_key,
        credentials.token,
        lambda action, resource: _effect(found.collect_policies(), action, resource),
    )


def _function_session(function: LocalFunction, account: str) -> KeyHolder:
    """A function's execution-role session, as the Lambda service hands it out."""
    role_name = function.role_arn.rsplit("/", 1)[-1]
    backend = iam_backends[account][PARTITION]

    def identity(action: str, resource: str) -> Effect:
        role = backend.get_role(role_name)
        return _effect([*role.policies.values(), *role.managed_policies.values()], action, resource)

    arn = f"arn:aws:sts::{account}:assumed-role/{role_name}/{function.name}"
    principal_id = f"{backend.get_role(role_name).id}:{function.name}"
    return KeyHolder(
        Caller(account, arn, principal_id, function.access_key),
        function.secret_key,
        function.session_token,
        identity,
    )
