"""Crash points for the tests of what a retry finishes: a call dies at a chosen store write, as
when its process (``pipelines serve``) or Lambda is killed there."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from botocore.exceptions import ClientError
from pipelines.store import Store

Moment = Literal["before", "after"]


class DiedMidway(Exception):
    """The process died here: nothing after this point of the call ran (the API answers 500,
    which is what the caller of a killed process or Lambda sees)."""


def die_at_record_delete(monkeypatch: pytest.MonkeyPatch, store: Store, moment: Moment) -> None:
    """Every DeletePipeline through ``store`` dies just ``moment`` its record is deleted."""
    delete = store.delete_pipeline

    def dying(arn: str) -> None:
        if moment == "after":
            delete(arn)
        raise DiedMidway(f"killed {moment} deleting {arn}")

    monkeypatch.setattr(store, "delete_pipeline", dying)


def retry_delete(sagemaker: Any, name: str, token: str, arn: str, moment: Moment) -> None:
    """Send the retry of a DeletePipeline that died ``moment`` its record's delete, with the
    same ClientRequestToken, and check its answer."""
    if moment == "before":  # the record outlived the crash: the retry deletes it
        assert sagemaker.describe_pipeline(PipelineName=name)["PipelineArn"] == arn
        deleted = sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token)
        replayed = sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token)
        assert deleted["PipelineArn"] == replayed["PipelineArn"] == arn  # a replay answers as the first
    else:  # the record went last: the retry finds nothing left to do
        with pytest.raises(ClientError) as gone:
            sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token)
        assert gone.value.response["Error"]["Code"] == "ResourceNotFound"
