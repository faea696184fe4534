"""EMR steps: a ``command-runner.jar`` ``spark-submit`` step run on local Spark.

On EMR, ``command-runner.jar`` runs its Args as a command on the primary node; a Spark step's
command is ``spark-submit [options] <app> [app args]``. Locally that command runs on this
machine's Spark (submit.py says how it is rewritten), whether the step names a running cluster
(``ClusterId``) or a cluster for the pipeline to create (``ClusterConfig``): there is no cluster
to create, so a ``ClusterConfig`` step gets a cluster ID of its own, and the cluster's
``spark-defaults``/``spark-env`` configurations apply to the job. Any other jar (a custom
``MainClass`` jar, ``script-runner.jar``) and any other command-runner command (``hadoop-streaming``,
``s3-dist-cp``, ``bash``) needs a real EMR cluster and is refused before the run, naming the step.

The step's properties are what DescribeStep returns (``Steps.X.Status.State``, ``.Id``,
``.Config``...) plus ``ClusterId``; its metadata is ``{"EMR": {ClusterId, StepId, StepName,
LogFilePath}}`` with the driver log's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from pipelines.expressions import value_text
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs.container import as_list, as_mapping
from pipelines.runners.jobs.describe import JobTimes, iso
from pipelines.runners.spark.ids import emr_cluster_id, emr_step_id
from pipelines.runners.spark.job import (
    SparkFailure,
    SparkLabel,
    SparkRun,
    SparkStepRunner,
    merged,
    run_recorded,
    submit_error,
    target_refusal,
)
from pipelines.runners.spark.submit import SubmitError, classification_settings, parse_options

RECORD_KIND = "EMRStep"
COMMAND_RUNNER = "command-runner.jar"
SPARK_SUBMIT = "spark-submit"
ACTION_ON_FAILURE = "CONTINUE"  # what the cloud runtime adds the step with (stepfunctions/requests.py)
_STATE = {"InProgress": "RUNNING", "Completed": "COMPLETED", "Failed": "FAILED", "Stopped": "CANCELLED"}
"""EMR's StepState for each state of a job record."""


def refusal(arguments: Any) -> str | None:
    """Why this EMR step cannot run locally (judged on what is literal), or None."""
    problem = target_refusal(arguments, body="StepConfig", existing="ClusterId", created="ClusterConfig")
    if problem is not None:
        return problem
    config = arguments.get("StepConfig")
    jar_step = config.get("HadoopJarStep") if isinstance(config, Mapping) else None
    if not isinstance(jar_step, Mapping):
        return "StepConfig.HadoopJarStep is missing"
    jar = jar_step.get("Jar")
    if isinstance(jar, str) and PurePosixPath(jar).name != COMMAND_RUNNER:
        return (
            f"HadoopJarStep.Jar {jar!r} is not command-runner.jar: locally only command-runner.jar "
            f"spark-submit steps run (on local Spark); other Hadoop jars need an EMR cluster, so deploy "
            f"to run this step"
        )
    args = jar_step.get("Args")
    if isinstance(args, list):
        if not args:
            return "command-runner.jar has no Args: it needs a command such as spark-submit"
        command = args[0]
        if isinstance(command, str) and PurePosixPath(command).name != SPARK_SUBMIT:
            return (
                f"command-runner.jar runs {command!r}: locally only spark-submit runs (on local Spark); "
                f"other commands need an EMR cluster, so deploy to run this step"
            )
    return None


class EMRRunner(SparkStepRunner):
    step_type: ClassVar[str] = "EMR"
    service: ClassVar[str] = "EMR"

    refusal = staticmethod(refusal)

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        arguments = as_mapping(request.arguments, what=f"step {request.step_name}: Arguments")
        cluster_id = str(arguments.get("ClusterId") or emr_cluster_id(request.job_name))
        step_id = emr_step_id(request.job_name)
        label = self.label(
            request,
            ctx,
            arguments,
            {"ClusterId": cluster_id, "StepId": step_id, "StepName": request.job_name},
            title=f"EMR step {step_id} on cluster {cluster_id}",
        )
        step_config = as_mapping(arguments.get("StepConfig"), what=label.reason("StepConfig"))
        jar_step = as_mapping(step_config.get("HadoopJarStep"), what=label.reason("HadoopJarStep"))
        args = [value_text(a) for a in as_list(jar_step.get("Args"), what=label.reason("HadoopJarStep.Args"))]
        try:
            submit = parse_options(args[1:], what="command-runner.jar spark-submit")
            cluster = as_mapping(arguments.get("ClusterConfig"), what=label.reason("ClusterConfig"))
            settings = classification_settings(
                cluster.get("Configurations"), what="ClusterConfig.Configurations"
            )
        except SubmitError as exc:
            raise submit_error(label, exc) from exc
        self._notes(jar_step, cluster, settings.not_applied, ctx, label)

        described = _step_description(request, arguments, jar_step, args, step_id, cluster_id)

        def describe(status: str, times: JobTimes, failure: SparkFailure | None) -> dict[str, Any]:
            return _with_status(described, _STATE[status], times, failure)

        final = run_recorded(
            request,
            ctx,
            label,
            SparkRun(submit, conf=settings.conf, environment=settings.environment),
            kind=RECORD_KIND,
            describe=describe,
        )
        return StepResult(properties=final, metadata=dict(label.metadata))

    def _notes(
        self,
        jar_step: Mapping[str, Any],
        cluster: Mapping[str, Any],
        not_applied: list[str],
        ctx: RunContext,
        label: SparkLabel,
    ) -> None:
        if jar_step.get("Properties"):
            ctx.log(
                label.note(
                    "HadoopJarStep.Properties set Java properties of command-runner.jar itself; spark-submit does not see them"
                )
            )
        if jar_step.get("MainClass"):
            ctx.log(label.note("HadoopJarStep.MainClass is command-runner.jar's own; not used"))
        if not_applied:
            ctx.log(
                label.note(
                    f"cluster configurations not applied locally (they configure the cluster's services): {', '.join(not_applied)}"
                )
            )
        if cluster:
            release = cluster.get("ReleaseLabel")
            ctx.log(
                label.note(
                    "ClusterConfig: no cluster is created locally; the step runs on this machine's Spark"
                    + (f" (the cluster would run {release})" if release else "")
                )
            )


def _step_description(
    request: StepRequest,
    arguments: Mapping[str, Any],
    jar_step: Mapping[str, Any],
    args: list[str],
    step_id: str,
    cluster_id: str,
) -> dict[str, Any]:
    """DescribeStep's ``Step`` (the HadoopStepConfig echoes Properties as a map) plus ClusterId."""
    properties = {
        str(item.get("Key")): value_text(item.get("Value"))
        for item in as_list(jar_step.get("Properties"), what="HadoopJarStep.Properties")
        if isinstance(item, Mapping)
    }
    config = merged(
        {"Jar": value_text(jar_step.get("Jar")), "Properties": properties, "Args": args},
        MainClass=jar_step.get("MainClass"),
    )
    step_config = arguments.get("StepConfig")
    action = step_config.get("ActionOnFailure") if isinstance(step_config, Mapping) else None
    return merged(
        {
            "Id": step_id,
            "Name": request.job_name,
            "Config": config,
            "ActionOnFailure": action or ACTION_ON_FAILURE,
            "ClusterId": cluster_id,
        },
        ExecutionRoleArn=arguments.get("ExecutionRoleArn"),
    )


def _with_status(
    described: Mapping[str, Any], state: str, times: JobTimes, failure: SparkFailure | None
) -> dict[str, Any]:
    timeline = merged(
        {"CreationDateTime": iso(times.created)},
        StartDateTime=iso(times.started) if times.started else None,
        EndDateTime=iso(times.ended) if times.ended else None,
    )
    status: dict[str, Any] = {"State": state, "StateChangeReason": {}, "Timeline": timeline}
    if failure is not None and not failure.stopped:
        status["FailureDetails"] = {
            "Reason": failure.reason[:1024],
            "Message": failure.message,
            "LogFile": failure.log_file,
        }
    elif failure is not None:
        status["StateChangeReason"] = {"Message": "the pipeline execution was stopped"}
    return {**described, "Status": status}
