"""The principal matrix (``matrix.py``) against the api Lambda's real wiring in moto, IAM holding
real policies.

Every principal calls every pipeline operation, and creates a schedule and a rule, through real
boto3 clients and API Gateway proxy events (``requestContext.identity`` carries the caller's
account and ARN, as API Gateway's AWS_IAM authorization reports them). The same table runs inside
the deploy rehearsal too (``tests/rehearsal/test_authorization.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pipelines.deploy.apigateway import handle_proxy_event, to_proxy_response
from pipelines.deploy.clients import api_clients
from pipelines.deploy.wiring import CloudServices
from pipelines.runtime.embedded import EmbeddedRuntime

from tests.authorization import matrix
from tests.authorization.matrix import OWNER, PRINCIPALS, ROLE, TEAM_B
from tests.cloud.moto_dynamodb import serialised_dynamodb
from tests.deploy.conftest import REGION, deployed_services
from tests.deploy.conftest import definition as pipeline_definition
from tests.deploy.gateway import API_URL, Gateway


def with_caller(account: str, arn: str, gateway_endpoint: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def handle(event: dict[str, Any]) -> dict[str, Any]:
        event["requestContext"]["identity"].update(accountId=account, userArn=arn)
        return to_proxy_response(handle_proxy_event(gateway_endpoint, event)[1])

    return handle


@pytest.fixture
def deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CloudServices, EmbeddedRuntime]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTESTING",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    from moto import mock_aws

    with (
        mock_aws(),
        serialised_dynamodb(),
        deployed_services(tmp_path, authorization="policies", owner=OWNER) as deployed,
    ):
        iam = boto3.client("iam", region_name=REGION)
        for name, (account, arn, statements) in PRINCIPALS.items():
            if account != OWNER:
                continue
            document = json.dumps({"Version": "2012-10-17", "Statement": statements})
            if ":assumed-role/" in arn:
                role = arn.split("/")[1]
                iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
            else:
                iam.create_user(UserName=arn.rsplit("/", 1)[1])
                iam.put_user_policy(UserName=arn.rsplit("/", 1)[1], PolicyName=name, PolicyDocument=document)
        yield deployed


def clients_as(services: CloudServices, principal: str) -> Any:
    account, arn, _ = PRINCIPALS[principal]
    made = api_clients(API_URL, REGION)
    gateway = Gateway(handler=with_caller(account, arn, services.endpoint()), account_id=account)
    for client in (made.sagemaker, made.scheduler, made.ram, made.events):
        gateway.attach(client)
    return made


def test_the_principal_matrix(deployment: tuple[CloudServices, EmbeddedRuntime]) -> None:
    services, runtime = deployment

    def clients(principal: str) -> Any:
        return clients_as(services, principal)

    execution = matrix.prepare(
        clients,
        lambda arn: runtime.wait(arn.rsplit("/", 1)[1], timeout=20),
        boto3.client("sagemaker", region_name=REGION),
    )
    actual = matrix.run(clients, execution)
    for unfinished in services.store.list_unfinished_executions():
        runtime.wait(unfinished.execution_id, timeout=20)
    assert actual == matrix.EXPECTED
    names = sorted(
        p["PipelineName"] for p in clients("admin").sagemaker.list_pipelines()["PipelineSummaries"]
    )
    assert names == matrix.PIPELINES_AFTER


def test_other_accounts_cannot_tell_unshared_pipelines_from_missing_ones(
    deployment: tuple[CloudServices, EmbeddedRuntime],
) -> None:
    services, _ = deployment
    clients_as(services, "admin").sagemaker.create_pipeline(
        PipelineName="team-b", PipelineDefinition=pipeline_definition(), RoleArn=ROLE
    )
    stranger = clients_as(services, "stranger").sagemaker
    answers = []
    for arn in (TEAM_B, TEAM_B + "-missing"):
        for call in (
            lambda arn=arn: stranger.describe_pipeline(PipelineName=arn),
            lambda arn=arn: stranger.describe_pipeline_execution(
                PipelineExecutionArn=arn + "/execution/abcdefghijkl"
            ),
        ):
            with pytest.raises(ClientError) as exc:
                call()
            answers.append(exc.value.response["Error"]["Code"])
            assert (
                exc.value.response["Error"]["Message"].count("pipeline/team-b") == 1
            )  # only the ARN it sent
    assert answers == ["AccessDeniedException"] * 4
    names = [p["PipelineName"] for p in stranger.list_pipelines()["PipelineSummaries"]]
    assert names == []
