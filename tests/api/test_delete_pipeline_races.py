"""DeletePipeline racing what registers something that points at the pipeline, in ``pipelines
serve`` with real boto3 clients: no schedule or share is left for a deleted pipeline (one would
fire for ever, or grant access to a later pipeline of the same name), whichever way they
interleave (pipelines.engine.pipelines: the Deleting mark, then the cleanup; a registration
writes, then checks the pipeline again).

Each race is made deterministic by a hook: the registration runs inside the delete, between its
cleanup and its record delete; or the whole delete runs inside the registration, between its
check of the pipeline and its write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE, Served, condition_definition
from tests.api.test_delete_pipeline_crash import READ_ONLY, READER, nightly
from tests.crash_points import before_record_delete, right_after


def create(served: Served, name: str) -> str:
    created = served.client("sagemaker").create_pipeline(
        PipelineName=name, PipelineDefinition=condition_definition(), RoleArn=ROLE
    )
    return str(created["PipelineArn"])


def doomed_and_kept(served: Served) -> tuple[str, str]:
    """Pipelines ``doomed`` (to be deleted) and ``kept``, which has a schedule ``kept-nightly``."""
    arn, kept = create(served, "doomed"), create(served, "kept")
    served.client("scheduler").create_schedule(**nightly(kept, "kept-nightly"))
    return arn, kept


def delete_if_there(served: Served, name: str) -> None:
    """DeletePipeline of ``name`` through the API, unless there is no such pipeline."""
    sagemaker = served.client("sagemaker")
    if name in [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]]:
        sagemaker.delete_pipeline(PipelineName=name)


def outcome(call: Callable[[], Any]) -> str:
    """ "ok", or the error code the call was answered with."""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def share(served: Served, arn: str, name: str = "late") -> Any:
    return served.client("ram").create_resource_share(
        name=name, resourceArns=[arn], principals=[READER], permissionArns=[READ_ONLY]
    )


def shares_of(served: Served, arn: str) -> list[str]:
    """The names of the active shares that hold ``arn``."""
    return [
        s["name"]
        for s in served.api.shares.storage.shares()
        if s["status"] == "ACTIVE" and arn in s["resources"]
    ]


def test_what_arrives_between_the_cleanup_and_the_record_delete_is_refused(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, kept = doomed_and_kept(served)
    seen: dict[str, Any] = {}

    def register_meanwhile() -> None:
        seen["status"] = served.client("sagemaker").describe_pipeline(PipelineName="doomed")["PipelineStatus"]
        seen["schedule"] = outcome(lambda: served.client("scheduler").create_schedule(**nightly(arn, "late")))
        seen["retarget"] = outcome(
            lambda: served.client("scheduler").update_schedule(**nightly(arn, "kept-nightly"))
        )
        seen["share"] = outcome(lambda: share(served, arn))
        seen["start"] = outcome(
            lambda: served.client("sagemaker").start_pipeline_execution(PipelineName="doomed")
        )
        seen["update"] = outcome(
            lambda: served.client("sagemaker").update_pipeline(PipelineName="doomed", PipelineDescription="x")
        )

    before_record_delete(monkeypatch, served.api.operations.store, register_meanwhile)
    assert served.client("sagemaker").delete_pipeline(PipelineName="doomed")["PipelineArn"] == arn

    assert seen == {
        "status": "Deleting",
        "schedule": "ValidationException",
        "retarget": "ValidationException",
        "share": "UnknownResourceException",
        "start": "ConflictException",
        "update": "ConflictException",
    }
    schedules = served.client("scheduler").list_schedules()["Schedules"]
    assert [(s["Name"], s["Target"]["Arn"]) for s in schedules] == [("kept-nightly", kept)]
    assert shares_of(served, arn) == []


def test_a_schedule_checked_before_the_delete_and_written_after_it_is_undone(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn, kept = doomed_and_kept(served)
    right_after(monkeypatch, served.api.scheduler, "_checked", lambda: delete_if_there(served, "doomed"))
    with pytest.raises(ClientError) as refused:
        served.client("scheduler").create_schedule(**nightly(arn, "late"))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "being deleted" in refused.value.response["Error"]["Message"]

    create(served, "doomed")  # made again: an update retargeting a schedule at it races its delete
    with pytest.raises(ClientError) as refused:
        served.client("scheduler").update_schedule(**nightly(arn, "kept-nightly"))
    assert refused.value.response["Error"]["Code"] == "ValidationException"

    schedules = served.client("scheduler").list_schedules()["Schedules"]
    assert [(s["Name"], s["Target"]["Arn"]) for s in schedules] == [("kept-nightly", kept)]  # as it was


def test_a_share_checked_before_the_delete_and_written_after_it_is_undone(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = create(served, "doomed")
    kept = create(served, "kept")
    share(served, kept, "kept")
    shares = served.api.shares
    right_after(monkeypatch, shares, "_check_resources", lambda: delete_if_there(served, "doomed"))
    with pytest.raises(ClientError) as refused:
        share(served, arn)
    assert refused.value.response["Error"]["Code"] == "UnknownResourceException"

    create(served, "doomed")
    (kept_share,) = [s for s in shares.storage.shares() if s["name"] == "kept"]
    with pytest.raises(ClientError) as refused:
        served.client("ram").associate_resource_share(resourceShareArn=kept_share["arn"], resourceArns=[arn])
    assert refused.value.response["Error"]["Code"] == "UnknownResourceException"

    # a pipeline made again under the name is in no share of the old one's
    create(served, "doomed")
    assert shares_of(served, arn) == [] and shares_of(served, kept) == ["kept"]


def test_a_share_of_a_pipeline_that_does_not_exist_is_refused(served: Served) -> None:
    """RAM shares existing resources only: a share made for a name before its pipeline would
    grant access to whatever pipeline is later created under it."""
    with pytest.raises(ClientError) as refused:
        share(served, "arn:aws:sagemaker:us-east-1:000000000000:pipeline/not-yet")
    assert refused.value.response["Error"]["Code"] == "UnknownResourceException"
