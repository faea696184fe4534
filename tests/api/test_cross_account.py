"""Cross-account sharing through the real boto3 ``ram`` and ``sagemaker`` clients: the owner may
do everything; an account that accepted a share only its permission's actions; an account
with a pending invitation, or none, nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.ops.access import ALLOW_EXECUTION_ACTIONS, READ_ONLY_ACTIONS
from pipelines.api.ram import permission_arn

from tests.api.conftest import OWNER, ROLE, Served
from tests.api.test_sagemaker_api import callback_definition, waiting_token

READ_ONLY = permission_arn("AWSRAMDefaultPermissionSageMakerPipeline")
ALLOW_EXECUTION = permission_arn("AWSRAMPermissionSageMakerPipelineAllowExecution")


def setup_shares(served: Served) -> dict[str, Any]:
    sm = served.client("sagemaker")
    pipeline = sm.create_pipeline(
        PipelineName="shared", PipelineDefinition=callback_definition(), RoleArn=ROLE
    )["PipelineArn"]
    execution = sm.start_pipeline_execution(PipelineName="shared")["PipelineExecutionArn"]
    token = waiting_token(sm, execution)
    ram = served.client("ram")
    read_share = ram.create_resource_share(
        name="read",
        resourceArns=[pipeline],
        principals=["111111111111", "333333333333"],
        permissionArns=[READ_ONLY],
    )["resourceShare"]
    run_share = ram.create_resource_share(
        name="run", resourceArns=[pipeline], principals=["222222222222"], permissionArns=[ALLOW_EXECUTION]
    )["resourceShare"]
    for key in ("AKIDREADER", "AKIDRUNNER"):
        client = served.client("ram", key)
        (invitation,) = client.get_resource_share_invitations()["resourceShareInvitations"]
        accepted = client.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
        assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    return {
        "pipeline": pipeline,
        "execution": execution,
        "token": token,
        "read": read_share,
        "run": run_share,
    }


Call = Callable[[Any, dict[str, Any]], Any]
# Each SageMaker operation, called on the owner's pipeline by ARN. Destructive ones come last.
OPERATIONS: list[tuple[str, Call]] = [
    ("DescribePipeline", lambda sm, s: sm.describe_pipeline(PipelineName=s["pipeline"])),
    ("ListPipelineExecutions", lambda sm, s: sm.list_pipeline_executions(PipelineName=s["pipeline"])),
    (
        "DescribePipelineExecution",
        lambda sm, s: sm.describe_pipeline_execution(PipelineExecutionArn=s["execution"]),
    ),
    (
        "ListPipelineExecutionSteps",
        lambda sm, s: sm.list_pipeline_execution_steps(PipelineExecutionArn=s["execution"]),
    ),
    (
        "ListPipelineParametersForExecution",
        lambda sm, s: sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=s["execution"]),
    ),
    (
        "DescribePipelineDefinitionForExecution",
        lambda sm, s: sm.describe_pipeline_definition_for_execution(PipelineExecutionArn=s["execution"]),
    ),
    ("ListPipelineVersions", lambda sm, s: sm.list_pipeline_versions(PipelineName=s["pipeline"])),
    ("ListTags", lambda sm, s: sm.list_tags(ResourceArn=s["pipeline"])),
    ("AddTags", lambda sm, s: sm.add_tags(ResourceArn=s["pipeline"], Tags=[{"Key": "k", "Value": "v"}])),
    ("StartPipelineExecution", lambda sm, s: sm.start_pipeline_execution(PipelineName=s["pipeline"])),
    (
        "RetryPipelineExecution",
        lambda sm, s: sm.retry_pipeline_execution(PipelineExecutionArn=s["execution"]),
    ),
    (
        "UpdatePipelineExecution",
        lambda sm, s: sm.update_pipeline_execution(
            PipelineExecutionArn=s["execution"], PipelineExecutionDescription="x"
        ),
    ),
    # UpdatePipeline and DeletePipeline take a name only: another account's name is not found.
    ("UpdatePipeline", lambda sm, s: sm.update_pipeline(PipelineName="shared", PipelineDescription="x")),
    (
        "SendPipelineExecutionStepSuccess",
        lambda sm, s: sm.send_pipeline_execution_step_success(CallbackToken=s["token"]),
    ),
    ("StopPipelineExecution", lambda sm, s: sm.stop_pipeline_execution(PipelineExecutionArn=s["execution"])),
    ("DeletePipeline", lambda sm, s: sm.delete_pipeline(PipelineName="shared")),
]
NAME_ONLY = {"UpdatePipeline", "DeletePipeline"}
# Errors that show the call was authorized and then judged on the execution's state.
STATE_ERRORS = {"ConflictException", "ValidationException", "ResourceNotFound"}

ACCOUNTS = {
    "owner": ("AKIDOWNER", {name for name, _ in OPERATIONS}),
    "read-only": ("AKIDREADER", READ_ONLY_ACTIONS),
    "allow-execution": ("AKIDRUNNER", ALLOW_EXECUTION_ACTIONS),
    "not-accepted": ("AKIDPENDING", frozenset()),
    "unshared": ("AKIDNOBODY", frozenset()),
}


@pytest.mark.parametrize("account", list(ACCOUNTS))
def test_every_operation_honours_the_share(served: Served, account: str) -> None:
    state = setup_shares(served)
    key, allowed = ACCOUNTS[account]
    sm = served.client("sagemaker", key)
    for name, call in OPERATIONS:
        if name == "SendPipelineExecutionStepSuccess" and account == "owner":
            continue  # would finish the execution before Stop is checked; covered in the API tests
        try:
            call(sm, state)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if name in allowed:
                assert code in STATE_ERRORS, f"{account} should be allowed {name}, got {code}"
            elif name in NAME_ONLY:
                assert code == "ResourceNotFound", f"{account} must not find {name}'s pipeline, got {code}"
            else:
                assert code == "AccessDeniedException", f"{account} must be denied {name}, got {code}"
                assert f"sagemaker:{name}" in error.response["Error"]["Message"]
            continue
        assert name in allowed, f"{account} was allowed {name}"
    if account != "owner":  # nothing a denied caller did changed the owner's pipeline
        owner = served.client("sagemaker")
        assert owner.describe_pipeline(PipelineName="shared")["PipelineName"] == "shared"


def test_names_resolve_in_the_callers_own_account(served: Served) -> None:
    setup_shares(served)
    reader = served.client("sagemaker", "AKIDREADER")
    with pytest.raises(reader.exceptions.ResourceNotFound):
        reader.describe_pipeline(PipelineName="shared")
    assert reader.list_pipelines()["PipelineSummaries"] == []
    assert [p["PipelineName"] for p in served.client("sagemaker").list_pipelines()["PipelineSummaries"]] == [
        "shared"
    ]


def test_search_finds_shared_pipelines_for_sharees_only(served: Served) -> None:
    state = setup_shares(served)
    reader = served.client("sagemaker", "AKIDREADER")
    assert [r["Pipeline"]["PipelineArn"] for r in reader.search(Resource="Pipeline")["Results"]] == [
        state["pipeline"]
    ]
    assert reader.search(Resource="Pipeline", CrossAccountFilterOption="SameAccount")["Results"] == []
    assert served.client("sagemaker", "AKIDPENDING").search(Resource="Pipeline")["Results"] == []


def test_shared_runner_starts_on_the_owners_resources(served: Served) -> None:
    state = setup_shares(served)
    runner = served.client("sagemaker", "AKIDRUNNER")
    arn = runner.start_pipeline_execution(PipelineName=state["pipeline"])["PipelineExecutionArn"]
    assert arn.startswith(state["pipeline"] + "/execution/")  # the owner's account is in the ARN
    assert f":{OWNER}:" in arn


def test_ram_lifecycle_reject_disassociate_delete(served: Served) -> None:
    state = setup_shares(served)
    ram = served.client("ram")
    pending = served.client("ram", "AKIDPENDING")
    (invitation,) = pending.get_resource_share_invitations()["resourceShareInvitations"]
    rejected = pending.reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    assert rejected["resourceShareInvitation"]["status"] == "REJECTED"
    with pytest.raises(ClientError) as caught:
        pending.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
    assert caught.value.response["Error"]["Code"] == "ResourceShareInvitationAlreadyRejectedException"

    owned = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert {s["name"] for s in owned} == {"read", "run"}
    assert [
        s["name"]
        for s in served.client("ram", "AKIDREADER").get_resource_shares(resourceOwner="OTHER-ACCOUNTS")[
            "resourceShares"
        ]
    ] == ["read"]

    reader = served.client("sagemaker", "AKIDREADER")
    reader.describe_pipeline(PipelineName=state["pipeline"])
    associations = ram.disassociate_resource_share(
        resourceShareArn=state["read"]["resourceShareArn"], principals=["111111111111"]
    )["resourceShareAssociations"]
    assert associations[0]["status"] == "DISASSOCIATED"
    with pytest.raises(ClientError) as caught:
        reader.describe_pipeline(PipelineName=state["pipeline"])
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"

    ram.associate_resource_share(
        resourceShareArn=state["read"]["resourceShareArn"], principals=["111111111111"]
    )
    reader_ram = served.client("ram", "AKIDREADER")
    pending_invites = [
        i
        for i in reader_ram.get_resource_share_invitations()["resourceShareInvitations"]
        if i["status"] == "PENDING"
    ]
    reader_ram.accept_resource_share_invitation(
        resourceShareInvitationArn=pending_invites[0]["resourceShareInvitationArn"]
    )
    reader.describe_pipeline(PipelineName=state["pipeline"])

    assert (
        ram.delete_resource_share(resourceShareArn=state["read"]["resourceShareArn"])["returnValue"] is True
    )
    with pytest.raises(ClientError):
        reader.describe_pipeline(PipelineName=state["pipeline"])


def test_ram_refuses_what_it_cannot_share(served: Served) -> None:
    ram = served.client("ram")
    permissions = ram.list_permissions(resourceType="sagemaker:Pipeline")["permissions"]
    assert {p["name"] for p in permissions} == {
        "AWSRAMDefaultPermissionSageMakerPipeline",
        "AWSRAMPermissionSageMakerPipelineAllowExecution",
    }
    assert ram.list_permissions(resourceType="ec2:Subnet")["permissions"] == []
    cases = [
        ({"resourceArns": ["not-an-arn"]}, "MalformedArnException"),
        ({"resourceArns": ["arn:aws:ec2:us-east-1:000000000000:subnet/s-1"]}, "InvalidResourceTypeException"),
        (
            {"resourceArns": ["arn:aws:sagemaker:us-east-1:999999999999:pipeline/x"]},
            "OperationNotPermittedException",
        ),
        (
            {"principals": ["arn:aws:organizations::000000000000:organization/o-1"]},
            "InvalidParameterException",
        ),
        ({"permissionArns": ["arn:aws:ram::aws:permission/Other"]}, "InvalidParameterException"),
    ]
    for extra, code in cases:
        with pytest.raises(ClientError) as caught:
            ram.create_resource_share(name="bad", **extra)
        assert caught.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as caught:
        ram.delete_resource_share(resourceShareArn="arn:aws:ram:us-east-1:000000000000:resource-share/none")
    assert caught.value.response["Error"]["Code"] == "UnknownResourceException"
