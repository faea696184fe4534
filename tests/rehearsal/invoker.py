"""A small local Lambda service: each function runs from its built asset directories in its own
Python 3.12 process, as Lambda runs it.

A function's process (``lambda_runtime.py`` under ``python3.12 -I -S``) sees only the function's
code directory, its layers' ``python/`` directories and a boto3/botocore directory (the Lambda
runtime ships them; the layer's own copies shadow them, as on Lambda), with the environment
variables the template gives the function plus what the Lambda runtime adds. Its AWS calls go
to the moto server at ``AWS_ENDPOINT_URL``. Workers stay warm between invocations and a busy
function gets another worker, like Lambda's execution environments.

Everything that invokes a function comes through :meth:`LocalLambdas.invoke`: moto's Lambda
(Step Functions Lambda tasks, ``lambda.invoke`` from the handlers), the API Gateway proxy,
EventBridge and Scheduler targets and the custom-resource provider.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import importlib.util
import json
import os
import select
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend

RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.py")
PYTHON_VERSION = "3.12"
# What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
TIMEOUT_ERROR = "Sandbox.Timedout"


class NoPython312(RuntimeError):
    """The rehearsal runs handlers on the Lambda runtime's Python and found none."""


def find_python312() -> str:
    """``$REHEARSAL_PYTHON``, else ``python3.12`` on PATH, else a pyenv 3.12 (the CI image has one)."""
    candidates = [os.environ.get("REHEARSAL_PYTHON"), shutil.which("python3.12")]
    candidates += sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True
    )
    for candidate in candidates:
        if not candidate:
            continue
        done = subprocess.run(
            [candidate, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip() == PYTHON_VERSION:
            return candidate
    raise NoPython312(
        "the deploy rehearsal runs the Lambda handlers on Python 3.12 (the functions' runtime) and "
        "found none: install one (e.g. `pyenv install 3.12`) or set REHEARSAL_PYTHON"
    )


def runtime_packages_dir(dest: Path) -> Path:
    """A directory holding what the Lambda runtime adds to ``sys.path``: boto3 and its deps
    (pure Python, linked from this environment)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed in the test environment")
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = dest / source.name
        if not link.exists():
            link.symlink_to(source)
    return dest


def import_roots(code: Path, layers: tuple[Path, ...]) -> list[Path]:
    """``sys.path`` entries of a function, in Lambda's order (/var/task, then /opt/python...)."""
    roots = [code]
    for layer in layers:
        roots += [layer / "python" / "lib" / f"python{PYTHON_VERSION}" / "site-packages", layer / "python"]
    return roots


@dataclass(frozen=True)
class LocalFunction:
    name: str
    arn: str
    handler: str
    code: Path
    layers: tuple[Path, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    timeout: int = 3
    memory: int = 128
    role_arn: str = ""

    @property
    def access_key(self) -> str:
        """The function's (fake) session credentials: API Gateway maps them back to its role
        (``tests/rehearsal/identities.py``)."""
        return f"ASIA{self.name}"

    secret_key = "rehearsal"
    session_token = "rehearsal"


@dataclass(frozen=True)
class Invocation:
    function: str
    event: Any
    payload: Any
    error: dict[str, Any] | None
    seconds: float


class _Worker:
    """One warm execution environment of a function."""

    def __init__(self, python: str, function: LocalFunction, env: dict[str, str], log: IO[str]) -> None:
        self.function = function
        read_fd, write_fd = os.pipe()
        paths = [str(p) for p in import_roots(function.code, function.layers)] + [env.pop("_RUNTIME_PATH")]
        self.process = subprocess.Popen(
            [python, "-I", "-S", str(RUNTIME_SCRIPT), str(write_fd), *paths],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=log,
            pass_fds=(write_fd,),
            env=env,
            cwd=function.code,
            text=True,
        )
        os.close(write_fd)
        self.results = os.fdopen(read_fd, "r")

    def call(
        self, event: Any, request_id: str, clock_offset: float = 0.0
    ) -> tuple[Any, dict[str, Any] | None]:
        assert self.process.stdin is not None
        timeout_ms = self.function.timeout * 1000
        request = {
            "event": event,
            "requestId": request_id,
            "timeoutMs": timeout_ms,
            "clockOffset": clock_offset,
        }
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.results], [], [], self.function.timeout)
        if not ready:
            self.process.kill()
            self.close()
            message = f"Task timed out after {self.function.timeout:.2f} seconds"
            return None, {"errorMessage": message, "errorType": TIMEOUT_ERROR}
        line = self.results.readline()
        if not line:
            code = self.process.wait()
            return None, {
                "errorMessage": f"Runtime exited with error: exit status {code}",
                "errorType": "Runtime.ExitError",
            }
        answer = json.loads(line)
        return (answer["payload"], None) if answer["ok"] else (None, answer["error"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.results.close()


class LocalLambdas:
    """The functions of one deployment and their warm workers."""

    def __init__(
        self, *, python: str, runtime_path: Path, endpoint_url: str, region: str, log_dir: Path
    ) -> None:
        self.python = python
        self.runtime_path = runtime_path
        self.endpoint_url = endpoint_url
        self.region = region
        self.log_dir = log_dir
        self.functions: dict[str, LocalFunction] = {}
        self.invocations: list[Invocation] = []
        self._idle: dict[str, list[_Worker]] = {}
        self._all: list[_Worker] = []
        self._logs: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.clock_offset = 0.0
        log_dir.mkdir(parents=True, exist_ok=True)

    def advance_clock(self, seconds: float) -> None:
        """Move every function process's monotonic clock ``seconds`` on, from its next
        invocation (``lambda_runtime.py``): what a wait that long would do, without the wait."""
        if seconds < 0:
            raise ValueError("a monotonic clock only moves forward")
        with self._lock:
            self.clock_offset += seconds

    def add(self, function: LocalFunction) -> None:
        self.functions[function.name] = function

    def update_environment(self, name: str, values: Mapping[str, str | None]) -> dict[str, str | None]:
        """UpdateFunctionConfiguration's ``Environment`` (a value of None removes the variable):
        as on Lambda, warm execution environments are retired and the next invocation starts a
        fresh one with the new variables. Returns the previous values, to restore them."""
        with self._lock:
            function = self.functions[name]
            previous = {key: function.environment.get(key) for key in values}
            environment = {**function.environment, **{k: v for k, v in values.items() if v is not None}}
            for key in [k for k, v in values.items() if v is None]:
                environment.pop(key, None)
            self.functions[name] = dataclasses.replace(function, environment=environment)
            retired, self._idle[name] = self._idle.get(name, []), []
        for worker in retired:
            worker.close()
        return previous

    def by_arn(self, arn: str) -> LocalFunction:
        name = arn.split(":function:", 1)[-1].split(":", 1)[0]
        return self.functions[name]

    # -- invoking ----------------------------------------------------------------------------------

    def invoke(self, name: str, event: Any) -> Invocation:
        """Run one invocation to its end (RequestResponse)."""
        function = self.functions[name]
        worker = self._worker(function)
        started = time.perf_counter()
        payload, error = worker.call(event, str(uuid.uuid4()), self.clock_offset)
        seconds = time.perf_counter() - started
        current = True
        with self._lock:
            if worker.alive() and worker.function is self.functions[name]:
                self._idle[name].append(worker)
            else:
                current = False
        if not current and worker.alive():  # reconfigured while it ran: retired
            worker.close()
        done = Invocation(name, event, payload, error, seconds)
        with self._lock:
            self.invocations.append(done)
        return done

    def invoke_async(self, name: str, event: Any) -> None:
        """``InvocationType=Event``: queued, run in the background."""
        thread = threading.Thread(target=self.invoke, args=(name, event), daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def kill_running(self, name: str) -> int:
        """SIGKILL every execution environment of ``name`` that is in an invocation now (a
        Lambda that dies mid-decision: out of memory, timed out); returns how many."""
        with self._lock:
            idle = {id(w) for w in self._idle.get(name, [])}
            busy = [w for w in self._all if w.function.name == name and id(w) not in idle and w.alive()]
        for worker in busy:
            worker.process.kill()
        return len(busy)

    def calls(self, name: str) -> list[Invocation]:
        with self._lock:
            return [i for i in self.invocations if i.function == name]

    def _worker(self, function: LocalFunction) -> _Worker:
        with self._lock:
            idle = self._idle.setdefault(function.name, [])
            while idle:
                worker = idle.pop()
                if worker.alive():
                    return worker
            log = self._logs.get(function.name)
            if log is None:
                log = self._logs[function.name] = (self.log_dir / f"{function.name}.log").open("a")
        worker = _Worker(self.python, function, self._environment(function), log)
        with self._lock:
            self._all.append(worker)
        return worker

    def _environment(self, function: LocalFunction) -> dict[str, str]:
        """The template's variables plus what the Lambda runtime sets (fake credentials: moto)."""
        return {
            "PATH": "/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": function.access_key,
            "AWS_SECRET_ACCESS_KEY": function.secret_key,
            "AWS_SESSION_TOKEN": function.session_token,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_VERSION}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "LAMBDA_TASK_ROOT": str(function.code),
            "_HANDLER": function.handler,
            "REHEARSAL_FUNCTION_ARN": function.arn,
            # No X-Ray daemon runs here: the Tracer would fail to emit segments.
            "POWERTOOLS_TRACE_DISABLED": "true",
            **function.environment,
            "_RUNTIME_PATH": str(self.runtime_path),
        }

    def close(self) -> None:
        for thread in list(self._threads):
            thread.join(timeout=30)
        with self._lock:
            workers, self._all = self._all, []
            self._idle.clear()
        for worker in workers:
            worker.close()
        for log in self._logs.values():
            log.close()

    # -- moto's Lambda -----------------------------------------------------------------------------

    def serve_moto(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """moto's Lambda invokes (Step Functions tasks, handlers' ``lambda.invoke``) run here."""
        lambdas = self

        def invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> bytes:
            function = backend.get_function(function_name, qualifier)  # ResourceNotFound as on AWS
            event = json.loads(body) if body else {}
            if (headers or {}).get("X-Amz-Invocation-Type") == "Event":
                lambdas.invoke_async(function.function_name, event)
                return b""
            done = lambdas.invoke(function.function_name, event)
            if done.error is not None:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps(done.error).encode()
            return json.dumps(done.payload).encode()

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
