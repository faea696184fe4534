"""One Spark job of a step attempt: spark-submit run as a local job, its record and its failure.

The job runs like every local job (runners/jobs/container.py): in its own PID and mount
namespace under ``<state_dir>/jobs/<job name>/``, tied to the driver process, its output line by
line in ``job.log`` (the driver log, which ``pipelines logs`` prints). A stopped execution or a
run past the timeout ends the namespace, and so the JVM, its Python workers and anything they
started. Spark's scratch space (``SPARK_LOCAL_DIRS``, the warehouse and Derby folders) lives in
the job's folder and is removed with it. The driver JVM (in local mode, all of Spark) gets
``[spark] java_options``, by default tuned for start-up: C1 only and the serial collector halve
the CPU time of a short job (benchmarks/spark.py).

While the job runs it is in the job records (runners/jobs/records.py) under the service's own
description of it (an EMR ``Step``, an EMR Serverless ``JobRun``), so ``pipelines logs`` finds
its log; the runner writes the final description when it ends. A failed job's reason names
spark-submit's exit code and the driver log's last error lines (a Python traceback's
exception, Java exceptions and ``ERROR`` lines, not the INFO lines of the shutdown).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepFailed, StepRequest
from pipelines.runners.jobs.container import JobLabel, JobWorkspace, job_environment, run_job_process
from pipelines.runners.jobs.describe import JobTimes
from pipelines.runners.jobs.errors import AlgorithmError, JobError, JobRequestError, JobStopped
from pipelines.runners.jobs.joblog import job_log_path, read_job_log
from pipelines.runners.spark.install import SparkInstall, SparkUnavailable, spark_install
from pipelines.runners.spark.objectroot import (
    buckets_named,
    local_path,
    object_root_buckets,
    object_root_conf,
)
from pipelines.runners.spark.submit import SparkSubmit, SubmitError, driver_environment, local_command

ERROR_LINES = 8  # error lines of the driver log quoted in a FailureReason
_LOG_LEVEL = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (\w+) ")
_EXCEPTION = re.compile(r"^(:\s*)?([\w$]+\.)*[\w$]*(Error|Exception|Exit|Interrupt)\b.*")
_FRAME = re.compile(r"^(\s+at |\s+File \"|\s+\.\.\. \d+ more|\s{4})")


@dataclass(frozen=True)
class SparkLabel(JobLabel):
    """Names the step and the service's job in every message (``EMR step s-X on cluster j-Y``)."""

    title: str = ""

    def reason(self, cause: str) -> str:
        return f"step {self.step_name} ({self.title}, job {self.job_name}): {cause}"


@dataclass
class SparkRun:
    """What one runner asks of a Spark job."""

    submit: SparkSubmit
    conf: dict[str, str] = field(default_factory=dict)  # from the cluster's configuration
    environment: dict[str, str] = field(default_factory=dict)
    max_runtime: float | None = None


@dataclass(frozen=True)
class SparkFailure:
    """Why the job did not succeed, in the shape the runners' descriptions need."""

    stopped: bool
    reason: str  # the step's FailureReason
    message: str  # the driver log's last error lines
    log_file: str


Describe = Callable[[str, JobTimes, "SparkFailure | None"], dict[str, Any]]
"""The service's description of the job for a record status (InProgress, Completed, Failed,
Stopped), its times and its failure."""


def run_recorded(
    request: StepRequest, ctx: RunContext, label: SparkLabel, run: SparkRun, *, kind: str, describe: Describe
) -> dict[str, Any]:
    """Run the job with its record kept current (InProgress, then how it ended); returns the
    final description. Every failure is raised as the step's :class:`StepFailed`."""
    times = JobTimes()

    def record(status: str, failure: SparkFailure | None = None) -> dict[str, Any]:
        description = describe(status, times, failure)
        if ctx.jobs is not None:
            ctx.jobs.put(
                kind,
                description,
                name=request.job_name,
                status=status,
                execution_arn=request.execution_arn,
                step_name=request.step_name,
            )
        return description

    times.start()
    record("InProgress")
    final: dict[str, Any] = {}

    def on_end(failure: SparkFailure | None) -> None:
        times.end()
        status = "Completed" if failure is None else ("Stopped" if failure.stopped else "Failed")
        final.update(record(status, failure))

    try:
        run_spark(request, ctx, label, run, on_end=on_end)
    except StepFailed as exc:
        if not final:  # it failed before spark-submit ran (no Spark, no object root)
            times.end()
            log_file = str(job_log_path(ctx.config, request.job_name))
            record("Failed", SparkFailure(False, str(exc), str(exc), log_file))
        raise
    return final


def target_refusal(arguments: Any, *, body: str, existing: str, created: str) -> str | None:
    """Why a Spark step's Arguments are not an object naming exactly one target, or None.

    Both services' steps run on a target that either exists (``ClusterId``, ``ApplicationId``) or
    is created for the pipeline (``ClusterConfig``, ``ApplicationConfig``), and carry the job in
    ``body`` (``StepConfig``, ``JobConfig``)."""
    if not isinstance(arguments, Mapping):
        return f"Arguments must be an object with a {body}"
    if (existing in arguments) == (created in arguments):
        return f"Arguments must hold exactly one of {existing} or {created}"
    return None


class SparkStepRunner(ABC):
    """What the EMR and EMRServerless runners share: ``check`` judges the step's literal
    Arguments and then whether Spark runs here; :meth:`label` names the job in every message and
    refuses the resolved Arguments the same way before anything runs."""

    step_type: ClassVar[str]  # the step type, also the key of its Metadata member
    service: ClassVar[str]  # how messages name the service ("EMR Serverless")

    @staticmethod
    @abstractmethod
    def refusal(arguments: Any) -> str | None:
        """Why this step cannot run locally (judged on what is literal), or None."""

    def check(self, step: Step, config: Config) -> str | None:
        problem = self.refusal(step.arguments)
        if problem is not None:
            return f"step {step.name}: {problem}"
        try:
            spark_install(config)
        except SparkUnavailable as exc:
            return f"step {step.name}: {step.type} steps run on local Spark: {exc}"
        return None

    def label(
        self,
        request: StepRequest,
        ctx: RunContext,
        arguments: Mapping[str, Any],
        ids: Mapping[str, str],
        *,
        title: str,
    ) -> SparkLabel:
        """The job's label, its metadata ``{step type: {ids..., LogFilePath}}`` with the driver
        log's path; raises the step's request error when the resolved ``arguments`` are refused."""
        log_file = str(job_log_path(ctx.config, request.job_name))
        metadata = {self.step_type: {**ids, "LogFilePath": log_file}}
        label = SparkLabel(request.step_name, self.service, request.job_name, metadata, title=title)
        problem = self.refusal(arguments)
        if problem is not None:
            raise label.request_error(problem)
        return label


def installed_spark(config: Config, label: JobLabel) -> SparkInstall:
    try:
        return spark_install(config)
    except SparkUnavailable as exc:
        raise JobRequestError(label.reason(str(exc)), metadata=dict(label.metadata)) from exc


def run_spark(
    request: StepRequest,
    ctx: RunContext,
    label: SparkLabel,
    run: SparkRun,
    *,
    on_end: Callable[[SparkFailure | None], None],
) -> None:
    """Run the job to its end; ``on_end`` gets None on success or the failure (before it is
    raised as the step's :class:`StepFailed`)."""
    config = ctx.config
    spark = installed_spark(config, label)
    root = getattr(ctx.objects, "root", None)
    if not isinstance(root, Path):
        raise JobRequestError(
            label.reason(
                "Spark jobs read s3:// from the local object root, and this runtime's object store is not one"
            ),
            metadata=dict(label.metadata),
        )
    workspace = JobWorkspace.create(config, request.job_name)
    log_file = str(workspace.log_path)
    try:
        ctx.log(label.note(f"{label.title}: {spark.describe()}"))
        scratch = workspace.scratch
        for folder in ("spark-local", "tmp"):
            (scratch / folder).mkdir(parents=True, exist_ok=True)
        # Later entries win: this machine's [spark] conf over the runtime's defaults, the
        # cluster's own configuration over both, and the s3:// mapping over everything (the
        # step's --conf flags come after all of these and win, except over the mapping).
        buckets = object_root_buckets(root) | buckets_named(
            [*run.submit.uris(), *run.conf.values(), *config.spark.conf.values()]
        )
        runtime_conf = {
            "spark.ui.enabled": "false",
            "spark.sql.warehouse.dir": str(scratch / "spark-warehouse"),
            **config.spark.conf,
            **run.conf,
            **object_root_conf(root, buckets),
        }
        argv = local_command(
            str(spark.spark_submit),
            run.submit,
            master=config.spark.master,
            runtime_conf=runtime_conf,
            note=lambda line: ctx.log(label.note(line)),
            local_file=lambda path: _local_file(root, path, label),
        )
        driver_env = driver_environment(run.submit, run.conf, lambda line: ctx.log(label.note(line)))
        env = job_environment(config, {**driver_env, **run.environment}, ctx.environment)
        submit_opts = " ".join(filter(None, (env.get("SPARK_SUBMIT_OPTS"), config.spark.java_options)))
        env.update(_spark_environment(spark, scratch, submit_opts))
        ctx.log(
            label.note(f"spark-submit {' '.join(argv[1:])} (driver JVM options: {env['SPARK_SUBMIT_OPTS']})")
        )
        try:
            run_job_process(
                workspace, label, argv, env, ctx, cwd="/opt/ml/.workdir", max_runtime=run.max_runtime
            )
        except JobStopped as exc:
            on_end(SparkFailure(True, str(exc), "the execution was stopped while the job ran", log_file))
            raise
        except AlgorithmError as exc:
            code = _exit_code(str(exc))
            lines = driver_error_lines(workspace.log_path)
            message = "\n".join(lines) or "the driver log has no error lines"
            reason = label.reason(
                f"the Spark job failed: spark-submit {code}; last error lines of the driver log "
                f"({log_file}):\n{message}"
            )
            failure = SparkFailure(False, reason, message, log_file)
            on_end(failure)
            raise AlgorithmError(reason, metadata=dict(label.metadata)) from exc
        except JobError as exc:
            on_end(SparkFailure(False, str(exc), str(exc), log_file))
            raise
        on_end(None)
    finally:
        workspace.discard()


def _local_file(root: Path, path: str, label: JobLabel) -> str:
    """A file spark-submit opens itself: an ``s3://`` one is read from the object root."""
    local = local_path(root, path)
    if local is None:
        return path
    if not local.is_file():
        raise JobRequestError(
            label.reason(f"{path} does not exist in the local object root ({local})"),
            metadata=dict(label.metadata),
        )
    return str(local)


def submit_error(label: JobLabel, exc: SubmitError) -> StepFailed:
    return JobRequestError(label.reason(str(exc)), metadata=dict(label.metadata))


def _spark_environment(spark: SparkInstall, scratch: Path, submit_opts: str) -> dict[str, str]:
    env = {
        "SPARK_HOME": str(spark.home),
        "PYSPARK_PYTHON": spark.python,
        "PYSPARK_DRIVER_PYTHON": spark.python,
        "SPARK_LOCAL_DIRS": str(scratch / "spark-local"),
        # Temporary files (spark-submit's copies of s3:// application files, Python's) stay in
        # the job's folder too, so a killed job leaves nothing behind in /tmp.
        "SPARK_SUBMIT_OPTS": f"{submit_opts} -Djava.io.tmpdir={scratch / 'tmp'}".strip(),
        "TMPDIR": str(scratch / "tmp"),
        # The driver binds to loopback: a local job needs no other interface, and a host name
        # that does not resolve would otherwise cost a DNS timeout at every start.
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    if spark.java_home is not None:
        env["JAVA_HOME"] = str(spark.java_home)
    return env


def _exit_code(reason: str) -> str:
    match = re.search(r"exit code:? (-?\d+)", reason)
    if match:
        return f"exited with code {match.group(1)}"
    match = re.search(r"killed by signal (\d+)", reason)
    return f"was killed by signal {match.group(1)}" if match else "failed"


def driver_error_lines(log_path: Path, limit: int = ERROR_LINES) -> list[str]:
    """The last error lines of a driver log: the final Python traceback's exception lines if
    there is one, else Java exceptions and ERROR/FATAL log lines; stack frames and INFO/WARN
    lines are left out."""
    lines = [line.message.rstrip() for line in read_job_log(log_path)]
    start = max(
        (i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")),
        default=None,
    )
    picked: list[str] = []
    if start is not None:
        for line in lines[start + 1 :]:
            level = _LOG_LEVEL.match(line)
            if level is not None:
                if level.group(1) in ("ERROR", "FATAL"):
                    picked.append(line)
                continue
            if not line.strip() or _FRAME.match(line) or line.lstrip().startswith("^"):
                continue
            picked.append(line)
    if not picked:
        for line in lines:
            level = _LOG_LEVEL.match(line)
            if (level is not None and level.group(1) in ("ERROR", "FATAL")) or (
                level is None
                and (_EXCEPTION.match(line) or line.startswith(("Exception in thread", "Caused by:")))
            ):
                picked.append(line)
    if not picked:
        picked = [line for line in lines if line.strip() and not _LOG_LEVEL.match(line)]
    return picked[-limit:]


def merged(base: Mapping[str, Any], **members: Any) -> dict[str, Any]:
    """``base`` with ``members`` set, leaving out the ones that are None."""
    return {**base, **{key: value for key, value in members.items() if value is not None}}
