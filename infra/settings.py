"""Deployment settings read from CDK context (`cdk.json` or `-c key=value`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from constructs import Node
from pipelines.deploy.settings import AUTHORIZATION_MODES


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"
    name_prefix: str = "smp"
    log_retention_days: int = 30
    sharing_accounts: tuple[str, ...] = field(default_factory=tuple)
    example: bool = False
    arm64: bool = True
    definition_buckets: tuple[str, ...] = field(default_factory=tuple)
    api_gateway_account: bool = True
    """Create API Gateway's account-level CloudWatch role (``AWS::ApiGateway::Account``); turn
    off only where the account already has one set (the stage's access logs need it)."""
    authorization: str = "policies"
    """How the API authorizes the account's users and roles (docs/deploy.md "Authorization"):
    ``policies`` (their IAM policies, read and evaluated by the api Lambda), ``simulate``
    (``iam:SimulatePrincipalPolicy``) or ``off`` (single-team: any admitted principal)."""

    def name(self, suffix: str) -> str:
        """Physical-name prefix for resources a user looks up by name (state machines, tables)."""
        return f"{self.name_prefix}-{self.stage}-{suffix}"


def _as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"true", "1", "yes"})


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = json.loads(value) if value.startswith("[") else value.split(",")
    return tuple(str(v).strip() for v in value if str(v).strip())


def settings_from_context(node: Node) -> Settings:
    """Context values arrive as JSON from cdk.json or as strings from `-c`; normalise both."""
    get = node.try_get_context
    return Settings(
        stage=str(get("stage") or "dev"),
        name_prefix=str(get("namePrefix") or "smp"),
        log_retention_days=int(get("logRetentionDays") or 30),
        sharing_accounts=_as_list(get("sharingAccounts")),
        example=_as_bool(get("example")),
        arm64=str(get("lambdaArchitecture") or "arm64") != "x86_64",
        authorization=_authorization(get("authorization")),
        definition_buckets=_as_list(get("definitionBuckets")),
        api_gateway_account=_as_bool(
            get("apiGatewayCloudWatchRole") if get("apiGatewayCloudWatchRole") is not None else True
        ),
    )


def _authorization(value: Any) -> str:
    mode = str(value or "policies")
    if mode not in AUTHORIZATION_MODES:
        raise ValueError(f"context authorization={mode!r}: use one of {', '.join(AUTHORIZATION_MODES)}")
    return mode
