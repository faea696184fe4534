"""Crash points for the tests of what a retry finishes: a call dies at a chosen store write, or an
engine writes its decision and then dies, as when the process (``pipelines serve``) or Lambda
is killed there; and the attempts a boto3 client makes, its own retries included (a crash
answers 500, which boto3 retries by itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest
from botocore.exceptions import ClientError
from pipelines.engine import Engine, Outcome
from pipelines.store import Store

Moment = Literal["before", "after"]


class DiedMidway(Exception):
    """The process died here: nothing after this point of the call ran (the API answers 500,
    which is what the caller of a killed process or Lambda sees)."""


def die_at_record_delete(monkeypatch: pytest.MonkeyPatch, store: Store, moment: Moment) -> None:
    """Every DeletePipeline through ``store`` dies just ``moment`` its record is deleted."""
    delete = store.delete_pipeline

    def dying(arn: str, **write: Any) -> None:
        if moment == "after":
            delete(arn, **write)  # with the request's token, written in the same transaction
        raise DiedMidway(f"killed {moment} deleting {arn}")

    monkeypatch.setattr(store, "delete_pipeline", dying)


def before_record_delete(
    monkeypatch: pytest.MonkeyPatch, store: Store, meanwhile: Callable[[], None]
) -> None:
    """Every DeletePipeline through ``store`` runs ``meanwhile`` after its cleanup hooks, just
    before it deletes the record (the window a registration could slip into)."""
    delete = store.delete_pipeline

    def late(arn: str, **write: Any) -> None:
        meanwhile()
        delete(arn, **write)

    monkeypatch.setattr(store, "delete_pipeline", late)


def right_after(
    monkeypatch: pytest.MonkeyPatch, owner: Any, method: str, meanwhile: Callable[[], None]
) -> None:
    """``owner.<method>`` (say a registration's check of the pipeline it points at) runs
    ``meanwhile`` each time right after it returns, before its caller goes on to write."""
    check = getattr(owner, method)

    def then(*args: Any, **kwargs: Any) -> Any:
        result = check(*args, **kwargs)
        meanwhile()
        return result

    monkeypatch.setattr(owner, method, then)


def retry_delete(sagemaker: Any, name: str, token: str, arn: str, moment: Moment) -> None:
    """Send the retry of a DeletePipeline that died ``moment`` its record's delete, with the
    same ClientRequestToken, and check it answers as the first call would have: the PipelineArn
    (SageMaker's answer), whether the delete happened before the crash or not."""
    if moment == "before":  # the record outlived the crash, Deleting: the retry finishes
        described = sagemaker.describe_pipeline(PipelineName=name)
        assert (described["PipelineArn"], described["PipelineStatus"]) == (arn, "Deleting")
    deleted = sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token)
    replayed = sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token)
    assert deleted["PipelineArn"] == replayed["PipelineArn"] == arn  # a replay answers as the first
    with pytest.raises(ClientError) as gone:  # a new request is told the truth
        sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken=token + "-new")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFound"


def dies_once_after_writing(monkeypatch: pytest.MonkeyPatch, engine: Engine, method: str) -> list[Outcome]:
    """Make ``engine.<method>`` write its decision and then fail, the first time only (as a
    process that ran out of memory right after its transaction); the list holds the outcome
    that first call wrote."""
    real = getattr(engine, method)
    written: list[Outcome] = []

    def die_after_writing(*args: Any, **kwargs: Any) -> Outcome:
        outcome = real(*args, **kwargs)
        if not written:
            written.append(outcome)
            raise MemoryError(f"ran out of memory after writing the {method}")
        return outcome

    monkeypatch.setattr(engine, method, die_after_writing)
    return written


Attempts = list[tuple[int, str]]


def attempts_at(client: Any, operation: str) -> Attempts:
    """The (HTTP status, error code) of each attempt ``client`` makes at ``operation``, its own
    retries included, as they happen."""
    attempts: Attempts = []

    def record(response: Any, **_: Any) -> None:
        if response is not None:
            http, parsed = response
            attempts.append((http.status_code, parsed.get("Error", {}).get("Code", "")))

    client.meta.events.register(f"needs-retry.sagemaker.{operation}", record)
    return attempts
