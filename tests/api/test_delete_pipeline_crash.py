"""DeletePipeline that dies half-way, in ``pipelines serve``: the retry, sent to a restarted
server with the same ClientRequestToken (as boto3 resends it), leaves no schedule firing at the
deleted pipeline and no share granting anything on its name.

The call dies at the store's delete of the record, just after it (the record is gone) or just
before it. Whatever ran before that point ran; nothing after it did, as when the process is
killed there: the injected error is answered 500 and the server is then replaced by a new one over
the same state directory."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.ram import permission_arn

from tests.api.conftest import ROLE, Served, condition_definition
from tests.crash_points import Moment, die_at_record_delete, retry_delete

READER_KEY = "AKIDREADER"
READER = "111111111111"
READ_ONLY = permission_arn("AWSRAMDefaultPermissionSageMakerPipeline")


def nightly(arn: str, name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": arn, "RoleArn": ROLE, "SageMakerPipelineParameters": {}},
        "StartDate": dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    }


def share_with_reader(served: Served, *arns: str) -> None:
    served.client("ram").create_resource_share(
        name="read", resourceArns=list(arns), principals=[READER], permissionArns=[READ_ONLY]
    )
    ram = served.client("ram", READER_KEY)
    (invitation,) = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


@pytest.mark.parametrize("moment", ["after", "before"])
def test_the_retry_of_a_delete_that_died_leaves_no_schedule_or_share(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch, moment: Moment
) -> None:
    first = serve()
    sm = first.client("sagemaker")
    arns = {
        name: sm.create_pipeline(PipelineName=name, PipelineDefinition=condition_definition(), RoleArn=ROLE)[
            "PipelineArn"
        ]
        for name in ("doomed", "kept")
    }
    for name, arn in arns.items():
        first.client("scheduler").create_schedule(**nightly(arn, f"{name}-nightly"))
    share_with_reader(first, *arns.values())
    die_at_record_delete(monkeypatch, first.api.operations.store, moment)
    token = str(uuid.uuid4())

    once = first.client("sagemaker")  # one attempt: its retry goes to the restarted server
    with pytest.raises(ClientError) as died:
        once.delete_pipeline(PipelineName="doomed", ClientRequestToken=token)
    assert died.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    first.server.stop()

    restarted = serve()  # a new process over the same state directory
    sm = restarted.client("sagemaker")
    retry_delete(sm, "doomed", token, arns["doomed"], moment)

    scheduler = restarted.client("scheduler")
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["kept-nightly"]
    # A pipeline made again under the name starts with no share of the old one's.
    again = sm.create_pipeline(PipelineName="doomed", PipelineDefinition=condition_definition(), RoleArn=ROLE)
    assert again["PipelineArn"] == arns["doomed"]
    reader = restarted.client("sagemaker", READER_KEY)
    assert reader.describe_pipeline(PipelineName=arns["kept"])["PipelineName"] == "kept"
    with pytest.raises(ClientError) as denied:
        reader.describe_pipeline(PipelineName=arns["doomed"])
    assert denied.value.response["Error"]["Code"] in {"AccessDeniedException", "ResourceNotFound"}
