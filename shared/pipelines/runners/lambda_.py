"""Lambda steps, run locally: the step's FunctionArn maps to a ``file.py:handler`` (config
``[functions]``), which is called with the resolved Arguments as the event.

The handler runs in a child process so that a crash, a ``sys.exit`` or a hang never takes the
runtime down, and so that the timeout can be enforced. On AWS a timed-out function keeps
running while the step fails; locally nothing would ever collect it, so we kill it and say so.
A stop does not interrupt a running Lambda step (the docs: the pipeline waits for the function).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config, ConfigError
from pipelines.definition.models import LambdaStep, Step
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult
from pipelines.runners.outputs import lambda_step_result
from pipelines.runners.processes import log_recording_failure, tied_to_driver

DEFAULT_TIMEOUT_SECONDS = 120
MAX_TIMEOUT_SECONDS = 600
MEMORY_LIMIT_MB = 128
STDERR_TAIL_CHARS = 2000
_HOST = Path(__file__).with_name("_lambda_host.py")


@dataclass(frozen=True)
class LocalFunction:
    """Where a Lambda ARN runs locally."""

    arn: str
    file: Path
    handler: str

    @property
    def name(self) -> str:
        """The function name inside ``arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]``."""
        parts = self.arn.split(":")
        return parts[6] if len(parts) >= 7 and parts[5] == "function" else self.arn


class UnmappedFunction(StepFailed):
    def __init__(self, arn: str) -> None:
        super().__init__(
            f"Lambda function {arn} is not mapped to a local handler; add it to [functions] in pipelines.toml",
            error_code="ValidationException",
        )


def resolve_function(arn: str, config: Config) -> LocalFunction:
    """The local handler for ``arn``, or a failure that says how to map it."""
    try:
        spec = config.function_handler(arn)
    except ConfigError as exc:
        raise StepFailed(str(exc), error_code="ValidationException") from exc
    if spec is None:
        raise UnmappedFunction(arn)
    file_part, _, handler = spec.rpartition(":")
    file = Path(file_part)
    if not file.is_file():
        raise StepFailed(
            f"Lambda function {arn} maps to {file}, which does not exist; fix [functions] in pipelines.toml",
            error_code="ValidationException",
        )
    return LocalFunction(arn=arn, file=file, handler=handler)


def timeout_seconds(step: LambdaStep) -> int:
    return step.timeout_seconds if step.timeout_seconds is not None else DEFAULT_TIMEOUT_SECONDS


class LambdaRunner:
    step_type: ClassVar[str] = "Lambda"

    def check(self, step: Step, config: Config) -> str | None:
        assert isinstance(step, LambdaStep)
        timeout = timeout_seconds(step)
        if not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
            return f"TimeoutSeconds {timeout} is out of range; a Lambda step may run 1 to {MAX_TIMEOUT_SECONDS} seconds"
        if not isinstance(step.function_arn, str):
            return None  # an expression: resolved, and checked, when the step runs
        try:
            resolve_function(step.function_arn, config)
        except StepFailed as exc:
            return exc.message
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        step = request.step
        assert isinstance(step, LambdaStep)
        arn = request.step_fields.get("FunctionArn", step.function_arn)
        if not isinstance(arn, str):
            raise StepFailed(
                f"FunctionArn resolved to {arn!r}, not a string", error_code="ValidationException"
            )
        function = resolve_function(arn, ctx.config)
        event = request.arguments if request.arguments is not None else {}
        result = invoke(
            function,
            event,
            timeout=timeout_seconds(step),
            config=ctx.config,
            log=ctx.log,
            on_start=ctx.on_process,
        )
        return lambda_step_result(step, result, arn)


def invoke(
    function: LocalFunction,
    event: Any,
    *,
    timeout: float,
    config: Config,
    log: Callable[[str], None] = lambda _line: None,
    on_start: Callable[[int], None] = lambda _pid: None,
) -> Any:
    """Call the handler in a child process and return its result; raise StepFailed otherwise.

    The child dies with the calling thread's process (see :mod:`pipelines.runners.processes`);
    ``on_start`` is told its pid."""
    with tempfile.TemporaryDirectory(prefix="pipelines-lambda-") as scratch:
        outcome_path = Path(scratch) / "outcome.json"
        invocation = {
            "file": str(function.file),
            "handler": function.handler,
            "event": event,
            "outcome_path": str(outcome_path),
            "function_name": function.name,
            "function_arn": function.arn,
            "memory_limit_in_mb": MEMORY_LIMIT_MB,
            "request_id": str(uuid.uuid4()),
            "deadline": time.time() + timeout,
        }
        process = subprocess.Popen(
            tied_to_driver([sys.executable, str(_HOST)]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=function.file.parent,
            env=_environment(function, config),
            start_new_session=True,  # its own process group: a timeout kills the handler's children too
            text=True,
        )
        try:
            on_start(process.pid)
        except Exception:  # the handler runs either way; it still dies with this process
            log_recording_failure(process.pid)
        timed_out = False
        try:
            stdout, stderr = process.communicate(json.dumps(invocation), timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            stdout, stderr = process.communicate()
        for line in (stdout + stderr).splitlines():
            log(line)
        if timed_out:
            raise StepFailed(
                f"Lambda function {function.arn} timed out after {timeout:g} seconds; the local handler "
                f"was killed (on AWS the function keeps running after the step fails){_tail(stderr)}"
            )
        if not outcome_path.is_file():
            raise StepFailed(
                f"Lambda function {function.arn} ({function.file}:{function.handler}) crashed: "
                f"{_exit_description(process.returncode)}{_tail(stderr)}"
            )
        outcome = json.loads(outcome_path.read_text())
    if "errorType" in outcome:
        raise StepFailed(
            f"Lambda function {function.arn} failed: {outcome['errorType']}: {outcome['errorMessage']}"
        )
    return outcome["result"]


def _environment(function: LocalFunction, config: Config) -> dict[str, str]:
    """The variables the Lambda runtime sets that handlers commonly read."""
    return {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_LIMIT_MB),
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "LAMBDA_TASK_ROOT": str(function.file.parent),
        "PYTHONUNBUFFERED": "1",
    }


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        return f"killed by signal {signal.Signals(-returncode).name}"
    return f"exited with code {returncode} before returning"


def _tail(stderr: str) -> str:
    text = stderr.strip()
    if not text:
        return ""
    if len(text) > STDERR_TAIL_CHARS:
        text = "..." + text[-STDERR_TAIL_CHARS:]
    return f"; stderr: {text}"


RUNNERS = [LambdaRunner()]
