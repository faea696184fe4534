"""A real ``pipelines serve`` on a free loopback port per test, and real boto3 clients for it."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from pipelines.api.embedded import EmbeddedApi, build_embedded_api
from pipelines.api.server import ApiServer
from pipelines.config import Config, ServeOptions
from pipelines.engine import Clock

OWNER = "000000000000"
ROLE = "arn:aws:iam::000000000000:role/pipelines"
# access key id -> account, as in a pipelines.toml [accounts] table
ACCOUNT_KEYS = {
    "AKIDOWNER": OWNER,
    "AKIDREADER": "111111111111",
    "AKIDRUNNER": "222222222222",
    "AKIDPENDING": "333333333333",
    "AKIDNOBODY": "444444444444",
}


def secret_of(access_key: str) -> str:
    return f"secret-of-{access_key.lower()}"


# The same, with secret keys: the server verifies every request's signature.
VERIFIED_ACCOUNTS: dict[str, Any] = {
    key: {"account": account, "secret_key": secret_of(key)} for key, account in ACCOUNT_KEYS.items()
}
# One attempt in all: botocore reads ``max_attempts`` as retries after the first, so a test would
# otherwise see the answer of a retried request (server faults are retried by boto3 itself).
_NO_RETRIES = BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"})

LAMBDA_HANDLER = textwrap.dedent(
    """
    def handler(event, context):
        return {"doubled": event["value"] * 2, "label": "v" + str(event["value"])}
    """
)


def condition_definition(with_lambda: bool = False) -> str:
    """Threshold > 0.3 -> (optional Lambda), else Fail: Condition/Fail steps run without any runner."""
    if_steps: list[dict[str, Any]] = []
    if with_lambda:
        if_steps.append(
            {
                "Name": "Double",
                "Type": "Lambda",
                "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:double",
                "Arguments": {"value": 21},
                "OutputParameters": [{"OutputName": "doubled", "OutputType": "Integer"}],
            }
        )
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [{"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}],
            "Steps": [
                {
                    "Name": "Check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [
                            {
                                "Type": "GreaterThan",
                                "LeftValue": {"Get": "Parameters.Threshold"},
                                "RightValue": 0.3,
                            }
                        ],
                        "IfSteps": if_steps,
                        "ElseSteps": [
                            {"Name": "TooLow", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}
                        ],
                    },
                }
            ],
        }
    )


@dataclass
class Served:
    api: EmbeddedApi
    server: ApiServer
    config: Config

    @property
    def url(self) -> str:
        return self.server.url

    def client(
        self,
        service: str,
        access_key: str = "AKIDOWNER",
        secret_key: str | None = None,
        config: BotoConfig = _NO_RETRIES,
    ) -> Any:
        """A boto3 client signing with ``access_key`` and its configured secret; one attempt a
        call unless ``config`` says otherwise."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key or secret_of(access_key),
            config=config,
        )


def make_config(
    tmp_path: Path, accounts: dict[str, Any] | None = None, serve: dict[str, Any] | None = None
) -> Config:
    handler = tmp_path / "double.py"
    handler.write_text(LAMBDA_HANDLER)
    return Config(
        state_dir=tmp_path / "state",
        object_root=tmp_path / "objects",
        accounts=dict(VERIFIED_ACCOUNTS) if accounts is None else accounts,
        functions={"arn:aws:lambda:us-east-1:000000000000:function:double": f"{handler}:handler"},
        serve=ServeOptions(**(serve or {})),
        base_dir=tmp_path,
    )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start a strict server (responses checked against botocore's output shapes)."""
    started: list[ApiServer] = []

    def start(
        *,
        clock: Clock | None = None,
        run_scheduler: bool = False,
        accounts: dict[str, Any] | None = None,
        serve: dict[str, Any] | None = None,
    ) -> Served:
        """``accounts={}``: a single-user server (no ``[accounts]``), for raw unsigned HTTP;
        ``serve``: the ``[serve]`` options (allowed hosts and origins)."""
        config = make_config(tmp_path, accounts, serve)
        api = build_embedded_api(config, clock=clock, strict_shapes=True)
        server = api.server("127.0.0.1", 0, run_scheduler=run_scheduler, resume=False).start()
        started.append(server)
        return Served(api, server, config)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    return serve()


@pytest.fixture
def single_user(serve: Callable[..., Served]) -> Served:
    """A server without ``[accounts]``: every request acts as the one local account."""
    return serve(accounts={})
