"""The principal matrix of issue 11: seven principals, every pipeline operation, one table.

Run twice: against the api Lambda's wiring in moto (``test_matrix.py``) and inside the deploy
rehearsal, against the stack deployed from ``cdk.out`` behind the loopback API Gateway
(``tests/rehearsal/test_authorization.py``). Both use these rows, this setup and these expected
outcomes: ``ok`` means authorization let the call through (the operation then ran, or failed
for a reason of its own), ``denied`` an ``AccessDeniedException``.

Accounts: the deployment's owner; three accounts the deployment admits (``sharingAccounts``):
one with a read-only share, one with an allow-execution share, one with no share at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError
from pipelines.api.ram import permission_arn
from pipelines.triggers import s3_object_created

from tests.deploy.conftest import REGION
from tests.deploy.conftest import definition as pipeline_definition

OWNER = "123456789012"  # moto's account: the deployment's own
READER, RUNNER, STRANGER = "111111111111", "222222222222", "333333333333"
SHARING_ACCOUNTS = (READER, RUNNER, STRANGER)
"""The accounts the deployment admits besides its own (``-c sharingAccounts``)."""
RULE_BUCKET = "uploads-bucket"
"""The bucket the deployment declares as a trigger source (``-c triggerBuckets``): PutRule's."""
ROLE = f"arn:aws:iam::{OWNER}:role/pipelines/Run"
TEAM_A = f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/team-a"
TEAM_B = f"arn:aws:sagemaker:{REGION}:{OWNER}:pipeline/team-b"
OWNER_PIPELINES = f"arn:aws:sagemaker:*:{OWNER}:pipeline"
# Jobs our pipelines ran (in SageMaker: moto), of two executions; "limited" may read the first's.
JOB_OF_TEAM_A = "pipelines-abc123def456-Prep-XyZ12345-0"
JOB_OF_OTHER = "pipelines-zzz999zzz999-Prep-AbC12345-0"
IMAGE = f"{OWNER}.dkr.ecr.{REGION}.amazonaws.com/sklearn:1.2-1"

# API Gateway's own check (AWS_IAM auth): a caller's identity policies must allow invoking the API.
# The api Lambda never evaluates execute-api actions, so the in-process matrix is unaffected.
INVOKE_API: dict[str, Any] = {
    "Effect": "Allow",
    "Action": "execute-api:Invoke",
    "Resource": f"arn:aws:execute-api:*:{OWNER}:*",
}

# principal -> (account, caller ARN, the identity policies of that user or role in its account)
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
            INVOKE_API,
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
            INVOKE_API,
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
        [
            INVOKE_API,
            {"Effect": "Allow", "Action": ["sagemaker:*", "scheduler:*", "events:*"], "Resource": "*"},
        ],
    ),
    "reader": (READER, f"arn:aws:iam::{READER}:user/someone", [INVOKE_API]),
    "runner": (RUNNER, f"arn:aws:iam::{RUNNER}:user/someone", [INVOKE_API]),
    "stranger": (STRANGER, f"arn:aws:iam::{STRANGER}:user/someone", [INVOKE_API]),
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
            Name=f"r-{s['principal']}", EventPattern=json.dumps(s3_object_created(RULE_BUCKET))
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


class Clients(Protocol):
    """One principal's clients for the deployed API (``pipelines.deploy.clients.ApiClients``)."""

    sagemaker: Any
    scheduler: Any
    ram: Any
    events: Any


def outcome(call: Call, clients: Clients, s: dict[str, str]) -> str:
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


def prepare(clients_as: Callable[[str], Clients], wait: Callable[[str], None], sagemaker: Any) -> str:
    """What the matrix runs against; returns the execution ARN the execution rows use.

    The admin creates team-a (at version 2) and team-b, runs team-a once (``wait`` until it
    finished), SageMaker (``sagemaker``: a boto3 client of moto's) holds a processing job of that
    execution's and one of another's, and the owner shares team-a read-only with READER and
    allow-execution with RUNNER, each accepting its invitation through the API as a user would."""
    admin = clients_as("admin")
    for name in ("team-a", "team-b"):
        admin.sagemaker.create_pipeline(
            PipelineName=name, PipelineDefinition=pipeline_definition(required_input=False), RoleArn=ROLE
        )
    admin.sagemaker.update_pipeline(
        PipelineName="team-a",
        PipelineDefinition=pipeline_definition(required_input=False).replace("0.5", "0.6"),  # version 2
    )
    execution = str(admin.sagemaker.start_pipeline_execution(PipelineName="team-a")["PipelineExecutionArn"])
    for job in (JOB_OF_TEAM_A, JOB_OF_OTHER):
        sagemaker.create_processing_job(
            ProcessingJobName=job,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            AppSpecification={"ImageUri": IMAGE},
            RoleArn=ROLE,
        )
    wait(execution)
    for account, principal, permission in (
        (READER, "reader", "AWSRAMDefaultPermissionSageMakerPipeline"),
        (RUNNER, "runner", "AWSRAMPermissionSageMakerPipelineAllowExecution"),
    ):
        admin.ram.create_resource_share(
            name=f"share-{account}",
            resourceArns=[TEAM_A],
            principals=[account],
            permissionArns=[permission_arn(permission)],
        )
        ram = clients_as(principal).ram
        (invitation,) = ram.get_resource_share_invitations()["resourceShareInvitations"]
        ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
    return execution


def run(
    clients_as: Callable[[str], Clients], execution: str, principals: list[str] = PRINCIPAL_ORDER
) -> dict[str, tuple[str, ...]]:
    """Every principal of ``principals`` makes every row's call: row -> outcomes in that order."""
    actual: dict[str, list[str]] = {row: [] for row, _ in OPERATIONS}
    for principal in principals:
        clients = clients_as(principal)
        for row, call in OPERATIONS:
            actual[row].append(outcome(call, clients, {"execution": execution, "principal": principal}))
    return {row: tuple(v) for row, v in actual.items()}


PIPELINES_AFTER = ["other", "team-a", "team-b"]
"""The pipelines after the matrix: the admin's only (a refused request changed nothing)."""
