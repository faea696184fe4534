"""What every local job shares: its label (the step, the job and its metadata in every message),
its interpreter and environment, its staged ``/opt/ml`` tree, its process, and its failure reasons.

A job's tree lives at ``<state_dir>/jobs/<job name>/opt/ml``; the sandbox presents it as
``/opt/ml``. The log stays at ``<state_dir>/jobs/<job name>/job.log`` after the job; the staged
data is removed, whatever the outcome, because the object store holds everything that matters.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.config import Config
from pipelines.expressions import value_text
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.errors import (
    AlgorithmError,
    JobRequestError,
    JobStopped,
    MaxRuntimeExceeded,
    SandboxUnavailable,
    WarmStartError,
)
from pipelines.runners.jobs.images import Interpreter, find_program, is_python, resolve_interpreter
from pipelines.runners.jobs.sandbox import (
    CONTAINER_ML,
    ProcessOutcome,
    SandboxCommand,
    is_sandbox_failure,
    run_sandboxed,
    sandbox_plan,
)
from pipelines.runners.jobs.warm import POOLS, cold_reason

FAILURE_FILE = "/opt/ml/output/failure"
HOST = "algo-1"  # the one host a local job runs on
GROUP = "homogeneousCluster"
_SHELLS = ("bash", "sh", "dash", "zsh")


@dataclass(frozen=True)
class JobLabel:
    """Names the step and the job in every message, as FailureReason must."""

    step_name: str
    kind: str  # "processing", "training", "transform", "tuning"
    job_name: str
    metadata: Mapping[str, Any]

    @classmethod
    def of(cls, request: StepRequest, kind: str, metadata: Mapping[str, Any]) -> JobLabel:
        return cls(request.step_name, kind, request.job_name, metadata)

    @classmethod
    def for_job(cls, request: StepRequest, config: Config, kind: str) -> JobLabel:
        """The label of the attempt's SageMaker job of ``kind`` (``ProcessingJob``, ``TrainingJob``,
        ``TransformJob``, ``TuningJob``), whose metadata is ``{kind: {"Arn": <the job's ARN>}}``."""
        arn = describe.job_arn(config, kind, request.job_name)
        step_type = describe.JOB_KINDS[kind].step_type
        return cls.of(request, step_type.lower(), describe.metadata(kind, arn))

    def reason(self, cause: str) -> str:
        return f"step {self.step_name} ({self.kind} job {self.job_name}): {cause}"

    def note(self, message: str) -> str:
        """A log line: the log already names the step, and the job once when it starts."""
        return message

    def request_error(self, cause: str) -> JobRequestError:
        return JobRequestError(self.reason(cause), metadata=dict(self.metadata))


class JobWorkspace:
    """The job's folder on the host; ``host_path`` maps a container path into it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ml = root / "opt" / "ml"

    @classmethod
    def create(cls, config: Config, job_name: str) -> JobWorkspace:
        workspace = cls(Path(config.state_dir).resolve() / "jobs" / job_name)
        workspace.discard()  # an earlier, interrupted run of the same attempt
        workspace.ml.mkdir(parents=True, exist_ok=True)
        workspace.log_path.unlink(missing_ok=True)
        return workspace

    @property
    def log_path(self) -> Path:
        return self.root / "job.log"

    @property
    def scratch(self) -> Path:
        """The working directory of jobs whose image would start in ``/`` (kept off the host's /)."""
        return self.ml / ".workdir"

    def host_path(self, container_path: str, *, what: str) -> Path:
        path = PurePosixPath(container_path)
        if not path.is_absolute() or not (
            path == PurePosixPath(CONTAINER_ML) or path.is_relative_to(CONTAINER_ML)
        ):
            raise JobRequestError(f"{what}: local path {container_path!r} must be below {CONTAINER_ML}")
        relative = path.relative_to(CONTAINER_ML)
        target = (self.ml / relative).resolve()
        if not target.is_relative_to(self.ml.resolve()):
            raise JobRequestError(f"{what}: local path {container_path!r} escapes {CONTAINER_ML}")
        return target

    def discard(self) -> None:
        for leftover in (self.ml.parent, self.root / ".host-opt"):
            if leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


def job_interpreter(config: Config, image_uri: str | None, label: JobLabel, ctx: RunContext) -> Interpreter:
    """The interpreter that runs the job's image (images.py), named in the job's log."""
    interpreter = resolve_interpreter(config, image_uri)
    ctx.log(label.note(f"interpreter: {interpreter.describe(image_uri)}"))
    return interpreter


def note_single_host(instance_count: Any, label: JobLabel, ctx: RunContext) -> None:
    """A request for several instances runs as the one local host: the job's log says so."""
    if isinstance(instance_count, int) and instance_count > 1:
        ctx.log(label.note(f"InstanceCount {instance_count} runs as a single host ({HOST}) locally"))


def request_environment(
    config: Config, arguments: Mapping[str, Any], interpreter: Interpreter, ctx: RunContext
) -> dict[str, str]:
    """The environment of a job whose request carries its own ``Environment`` (Processing,
    Training): :func:`job_environment`, with the interpreter's folder first on PATH."""
    overrides = as_mapping(arguments.get("Environment"), what="Environment")
    return interpreter.path_env(job_environment(config, overrides, ctx.environment))


def job_environment(
    config: Config, overrides: Mapping[str, Any] | None, runtime: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The host's environment (so interpreters and tools work), the region as the container has
    it, the runtime's variables for this attempt (RunContext.environment: MLflow's), then the
    request's Environment, which wins."""
    env = dict(os.environ)
    env.update(AWS_REGION=config.region, AWS_DEFAULT_REGION=config.region, PYTHONUNBUFFERED="1")
    env.update(runtime or {})
    for key, value in (overrides or {}).items():
        env[str(key)] = value_text(value)  # as the service renders a non-string value
    return env


def check_program(
    workspace: JobWorkspace, argv: Sequence[str], env: Mapping[str, str], label: JobLabel
) -> None:
    """Fail before starting when the entrypoint or its script is missing, with a reason that says
    which, instead of an interpreter's 'can't open file'."""
    if not argv:
        raise label.request_error("the job has no command to run")
    program = argv[0]
    if program.startswith(CONTAINER_ML):
        _check_staged(workspace, program, label, role="entrypoint")
    elif find_program(program, env) is None and not (os.sep in program and Path(program).is_file()):
        raise label.request_error(f"entrypoint program {program!r} is not found on this machine")
    if is_python(program) or os.path.basename(program) in _SHELLS or os.sep in program:
        script = next((a for a in argv[1:] if not a.startswith("-")), None)
        if script is not None and script.startswith(CONTAINER_ML + "/"):
            _check_staged(workspace, script, label, role="script")


def _check_staged(workspace: JobWorkspace, path: str, label: JobLabel, *, role: str) -> None:
    if not workspace.host_path(path, what=label.reason(role)).exists():
        raise label.request_error(f"{role} {path} does not exist (no input channel provides it)")


def run_job_process(
    workspace: JobWorkspace,
    label: JobLabel,
    argv: list[str],
    env: dict[str, str],
    ctx: RunContext,
    *,
    cwd: str,
    max_runtime: float | None,
    on_line: Callable[[str], None] | None = None,
    isolate_network: bool = False,
    image_uri: str | None = None,
) -> ProcessOutcome:
    """Run the job's process and turn every way it can end badly into a typed failure.

    A Python job starts warm (a fork of an interpreter that imported the config's preload
    modules already, runners/jobs/warm.py) when it can; otherwise, or if that fails, cold."""
    metadata = dict(label.metadata)
    if ctx.cancel.is_set():
        raise JobStopped(label.reason("stopped before the job started"), metadata=metadata)
    try:
        plan = sandbox_plan()
    except SandboxUnavailable as exc:
        raise SandboxUnavailable(label.reason(str(exc)), metadata=metadata) from exc
    check_program(workspace, argv, env, label)
    (workspace.ml / "output").mkdir(parents=True, exist_ok=True)

    def line_sink(line: str) -> None:
        ctx.log(line)
        if on_line is not None:
            on_line(line)

    command = SandboxCommand(
        job_root=workspace.root,
        argv=argv,
        env=env,
        cwd=cwd,
        timeout=max_runtime,
        on_line=line_sink,
        log_file=workspace.log_path,
        isolate_network=isolate_network,
        on_start=ctx.on_process,
    )
    options = ctx.config.warm_pools
    why_cold = cold_reason(options, plan.overlay_opt, image_uri, argv, env)
    if why_cold is None:
        warm = POOLS.get(argv[0], options.preload, env, keep_alive=options.keep_alive_seconds)
        why_cold = None if warm.unsafe is None else f"forking its warm interpreter is unsafe: {warm.unsafe}"
        if why_cold is None:
            command.warm = warm
    ctx.log(label.note("warm start" if command.warm is not None else f"cold start: {why_cold}"))
    try:
        outcome = run_sandboxed(command, ctx.cancel, plan=plan)
    except WarmStartError as exc:
        ctx.log(label.note(f"cold start: {exc}"))
        command.warm = None
        outcome = run_sandboxed(command, ctx.cancel, plan=plan)
    ctx.log(label.note(f"process exited with code {outcome.exit_code} after {outcome.seconds:.3f} s"))
    sandbox_problem = is_sandbox_failure(outcome)
    if sandbox_problem is not None:
        raise SandboxUnavailable(
            label.reason(f"cannot present /opt/ml to the job: {sandbox_problem}"), metadata=metadata
        )
    if outcome.stopped:
        raise JobStopped(
            label.reason("stopped: the execution was stopped while the job ran"), metadata=metadata
        )
    if outcome.timed_out:
        raise MaxRuntimeExceeded(
            label.reason(
                f"MaxRuntimeExceeded: the job ran longer than StoppingCondition.MaxRuntimeInSeconds "
                f"({max_runtime:g} s) and was stopped"
            ),
            metadata=metadata,
        )
    failure = _failure_text(workspace)
    if outcome.exit_code != 0 or failure:
        raise AlgorithmError(label.reason(_algorithm_cause(outcome, failure)), metadata=metadata)
    return outcome


def _failure_text(workspace: JobWorkspace) -> str:
    path = workspace.host_path(FAILURE_FILE, what="failure file")
    if not path.is_file():
        return ""
    return path.read_text(encoding="utf-8", errors="replace").strip()


def _algorithm_cause(outcome: ProcessOutcome, failure: str) -> str:
    """The service's shape: ``ClientError: AlgorithmError: <the failure file>, exit code: N``
    (the SDK's ``test_step_decorator.py::test_with_user_and_workdir_set_in_the_image_client_error_case``
    finds ``ClientError: AlgorithmError: RuntimeError('...')`` in the step's FailureReason)."""
    if outcome.exit_code < 0:
        how = f"the job was killed by signal {-outcome.exit_code}"
    elif outcome.exit_code == 127 and any("not found" in line for line in outcome.stderr_tail):
        how = "the entrypoint command was not found (exit code 127)"
    else:
        how = f"exit code: {outcome.exit_code}"
    cause = (
        f"ClientError: AlgorithmError: {failure}, {how}" if failure else f"ClientError: AlgorithmError: {how}"
    )
    tail = "\n".join(outcome.stderr_tail[-10:]).strip()
    return f"{cause}\nstderr tail:\n{tail}" if tail else cause


def resource_config(instance_type: str) -> dict[str, Any]:
    """``resourceconfig.json`` as SageMaker writes it for a one-host cluster."""
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": [HOST],
        "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type, "hosts": [HOST]}],
        "network_interface_name": "eth0",
    }


def max_runtime_of(arguments: Mapping[str, Any]) -> float | None:
    condition = arguments.get("StoppingCondition") or {}
    value = condition.get("MaxRuntimeInSeconds") if isinstance(condition, Mapping) else None
    return float(value) if value is not None else None


def as_mapping(value: Any, *, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise JobRequestError(f"{what} must be an object, got {type(value).__name__}")
    return value


def as_list(value: Any, *, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise JobRequestError(f"{what} must be a list, got {type(value).__name__}")
    return value
