"""Who a caller is, in IAM terms: the entity whose policies decide.

API Gateway reports the caller's ARN (``userArn``): an IAM user, an account root, or an STS
assumed-role session. A session's permissions are its role's (session policies are not
visible to us: see docs/deploy.md), so it maps to the role. Anything else -- federated users,
malformed text -- is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipelines.api.errors import AccessDenied

_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<rest>.+)$")


class MalformedPrincipal(AccessDenied):
    """A caller ARN that names no IAM user, role session or root we can evaluate."""

    def __init__(self, arn: str) -> None:
        super().__init__(
            f"User: {arn} is not authorized: the caller is not an IAM user, role or assumed role"
        )


@dataclass(frozen=True)
class Principal:
    account: str
    kind: Literal["root", "user", "role"]
    name: str  # user or role name, without path ("" for root)
    arn: str  # the caller's ARN as received (what error messages name)
    partition: str = "aws"


def principal_of(arn: str) -> Principal:
    """The IAM entity behind a caller ARN; raises :class:`MalformedPrincipal`."""
    match = _ARN.match(arn or "")
    if match is None:
        raise MalformedPrincipal(arn)
    account, rest, service = match["account"], match["rest"], match["service"]
    partition = match["partition"]
    if service == "iam" and rest == "root":
        return Principal(account, "root", "", arn, partition)
    kind, _, path_and_name = rest.partition("/")
    if service == "iam" and kind in ("user", "role") and path_and_name:
        name = path_and_name.rsplit("/", 1)[-1]
        if name:
            return Principal(account, "user" if kind == "user" else "role", name, arn, partition)
    if service == "sts" and kind == "assumed-role":
        role, _, session = path_and_name.partition("/")
        if role and session:
            return Principal(account, "role", role, arn, partition)
    raise MalformedPrincipal(arn)
