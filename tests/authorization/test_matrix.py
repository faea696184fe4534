"""The principal matrix against the api Lambda's real wiring in moto, IAM holding real policies.

Every principal calls every pipeline operation, and creates a schedule and a rule, through real
boto3 clients and API Gateway proxy events (``requestContext.identity`` carries the caller's
account and ARN, as API Gateway's AWS_IAM authorization reports them). The expected outcome of
each call is written out in ``EXPECTED``: ``ok`` means authorization let it through (the
operation then ran, or failed for a reason of its own), ``denied`` an ``AccessDeniedException``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pipelines.api.ram import permission_arn
from pipelines.deploy.apigateway import handle_proxy_event, to_proxy_response
from pipelines.deploy.clients import api_clients
from pipelines.deploy.wiring import CloudServices
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.triggers import s3_object_created

from tests.cloud.moto_dynamodb import serialised_dynamodb
from tests.deploy.conftest import REGION, deployed_services
from tests.deploy.conftest import definition as pipeline_definition
from tests.deploy.gateway import API_URL, Gateway

OWNER = "123456789012"  # moto's account: the deployment's own
READER, RUNNER, STRANGER = "111111111111", "222222222222", "333333333333"
ROLE = f"arn:aws:iam::{OWNER}:role/pipelines/Run"
TEAM_A = f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/team-a"
TEAM_B = f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/team-b"
OWNER_PIPELINES = f"arn:aws:sagemaker:*:{OWNER}:pipeline"
# Jobs our pipelines ran (in SageMaker: moto), of two executions; "limited" may read the first's.
JOB_OF_TEAM_A = "pipelines-abc123def456-Prep-XyZ12345-0"
JOB_OF_OTHER = "pipelines-zzz999zzz999-Prep-AbC12345-0"
IMAGE = f"{OWNER}.dkr.ecr.{REGION}.amazonaws.com/sklearn:1.2-1"

# principal -> (account, caller ARN, IAM policies of that user in the owner account)
PRINCIPALS: dict[str, tuple[str, str, list[dict[str, Any]]]] = {
    "admin": (
        OWNER,
        f"arn:aws:iam::{OWNER}:user/admin",
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    ),
    "limited": (
        OWNER,
        f"arn:aws:sts::{OWNER}:assumed-role/TeamA/alice",  # a role session: its role's policies
        [
            {
                "Effect": "Allow",
                "Action": "sagemaker:*",
                "Resource": [
                    f"{OWNER_PIPELINES}/team-a",
                    f"{OWNER_PIPELINES}/team-a/*",
                    f"{OWNER_PIPELINES}/team-a-*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["sagemaker:ListPipelines", "scheduler:*", "events:*"],
                "Resource": "*",
            },
            {  # job ARNs carry the name lower-cased, as SageMaker writes them
                "Effect": "Allow",
                "Action": "sagemaker:DescribeProcessingJob",
                "Resource": f"arn:aws:sagemaker:*:{OWNER}:processing-job/pipelines-abc123def456-*",
            },
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": ROLE,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
        ],
    ),
    "versioned": (
        OWNER,
        f"arn:aws:iam::{OWNER}:user/versioned",
        [
            {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["sagemaker:StartPipelineExecution", "sagemaker:UpdatePipelineVersion"],
                "Resource": f"{OWNER_PIPELINES}/*",
                "Condition": {"NumericGreaterThanEquals": {"sagemaker:PipelineVersionId": "2"}},
            },
        ],
    ),
    "nopass": (
        OWNER,
        f"arn:aws:iam::{OWNER}:user/nopass",
        [{"Effect": "Allow", "Action": ["sagemaker:*", "scheduler:*", "events:*"], "Resource": "*"}],
    ),
    "reader": (READER, f"arn:aws:iam::{READER}:user/someone", []),
    "runner": (RUNNER, f"arn:aws:iam::{RUNNER}:user/someone", []),
    "stranger": (STRANGER, f"arn:aws:iam::{STRANGER}:user/someone", []),
}

Call = Callable[[Any, dict[str, str]], Any]
# (row, call); s holds the ARNs set up below. Destructive rows come last.
OPERATIONS: list[tuple[str, Call]] = [
    ("DescribePipeline", lambda c, s: c.sagemaker.describe_pipeline(PipelineName=TEAM_A)),
    ("DescribePipeline team-b", lambda c, s: c.sagemaker.describe_pipeline(PipelineName=TEAM_B)),
    ("ListPipelines", lambda c, s: c.sagemaker.list_pipelines()),
    ("ListPipelineVersions", lambda c, s: c.sagemaker.list_pipeline_versions(PipelineName=TEAM_A)),
    ("ListPipelineExecutions", lambda c, s: c.sagemaker.list_pipeline_executions(PipelineName=TEAM_A)),
    ("ListTags", lambda c, s: c.sagemaker.list_tags(ResourceArn=TEAM_A)),
    (
        "DescribePipelineExecution",
        lambda c, s: c.sagemaker.describe_pipeline_execution(PipelineExecutionArn=s["execution"]),
    ),
    (
        "ListPipelineExecutionSteps",
        lambda c, s: c.sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=s["execution"]),
    ),
    (
        "ListPipelineParametersForExecution",
        lambda c, s: c.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=s["execution"]),
    ),
    (
        "DescribePipelineDefinitionForExecution",
        lambda c, s: c.sagemaker.describe_pipeline_definition_for_execution(
            PipelineExecutionArn=s["execution"]
        ),
    ),
    (
        "DescribeProcessingJob team-a's",
        lambda c, s: c.sagemaker.describe_processing_job(ProcessingJobName=JOB_OF_TEAM_A),
    ),
    (
        "DescribeProcessingJob other's",
        lambda c, s: c.sagemaker.describe_processing_job(ProcessingJobName=JOB_OF_OTHER),
    ),
    ("StartPipelineExecution v2", lambda c, s: c.sagemaker.start_pipeline_execution(PipelineName=TEAM_A)),
    (
        "StartPipelineExecution team-b v1",
        lambda c, s: c.sagemaker.start_pipeline_execution(PipelineName=TEAM_B),
    ),
    (
        "UpdatePipelineExecution",
        lambda c, s: c.sagemaker.update_pipeline_execution(
            PipelineExecutionArn=s["execution"], PipelineExecutionDisplayName="renamed"
        ),
    ),
    (
        "StopPipelineExecution",
        lambda c, s: c.sagemaker.stop_pipeline_execution(
            PipelineExecutionArn=s["execution"], ClientRequestToken=f"stop-{s['principal']}".ljust(40, "0")
        ),
    ),
    (
        "RetryPipelineExecution",
        lambda c, s: c.sagemaker.retry_pipeline_execution(
            PipelineExecutionArn=s["execution"], ClientRequestToken=f"retry-{s['principal']}".ljust(40, "0")
        ),
    ),
    (
        "AddTags",
        lambda c, s: c.sagemaker.add_tags(ResourceArn=TEAM_A, Tags=[{"Key": "reviewed", "Value": "yes"}]),
    ),
    ("DeleteTags", lambda c, s: c.sagemaker.delete_tags(ResourceArn=TEAM_A, TagKeys=["reviewed"])),
    (
        "UpdatePipeline with RoleArn",
        lambda c, s: c.sagemaker.update_pipeline(PipelineName="team-a", RoleArn=ROLE),
    ),
    (
        "UpdatePipeline description",
        lambda c, s: c.sagemaker.update_pipeline(PipelineName="team-a", PipelineDescription="d"),
    ),
    (
        "CreatePipeline team-a-new",
        lambda c, s: c.sagemaker.create_pipeline(
            PipelineName="team-a-new", PipelineDefinition=pipeline_definition(), RoleArn=ROLE
        ),
    ),
    (
        "CreatePipeline other",
        lambda c, s: c.sagemaker.create_pipeline(
            PipelineName="other", PipelineDefinition=pipeline_definition(), RoleArn=ROLE
        ),
    ),
    ("CreateSchedule", lambda c, s: c.scheduler.create_schedule(**schedule(s["principal"], TEAM_A))),
    (
        "CreateSchedule team-b",
        lambda c, s: c.scheduler.create_schedule(**schedule(s["principal"] + "-b", TEAM_B)),
    ),
    (
        "PutRule",
        lambda c, s: c.events.put_rule(
            Name=f"r-{s['principal']}", EventPattern=json.dumps(s3_object_created("uploads-bucket"))
        ),
    ),
    (
        "DeletePipeline team-a-new",
        lambda c, s: c.sagemaker.delete_pipeline(
            PipelineName="team-a-new", ClientRequestToken=f"delete-{s['principal']}".ljust(40, "0")
        ),
    ),
]

PRINCIPAL_ORDER = ["admin", "limited", "versioned", "nopass", "reader", "runner", "stranger"]
Y, N = "ok", "denied"
M = "ResourceNotFound"  # a bare name means the caller's own account's pipeline: none there
# row -> outcome per principal, in PRINCIPAL_ORDER
EXPECTED: dict[str, tuple[str, ...]] = {
    #                                          admin limited versioned nopass reader runner stranger
    "DescribePipeline":                       (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "DescribePipeline team-b":                (Y,    N,      Y,        Y,     N,     N,     N),
    "ListPipelines":                          (Y,    Y,      Y,        Y,     Y,     Y,     Y),
    "ListPipelineVersions":                   (Y,    Y,      Y,        Y,     N,     N,     N),
    "ListPipelineExecutions":                 (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "ListTags":                               (Y,    Y,      Y,        Y,     N,     N,     N),
    "DescribePipelineExecution":              (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "ListPipelineExecutionSteps":             (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "ListPipelineParametersForExecution":     (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "DescribePipelineDefinitionForExecution": (Y,    Y,      Y,        Y,     Y,     Y,     N),
    "DescribeProcessingJob team-a's":         (Y,    Y,      Y,        Y,     N,     N,     N),
    "DescribeProcessingJob other's":          (Y,    N,      Y,        Y,     N,     N,     N),
    "StartPipelineExecution v2":              (Y,    Y,      Y,        Y,     N,     Y,     N),
    "StartPipelineExecution team-b v1":       (Y,    N,      N,        Y,     N,     N,     N),
    "UpdatePipelineExecution":                (Y,    Y,      N,        Y,     N,     N,     N),
    "StopPipelineExecution":                  (Y,    Y,      N,        Y,     N,     Y,     N),
    "RetryPipelineExecution":                 (Y,    Y,      N,        Y,     N,     Y,     N),
    "AddTags":                                (Y,    Y,      N,        Y,     N,     N,     N),
    "DeleteTags":                             (Y,    Y,      N,        Y,     N,     N,     N),
    "UpdatePipeline with RoleArn":            (Y,    Y,      N,        N,     M,     M,     M),
    "UpdatePipeline description":             (Y,    Y,      N,        Y,     M,     M,     M),
    "CreatePipeline team-a-new":              (Y,    Y,      N,        N,     N,     N,     N),
    "CreatePipeline other":                   (Y,    N,      N,        N,     N,     N,     N),
    "CreateSchedule":                         (Y,    Y,      Y,        Y,     N,     N,     N),
    "CreateSchedule team-b":                  (Y,    N,      N,        Y,     N,     N,     N),
    "PutRule":                                (Y,    Y,      Y,        Y,     N,     N,     N),
    "DeletePipeline team-a-new":              (Y,    Y,      N,        M,     M,     M,     M),
}  # fmt: skip


def schedule(principal: str, target: str) -> dict[str, Any]:
    return {
        "Name": f"nightly-{principal}",
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": target,
            "RoleArn": ROLE,
            "SageMakerPipelineParameters": {"PipelineParameterList": []},
        },
    }


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


def outcome(call: Call, clients: Any, s: dict[str, str]) -> str:
    try:
        call(clients, s)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500, exc.response
        if code == "AccessDeniedException":
            return N
        # authorized, then refused for a reason of the operation's own (a finished execution)
        return Y if code == "ConflictException" else code
    return Y


def test_the_principal_matrix(deployment: tuple[CloudServices, EmbeddedRuntime]) -> None:
    services, runtime = deployment
    admin = clients_as(services, "admin")
    for name in ("team-a", "team-b"):
        admin.sagemaker.create_pipeline(
            PipelineName=name, PipelineDefinition=pipeline_definition(required_input=False), RoleArn=ROLE
        )
    admin.sagemaker.update_pipeline(
        PipelineName="team-a",
        PipelineDefinition=pipeline_definition(required_input=False).replace("0.5", "0.6"),  # version 2
    )
    execution = admin.sagemaker.start_pipeline_execution(PipelineName="team-a")["PipelineExecutionArn"]
    for job in (JOB_OF_TEAM_A, JOB_OF_OTHER):
        boto3.client("sagemaker", region_name=REGION).create_processing_job(
            ProcessingJobName=job,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            AppSpecification={"ImageUri": IMAGE},
            RoleArn=ROLE,
        )
    runtime.wait(execution.rsplit("/", 1)[1], timeout=20)
    for account, permission in (
        (READER, "AWSRAMDefaultPermissionSageMakerPipeline"),
        (RUNNER, "AWSRAMPermissionSageMakerPipelineAllowExecution"),
    ):
        admin.ram.create_resource_share(
            name=f"share-{account}",
            resourceArns=[TEAM_A],
            principals=[account],
            permissionArns=[permission_arn(permission)],
        )
        ram = clients_as(services, "reader" if account == READER else "runner").ram
        (invitation,) = ram.get_resource_share_invitations()["resourceShareInvitations"]
        ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )

    actual: dict[str, list[str]] = {row: [] for row, _ in OPERATIONS}
    for principal in PRINCIPAL_ORDER:
        clients = clients_as(services, principal)
        for row, call in OPERATIONS:
            actual[row].append(outcome(call, clients, {"execution": execution, "principal": principal}))
    for unfinished in services.store.list_unfinished_executions():
        runtime.wait(unfinished.execution_id, timeout=20)
    assert {row: tuple(v) for row, v in actual.items()} == EXPECTED
    # a refused request changed nothing: the only pipelines are the admin's
    names = sorted(p["PipelineName"] for p in admin.sagemaker.list_pipelines()["PipelineSummaries"])
    assert names == ["other", "team-a", "team-b"]


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
