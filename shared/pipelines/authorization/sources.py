"""Where a principal's policies come from.

- :class:`IamPolicySource`: IAM itself -- a user's inline and attached policies and its
  groups', a role's inline and attached policies, and the entity's permissions boundary (the
  same set ``iam:SimulatePrincipalPolicy`` evaluates). Unknown entities are refused.
- :class:`StaticPolicySource`: policy documents given per account (the embedded runtime's
  per-account policy file), applying to every principal of that account.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from pipelines.api.errors import AccessDenied
from pipelines.authorization.principals import Principal
from pipelines.errors import ValidationError

# The IAM actions IamPolicySource calls (the stack grants exactly these to the api Lambda).
POLICY_READ_ACTIONS = (
    "GetUser",
    "GetRole",
    "GetPolicy",
    "GetPolicyVersion",
    "ListUserPolicies",
    "GetUserPolicy",
    "ListAttachedUserPolicies",
    "ListGroupsForUser",
    "ListGroupPolicies",
    "GetGroupPolicy",
    "ListAttachedGroupPolicies",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListAttachedRolePolicies",
)


class UnknownPrincipal(AccessDenied):
    """The caller's user or role does not exist in this account's IAM."""


@dataclass(frozen=True)
class PolicySet:
    documents: tuple[Mapping[str, Any], ...]
    boundary: Mapping[str, Any] | None = None


class PolicySource(Protocol):
    def policies(self, principal: Principal) -> PolicySet: ...


def _document(value: Any) -> Mapping[str, Any]:
    """IAM returns documents URL-encoded JSON on the wire; boto3 usually decodes them."""
    if isinstance(value, str):
        value = json.loads(unquote(value))
    if not isinstance(value, Mapping):
        raise AccessDenied("an IAM policy document is not a JSON object")
    return value


class IamPolicySource:
    """Reads a principal's identity policies from IAM (``iam`` is a boto3 IAM client)."""

    def __init__(self, iam: Any) -> None:
        self.iam = iam

    def _managed(self, arn: str) -> Mapping[str, Any]:
        version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        return _document(
            self.iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        )

    def _pages(self, operation: str, key: str, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        for page in self.iam.get_paginator(operation).paginate(**kwargs):
            items.extend(page[key])
        return items

    def _entity(self, kind: str, name: str) -> PolicySet:
        Kind = kind.capitalize()
        arg = {f"{Kind}Name": name}
        documents: list[Mapping[str, Any]] = []
        for policy in self._pages(f"list_{kind}_policies", "PolicyNames", **arg):
            got = getattr(self.iam, f"get_{kind}_policy")(**arg, PolicyName=policy)
            documents.append(_document(got["PolicyDocument"]))
        for attached in self._pages(f"list_attached_{kind}_policies", "AttachedPolicies", **arg):
            documents.append(self._managed(attached["PolicyArn"]))
        return PolicySet(tuple(documents))

    def policies(self, principal: Principal) -> PolicySet:
        if principal.kind == "root":
            raise AccessDenied("the account root has no identity policies to read")
        try:
            if principal.kind == "user":
                entity = self.iam.get_user(UserName=principal.name)["User"]
                own = self._entity("user", principal.name)
                documents = list(own.documents)
                for group in self._pages("list_groups_for_user", "Groups", UserName=principal.name):
                    documents.extend(self._entity("group", group["GroupName"]).documents)
            else:
                entity = self.iam.get_role(RoleName=principal.name)["Role"]
                documents = list(self._entity("role", principal.name).documents)
        except self.iam.exceptions.NoSuchEntityException as exc:
            raise UnknownPrincipal(
                f"User: {principal.arn} is not authorized: no such {principal.kind} in account {principal.account}"
            ) from exc
        boundary_arn = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        boundary = self._managed(boundary_arn) if boundary_arn else None
        return PolicySet(tuple(documents), boundary)


@dataclass
class StaticPolicySource:
    """Fixed documents per account (the embedded config's ``policy_file`` per account)."""

    by_account: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def governs(self, account: str) -> bool:
        return account in self.by_account

    def policies(self, principal: Principal) -> PolicySet:
        return PolicySet(tuple(self.by_account.get(principal.account, ())))


def load_policy_files(files: Mapping[str, Any]) -> StaticPolicySource:
    """The embedded config's ``[policies]``: each account's file, a policy document or a JSON
    list of them, checked now so that a bad file fails at start-up, naming it."""
    from pathlib import Path

    from pipelines.authorization.policies import check_document

    by_account: dict[str, list[Mapping[str, Any]]] = {}
    for account, path in files.items():
        try:
            loaded = json.loads(Path(path).read_text())
            documents = loaded if isinstance(loaded, list) else [loaded]
            for document in documents:
                check_document(document)
        except (OSError, ValueError, AccessDenied) as exc:
            raise InvalidPolicyFile(f"[policies] {account} = {str(path)!r}: {exc}") from exc
        by_account[account] = documents
    return StaticPolicySource(by_account)


class InvalidPolicyFile(ValidationError):
    """A ``[policies]`` file that is missing, not JSON, or not a policy we can evaluate."""
