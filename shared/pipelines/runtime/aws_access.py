"""AWS clients for the engine: as its own role, or as a pipeline's role.

In the cloud every step runs as the pipeline's RoleArn, as the managed service does, so the
engine's own calls about a step (Stop*Job, the Stopping message, experiments, Describe*) are made
as that role too (STS AssumeRole; infra lets the engine assume roles under ``/pipelines/``).
Credentials are cached until a minute before they expire; clients are shared across threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pipelines import aws


@dataclass
class _AssumedRole:
    credentials: dict[str, Any]
    expires: float
    clients: dict[str, Any] = field(default_factory=dict)


class AwsAccess:
    """Clients as the engine's own role (``role_arn`` None, or assuming disabled) or as a role."""

    def __init__(
        self, region: str, *, assume_roles: bool = True, session_name: str = "pipelines-engine"
    ) -> None:
        self.region = region
        self.assume_roles = assume_roles
        self.session_name = session_name
        self._own: dict[str, Any] = {}
        self._roles: dict[str, _AssumedRole] = {}
        self._lock = threading.Lock()

    def client(self, service: str, role_arn: str | None = None) -> Any:
        if role_arn is None or not self.assume_roles:
            with self._lock:
                if service not in self._own:
                    self._own[service] = aws.client(service, self.region)
                return self._own[service]
        assumed = self._assumed(role_arn)
        with self._lock:
            if service not in assumed.clients:
                creds = assumed.credentials
                assumed.clients[service] = aws.client(
                    service,
                    self.region,
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )
            return assumed.clients[service]

    def session(self, role_arn: str | None = None) -> Any:
        """A boto3 Session as the engine's own role or as ``role_arn`` (for libraries that take
        a session rather than a client, e.g. the sagemaker-mlflow plugin's SigV4 signer)."""
        import boto3

        if role_arn is None or not self.assume_roles:
            return boto3.Session(region_name=self.region)
        creds = self._assumed(role_arn).credentials
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        )

    def _assumed(self, role_arn: str) -> _AssumedRole:
        with self._lock:
            current = self._roles.get(role_arn)
        if current is not None and current.expires - time.time() > 60:
            return current
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=self.session_name)[
            "Credentials"
        ]
        expiration = credentials["Expiration"]
        expires = expiration.timestamp() if hasattr(expiration, "timestamp") else time.time() + 900
        fresh = _AssumedRole(credentials, expires)
        with self._lock:
            self._roles[role_arn] = fresh
        return fresh
