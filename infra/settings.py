"""Deployment settings read from CDK context (`cdk.json` or `-c key=value`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs import Node
from pipelines.deploy.settings import AUTHORIZATION_MODES

CONSOLE_ASSETS = Path(__file__).resolve().parents[1] / "shared" / "pipelines" / "console" / "static"
"""The web console's built static files (the same ones ``pipelines serve`` serves at ``/``)."""


@dataclass(frozen=True)
class Settings:
    stage: str = "dev"
    name_prefix: str = "smp"
    log_retention_days: int = 30
    sharing_accounts: tuple[str, ...] = field(default_factory=tuple)
    example: bool = False
    arm64: bool = True
    definition_buckets: tuple[str, ...] = field(default_factory=tuple)
    trigger_buckets: tuple[str, ...] = field(default_factory=tuple)
    """What EventBridge rules registered through the API may select (docs/deploy.md): buckets
    (``detail.bucket.name``), alarms (names or ARNs) and custom event sources; an entry ending
    in ``*`` is a prefix, ``*`` alone anything. Default: none (rules on the owner's pipelines'
    status events only)."""
    trigger_alarms: tuple[str, ...] = field(default_factory=tuple)
    trigger_sources: tuple[str, ...] = field(default_factory=tuple)
    api_gateway_account: bool = True
    """Create API Gateway's account-level CloudWatch role (``AWS::ApiGateway::Account``); turn
    off only where the account already has one set (the stage's access logs need it)."""
    authorization: str = "policies"
    """How the API authorizes the account's users and roles (docs/deploy.md "Authorization"):
    ``policies`` (their IAM policies, read and evaluated by the api Lambda), ``simulate``
    (``iam:SimulatePrincipalPolicy``) or ``off`` (single-team: any admitted principal)."""
    console: bool = True
    """Deploy the web console (S3 + CloudFront, Cognito sign-in, CORS on the API). On by default:
    it costs nothing while nobody uses it; ``-c console=false`` leaves all of it out."""
    console_assets: Path = CONSOLE_ASSETS
    """The console's built files (``index.html`` at the top); ``-c consoleAssets=DIR`` for a
    custom build."""
    console_domain: str | None = None
    """A custom domain for the console (``console.example.com``), served with
    ``console_certificate_arn``; the console's origin (CORS, sign-in callback) is then that
    domain. Point it at the ``ConsoleDistributionDomain`` output (CNAME or alias)."""
    console_certificate_arn: str | None = None
    """The ACM certificate for ``console_domain``; CloudFront takes certificates from us-east-1 only."""
    console_domain_prefix: str | None = None
    """The Cognito hosted-UI domain prefix (``<prefix>.auth.<region>.amazoncognito.com``);
    default ``<namePrefix>-<stage>-<account>``, unique per account and region."""

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
        trigger_buckets=_as_list(get("triggerBuckets")),
        trigger_alarms=_as_list(get("triggerAlarms")),
        trigger_sources=_as_list(get("triggerSources")),
        api_gateway_account=_as_bool(
            get("apiGatewayCloudWatchRole") if get("apiGatewayCloudWatchRole") is not None else True
        ),
        console=_as_bool(get("console") if get("console") is not None else True),
        console_assets=Path(str(get("consoleAssets"))) if get("consoleAssets") else CONSOLE_ASSETS,
        console_domain_prefix=_domain_prefix(get("consoleDomainPrefix")),
        **_custom_domain(get("consoleDomain"), get("consoleCertificateArn")),
    )


def _custom_domain(domain: Any, certificate: Any) -> dict[str, str | None]:
    """Both or neither, and a certificate CloudFront can use, checked at synth."""
    if not domain and not certificate:
        return {"console_domain": None, "console_certificate_arn": None}
    if not domain or not certificate:
        raise ValueError("context consoleDomain and consoleCertificateArn go together: set both, or neither")
    if not re.fullmatch(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", str(domain)):
        raise ValueError(
            f"context consoleDomain={domain!r} is not a lowercase DNS name (console.example.com)"
        )
    if not re.fullmatch(r"arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+", str(certificate)):
        raise ValueError(
            f"context consoleCertificateArn={certificate!r}: CloudFront needs an ACM certificate ARN "
            "in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>)"
        )
    return {"console_domain": str(domain), "console_certificate_arn": str(certificate)}


def _domain_prefix(value: Any) -> str | None:
    """Cognito's rules for a hosted-UI prefix, checked at synth rather than mid-deploy."""
    if value is None or value == "":
        return None
    prefix = str(value)
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix) or re.search(
        "aws|amazon|cognito", prefix
    ):
        raise ValueError(
            f"context consoleDomainPrefix={prefix!r}: use 1-63 lowercase letters, digits and hyphens "
            "(not at either end), without 'aws', 'amazon' or 'cognito'"
        )
    return prefix


def _authorization(value: Any) -> str:
    mode = str(value or "policies")
    if mode not in AUTHORIZATION_MODES:
        raise ValueError(f"context authorization={mode!r}: use one of {', '.join(AUTHORIZATION_MODES)}")
    return mode
