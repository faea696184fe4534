"""Stopping the work a running step attempt started: its SageMaker job, EMR step or EMR
Serverless job run.

Called when the engine stops an attempt (StopPipelineExecution, or a stop that raced the
attempt's start), before its StepRunner is stopped. Every call is made as the pipeline's role,
which is the role the work was started as. Work that is missing or already ended is not an
error: a stop may come before the StepRunner created the job, or after the job finished.

EMR: the StepRunner adds the step under the attempt's job name, so the step is found by name
among the cluster's PENDING and RUNNING steps and cancelled (CancelSteps). A step on a cluster
the StepRunner created (``ClusterConfig``) is stopped by terminating that cluster, found by its
name (the job name too): a stopped StepRunner never reaches its own terminate state, and the
cluster is kept alive when idle, so it would otherwise run on.

EMR Serverless: the StepRunner names the job run (and an application it creates) with the
attempt's job name, so the run is found by name among the application's active runs and
cancelled (CancelJobRun). An application the attempt created is left to stop by itself (its
auto-stop) once the run is cancelled: deleting it must wait for the cancellation, which a stop
does not wait for; a Cleanup step naming the EMRServerless step deletes it (the engine's
cleanup finds it by name through :func:`application_named`: a stopped attempt has no properties
to name it).
A Job step (the v3 SDK's CreateJob workloads) is stopped with StopJob, which needs the step's
JobCategory beside the job name. Endpoint and InferenceComponent steps have nothing to stop:
SageMaker cannot cancel an endpoint's or a component's creation.

Known gap: a stop returns once Stop*Job or CancelSteps was accepted; the step is then recorded
Stopped although SageMaker may still show the job Stopping for a while (the service waits for
the job to reach Stopped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from pipelines.store.base import StepRecord

LOG = logging.getLogger(__name__)

ClientAsPipelineRole = Callable[[str], Any]
"""service name -> a boto3 client acting as the pipeline's role."""

STOP_JOB_CALLS: dict[str, tuple[str, str]] = {
    "Processing": ("stop_processing_job", "ProcessingJobName"),
    "QualityCheck": ("stop_processing_job", "ProcessingJobName"),
    "ClarifyCheck": ("stop_processing_job", "ProcessingJobName"),
    "Training": ("stop_training_job", "TrainingJobName"),
    "Transform": ("stop_transform_job", "TransformJobName"),
    "Tuning": ("stop_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
    "AutoML": ("stop_auto_ml_job", "AutoMLJobName"),
    "Job": ("stop_job", "JobName"),  # with the step's JobCategory
}
"""Step types whose running work is a SageMaker job the runtime stops by name."""

ACTIVE_EMR_STEP_STATES = ["PENDING", "RUNNING"]
ACTIVE_JOB_RUN_STATES = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED"]
LIVE_APPLICATION_STATES = ["CREATING", "CREATED", "STARTING", "STARTED", "STOPPING", "STOPPED"]
ACTIVE_CLUSTER_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
CLUSTER_LOOKBACK = timedelta(minutes=5)
"""Clusters created this long before the attempt started are still searched (clock skew)."""
_MISSING_JOB_CODES = frozenset({"ValidationException", "ResourceNotFound", "ResourceNotFoundException"})
_MISSING_CLUSTER_CODES = frozenset({"InvalidRequestException", "ValidationException"})


def stop_step_work(client: ClientAsPipelineRole, record: StepRecord) -> None:
    """Stop the SageMaker job or EMR step of ``record``'s attempt, if it has one running."""
    if not record.job_name:
        return
    if record.step_type == "EMR":
        _stop_emr_step(client, record, record.job_name)
        return
    if record.step_type == "EMRServerless":
        _cancel_job_run(client("emr-serverless"), record, record.job_name)
        return
    call = STOP_JOB_CALLS.get(record.step_type)
    if call is None:
        return
    operation, member = call
    request: dict[str, Any] = {member: record.job_name}
    if record.step_type == "Job":
        request["JobCategory"] = _arguments(record).get("JobCategory")
    try:
        getattr(client("sagemaker"), operation)(**request)
    except ClientError as exc:
        if _code(exc) not in _MISSING_JOB_CODES:  # not created yet, or already ended
            raise
        LOG.info("stop %s %s: %s", record.step_type, record.job_name, exc)


def _arguments(record: StepRecord) -> dict[str, Any]:
    """The attempt's resolved Arguments, or {} when they are not an object."""
    return record.arguments if isinstance(record.arguments, dict) else {}


_LISTED_AS: dict[str, tuple[str, str, str]] = {
    "list_steps": ("Steps", "Id", "Name"),
    "list_clusters": ("Clusters", "Id", "Name"),
    "list_applications": ("applications", "id", "name"),
    "list_job_runs": ("jobRuns", "id", "name"),
}
"""Each listing the stops search: the page member that holds the items, and the items' id and
name members (EMR's in PascalCase, EMR Serverless's in camelCase)."""


def _ids_named(client: Any, operation: str, name: str, **request: Any) -> Iterator[str]:
    """The ids of the resources called ``name`` that the paginated ``operation`` lists, page by
    page (every attempt names the work it starts with its job name, so its work is found by it)."""
    items, id_key, name_key = _LISTED_AS[operation]
    for page in client.get_paginator(operation).paginate(**request):
        for item in page.get(items, []):
            if item.get(name_key) == name:
                yield str(item[id_key])


def _stop_emr_step(client: ClientAsPipelineRole, record: StepRecord, name: str) -> None:
    arguments = _arguments(record)
    emr = client("emr")
    cluster_id = arguments.get("ClusterId")
    if isinstance(cluster_id, str):
        _cancel_named_steps(emr, cluster_id, name)
    elif "ClusterConfig" in arguments:
        _terminate_named_cluster(emr, name, record)


def _cancel_named_steps(emr: Any, cluster_id: str, name: str) -> None:
    try:
        step_ids = list(
            _ids_named(emr, "list_steps", name, ClusterId=cluster_id, StepStates=ACTIVE_EMR_STEP_STATES)
        )
    except ClientError as exc:
        if _code(exc) not in _MISSING_CLUSTER_CODES:
            raise
        LOG.info("stop EMR step %s: cluster %s: %s", name, cluster_id, exc)
        return
    if not step_ids:
        return  # not added yet, or already ended
    answer = emr.cancel_steps(ClusterId=cluster_id, StepIds=step_ids)
    for info in answer.get("CancelStepsInfoList", []):
        if info.get("Status") == "FAILED":
            LOG.warning(
                "EMR did not cancel step %s on %s: %s", info.get("StepId"), cluster_id, info.get("Reason")
            )


def _terminate_named_cluster(emr: Any, name: str, record: StepRecord) -> None:
    search: dict[str, Any] = {"ClusterStates": ACTIVE_CLUSTER_STATES}
    if record.started_at is not None:
        search["CreatedAfter"] = record.started_at - CLUSTER_LOOKBACK
    cluster_ids = list(_ids_named(emr, "list_clusters", name, **search))
    if cluster_ids:
        emr.terminate_job_flows(JobFlowIds=cluster_ids)


def emr_serverless_application_id(emr_serverless: Any, record: StepRecord) -> str | None:
    """The application the attempt's job run went to: the step's ApplicationId, or the one the
    attempt created (named with its job name); None when no such application exists."""
    application_id = _arguments(record).get("ApplicationId")
    if isinstance(application_id, str):
        return application_id
    return application_named(emr_serverless, record.job_name) if record.job_name else None


def application_named(emr_serverless: Any, name: str) -> str | None:
    """The id of the live EMR Serverless application called ``name`` (an attempt names the
    application it creates with its job name), or None."""
    return next(_ids_named(emr_serverless, "list_applications", name, states=LIVE_APPLICATION_STATES), None)


def _cancel_job_run(emr_serverless: Any, record: StepRecord, name: str) -> None:
    application_id = emr_serverless_application_id(emr_serverless, record)
    if application_id is None:
        return  # the attempt had not created its application yet
    try:
        runs = list(
            _ids_named(
                emr_serverless,
                "list_job_runs",
                name,
                applicationId=application_id,
                states=ACTIVE_JOB_RUN_STATES,
            )
        )
        for run_id in runs:
            emr_serverless.cancel_job_run(applicationId=application_id, jobRunId=run_id)
    except ClientError as exc:
        if _code(exc) not in _MISSING_JOB_CODES:
            raise
        LOG.info("stop EMR Serverless job run %s on %s: %s", name, application_id, exc)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
