"""Deleting the cloud resources an earlier step made: what a Cleanup step does for endpoints and
EMR Serverless applications in the cloud runtime.

``delete_step_resources(client, record)`` takes the finished step's record and a client factory
acting as the pipeline's role (the role the step made them as) and answers how it went, in the
terms of the service's ``CleanupStepMetadata``: cleaned, skipped (nothing of that step to
delete: a step type that makes none, a step that never ran, an EMR Serverless step that ran on
an application it did not create) or failed (``ClientError`` with the service's message).

=================  ===========================================================================
step type          deleted
=================  ===========================================================================
Endpoint           the endpoint (DeleteEndpoint); its config is the EndpointConfig step's
EndpointConfig     the endpoint config (DeleteEndpointConfig)
EMRServerless      the application the step created from ``ApplicationConfig`` (named with
                   the attempt's job name): stopped if it runs, then deleted. A StepRunner
                   deletes its own application when its job run ends, so this finds one only
                   when the run was stopped or the StepRunner's clean-up failed
=================  ===========================================================================

A resource that is already gone counts as cleaned, so a retried Cleanup is harmless. S3 outputs
are not here: they are objects the engine deletes through the object store in both runtimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from botocore.exceptions import ClientError

from pipelines.runtime.job_stops import ClientAsPipelineRole, emr_serverless_application_id
from pipelines.store.base import StepRecord

CleanupStatus = Literal["Cleaned", "Skipped", "Failed"]
CLEANABLE_STEP_TYPES = frozenset({"Endpoint", "EndpointConfig", "EMRServerless"})
_GONE_CODES = frozenset({"ValidationException", "ResourceNotFoundException"})
_DELETABLE_APPLICATION_STATES = frozenset({"CREATED", "STOPPED"})
_STOPPABLE_APPLICATION_STATES = frozenset({"STARTED", "STARTING"})


@dataclass(frozen=True)
class ResourceCleanup:
    """How the clean-up of one step's resources went; ``error_code`` and ``message`` explain
    a failure (``ClientError`` or ``InternalFailure``, as CleanupFailure's ErrorCode) or a skip."""

    step_name: str
    status: CleanupStatus
    message: str = ""
    error_code: str | None = None


def delete_step_resources(client: ClientAsPipelineRole, record: StepRecord) -> ResourceCleanup:
    """Delete what ``record``'s step made (see the module table)."""
    if record.step_type not in CLEANABLE_STEP_TYPES:
        return _skipped(record, f"a {record.step_type} step makes no resource this runtime deletes")
    if record.status != "Succeeded" and record.step_type != "EMRServerless":
        return _skipped(record, f"the step ended {record.status}: it made no {record.step_type}")
    try:
        if record.step_type == "Endpoint":
            return _delete_endpoint(client, record)
        if record.step_type == "EndpointConfig":
            return _delete_endpoint_config(client, record)
        return _delete_application(client, record)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return ResourceCleanup(
            record.step_name,
            "Failed",
            f"{error.get('Code', 'ClientError')}: {error.get('Message', str(exc))}",
            "ClientError",
        )


def _delete_endpoint(client: ClientAsPipelineRole, record: StepRecord) -> ResourceCleanup:
    name = (record.properties or {}).get("EndpointName")
    if not isinstance(name, str):
        return _skipped(record, "the step has no EndpointName property")
    return _gone_is_cleaned(record, lambda: client("sagemaker").delete_endpoint(EndpointName=name))


def _delete_endpoint_config(client: ClientAsPipelineRole, record: StepRecord) -> ResourceCleanup:
    name = (record.properties or {}).get("EndpointConfigName")
    if not isinstance(name, str):
        return _skipped(record, "the step has no EndpointConfigName property")
    return _gone_is_cleaned(
        record, lambda: client("sagemaker").delete_endpoint_config(EndpointConfigName=name)
    )


def _delete_application(client: ClientAsPipelineRole, record: StepRecord) -> ResourceCleanup:
    arguments = record.arguments if isinstance(record.arguments, dict) else {}
    if arguments.get("ApplicationConfig") is None:
        return _skipped(record, "the step ran on an existing application, which it did not create")
    emr_serverless = client("emr-serverless")
    application_id = emr_serverless_application_id(emr_serverless, record)
    if application_id is None:
        return ResourceCleanup(record.step_name, "Cleaned", "its application is already deleted")
    state = emr_serverless.get_application(applicationId=application_id)["application"]["state"]
    if state in _STOPPABLE_APPLICATION_STATES:
        emr_serverless.stop_application(applicationId=application_id)
        state = emr_serverless.get_application(applicationId=application_id)["application"]["state"]
    if state not in _DELETABLE_APPLICATION_STATES:
        return ResourceCleanup(
            record.step_name,
            "Failed",
            f"application {application_id} is {state}; EMR Serverless deletes only CREATED or STOPPED "
            "applications (retry the execution once it has stopped)",
            "ClientError",
        )
    return _gone_is_cleaned(record, lambda: emr_serverless.delete_application(applicationId=application_id))


def _gone_is_cleaned(record: StepRecord, delete: Callable[[], object]) -> ResourceCleanup:
    try:
        delete()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _GONE_CODES:
            raise
        return ResourceCleanup(record.step_name, "Cleaned", "already deleted")
    return ResourceCleanup(record.step_name, "Cleaned")


def _skipped(record: StepRecord, why: str) -> ResourceCleanup:
    return ResourceCleanup(record.step_name, "Skipped", why)
