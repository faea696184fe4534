"""EMRServerless steps: a StartJobRun ``sparkSubmit`` job run on local Spark.

The v3 SDK's step holds a StartJobRun body in ``JobConfig`` (camelCase) and either an existing
``ApplicationId`` or an ``ApplicationConfig`` (a CreateApplication body) for the pipeline to
create. Locally there is no application to create or reuse: the job's ``entryPoint``,
``entryPointArguments`` and ``sparkSubmitParameters`` become one spark-submit on this machine
(submit.py), the application's ``runtimeConfiguration`` and then the job's
``configurationOverrides.applicationConfiguration`` apply their ``spark-defaults`` and
``spark-env`` classifications before the job's own parameters (which win), and
``executionTimeoutMinutes`` bounds the run. Hive jobs and non-Spark applications are refused
before the run, naming the step.

The step's properties are GetJobRun's response (``Steps.X.jobRun.state``, ``.jobRunId``,
``.applicationId``...); its metadata is ``{"EMRServerless": {ApplicationId, JobRunId,
JobRunName, LogFilePath}}`` with the driver log's path. ``monitoringConfiguration`` log
destinations are not written: the driver log is the job log (``pipelines logs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pipelines.expressions import value_text
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs.container import as_list, as_mapping
from pipelines.runners.jobs.describe import JobTimes, iso, now
from pipelines.runners.spark.ids import serverless_application_id, serverless_job_run_id
from pipelines.runners.spark.job import (
    SparkFailure,
    SparkRun,
    SparkStepRunner,
    merged,
    run_recorded,
    submit_error,
    target_refusal,
)
from pipelines.runners.spark.submit import SparkSubmit, SubmitError, classification_settings, parse_parameters

RECORD_KIND = "EMRServerlessJobRun"
_STATE = {"InProgress": "RUNNING", "Completed": "SUCCESS", "Failed": "FAILED", "Stopped": "CANCELLED"}
"""EMR Serverless's JobRunState for each state of a job record."""


def refusal(arguments: Any) -> str | None:
    """Why this EMRServerless step cannot run locally (judged on what is literal), or None."""
    problem = target_refusal(
        arguments, body="JobConfig", existing="ApplicationId", created="ApplicationConfig"
    )
    if problem is not None:
        return problem
    job = arguments.get("JobConfig")
    driver = job.get("jobDriver") if isinstance(job, Mapping) else None
    if not isinstance(driver, Mapping):
        return "JobConfig.jobDriver is missing"
    if "hive" in driver:
        return "JobConfig.jobDriver.hive: Hive jobs cannot run locally (only sparkSubmit jobs run, on local Spark); deploy to run this step"
    spark = driver.get("sparkSubmit")
    if not isinstance(spark, Mapping) or "entryPoint" not in spark:
        return "JobConfig.jobDriver.sparkSubmit.entryPoint is missing"
    application = arguments.get("ApplicationConfig")
    kind = application.get("type") if isinstance(application, Mapping) else None
    if isinstance(kind, str) and kind.upper() != "SPARK":
        return (
            f"ApplicationConfig.type {kind!r}: only Spark applications run locally; deploy to run this step"
        )
    return None


class EMRServerlessRunner(SparkStepRunner):
    step_type: ClassVar[str] = "EMRServerless"
    service: ClassVar[str] = "EMR Serverless"

    refusal = staticmethod(refusal)

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        job = as_mapping(arguments.get("JobConfig"), what=f"step {request.step_name}: JobConfig")
        application = as_mapping(
            arguments.get("ApplicationConfig"), what=f"step {request.step_name}: ApplicationConfig"
        )
        application_id = str(
            arguments.get("ApplicationId")
            or job.get("applicationId")
            or serverless_application_id(request.job_name)
        )
        job_run_id = serverless_job_run_id(request.job_name)
        run_name = value_text(job.get("name") or request.job_name)
        label = self.label(
            request,
            ctx,
            arguments,
            {"ApplicationId": application_id, "JobRunId": job_run_id, "JobRunName": run_name},
            title=f"EMR Serverless job run {job_run_id} on application {application_id}",
        )
        driver = as_mapping(
            as_mapping(job.get("jobDriver"), what="jobDriver").get("sparkSubmit"), what="sparkSubmit"
        )
        overrides = as_mapping(job.get("configurationOverrides"), what=label.reason("configurationOverrides"))
        try:
            options = parse_parameters(
                value_text(driver.get("sparkSubmitParameters") or ""), what="sparkSubmitParameters"
            )
            submit = SparkSubmit(
                tuple(options),
                value_text(driver.get("entryPoint")),
                tuple(
                    value_text(a)
                    for a in as_list(driver.get("entryPointArguments"), what="entryPointArguments")
                ),
            )
            app_settings = classification_settings(
                application.get("runtimeConfiguration"), what="ApplicationConfig.runtimeConfiguration"
            )
            job_settings = classification_settings(
                overrides.get("applicationConfiguration"),
                what="configurationOverrides.applicationConfiguration",
            )
        except SubmitError as exc:
            raise submit_error(label, exc) from exc
        not_applied = app_settings.not_applied + job_settings.not_applied
        if not_applied:
            ctx.log(
                label.note(
                    f"configurations not applied locally (they configure the application's services): {', '.join(not_applied)}"
                )
            )
        if overrides.get("monitoringConfiguration"):
            ctx.log(
                label.note(
                    "monitoringConfiguration: logs are not shipped locally; the driver log is the job log (pipelines logs)"
                )
            )
        release = application.get("releaseLabel")
        if release:
            ctx.log(
                label.note(
                    f"ApplicationConfig: no application is created locally; the job runs on this machine's Spark (the application would run {release})"
                )
            )
        timeout = job.get("executionTimeoutMinutes")
        max_runtime = float(timeout) * 60 if isinstance(timeout, int | float) and timeout > 0 else None

        created = now()
        described = merged(
            {
                "applicationId": application_id,
                "jobRunId": job_run_id,
                "name": run_name,
                "arn": (
                    f"arn:aws:emr-serverless:{ctx.config.region}:{ctx.config.account_id}:"
                    f"/applications/{application_id}/jobruns/{job_run_id}"
                ),
                "createdBy": f"arn:aws:iam::{ctx.config.account_id}:root",
                "createdAt": iso(created),
                "executionRole": value_text(
                    job.get("executionRoleArn") or arguments.get("ExecutionRoleArn") or ""
                ),
                "releaseLabel": value_text(release or "local"),
                "jobDriver": {"sparkSubmit": dict(driver)},
                "mode": "BATCH",
            },
            configurationOverrides=dict(overrides) or None,
            tags=job.get("tags"),
            executionTimeoutMinutes=timeout,
        )

        def describe(status: str, times: JobTimes, failure: SparkFailure | None) -> dict[str, Any]:
            run_description = {
                **described,
                "state": _STATE[status],
                "stateDetails": ""
                if failure is None
                else (failure.message if failure.stopped else failure.reason),
                "updatedAt": iso(times.ended or now()),
            }
            if times.started:
                run_description["startedAt"] = iso(times.started)
            if times.ended:
                run_description["endedAt"] = iso(times.ended)
                run_description["totalExecutionDurationSeconds"] = times.seconds
            return {"jobRun": run_description}

        environment = {**app_settings.environment, **job_settings.environment}
        final = run_recorded(
            request,
            ctx,
            label,
            SparkRun(submit, {**app_settings.conf, **job_settings.conf}, environment, max_runtime),
            kind=RECORD_KIND,
            describe=describe,
        )
        return StepResult(properties=final, metadata=dict(label.metadata))
