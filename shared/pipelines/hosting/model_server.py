"""One model served by the SageMaker hosting contract, in a sandboxed process of its own.

:func:`start_model_server` stages the model's container as a serving container sees it (model
data unpacked under ``/opt/ml/model``, the inference script located: runners/jobs/model_data.py),
then runs ``_model_server.py`` under the interpreter ``[images]`` maps the model's image to, with
the same isolation, warm start and log as a local job (``run_job_process``: private ``/opt/ml``
and PID namespace, dies with the process that started it). It returns once ``GET /ping``
answers 200, or raises :class:`ModelLoadFailed` with the reason (the model could not load, the
process died, or it never became healthy).

Each server gets its own loopback port, ``SAGEMAKER_BIND_TO_PORT``: the preferred one first
(an endpoint coming back keeps its port when it is free), then free ports the kernel hands out.
A port that is taken by the time the server binds it (another program, another endpoint
starting at the same moment) makes the server exit at once, and the next candidate is tried.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3

from pipelines.config import Config
from pipelines.errors import ValidationError
from pipelines.objects.base import ObjectStore
from pipelines.objects.local import LocalObjectStore
from pipelines.runners.base import RunContext
from pipelines.runners.jobs.channels import write_json
from pipelines.runners.jobs.container import JobLabel, JobWorkspace, job_environment, run_job_process
from pipelines.runners.jobs.errors import JobError, JobRequestError, JobStopped
from pipelines.runners.jobs.images import resolve_interpreter, serving_framework
from pipelines.runners.jobs.model_data import MODEL_DIR, stage_inference_code, stage_model_data
from pipelines.runners.processes import ProcessIdentity, identify

SERVER_SCRIPT = Path(__file__).parents[1] / "runners" / "jobs" / "_model_server.py"
PORT_IN_USE_MARKER = "pipelines-model-server: port in use"  # _model_server.py's line
DEFAULT_READY_TIMEOUT_SECONDS = 300.0
PING_INTERVAL_SECONDS = 0.05
PORT_ATTEMPTS = 8
SPEC_PATH = "/opt/ml/serving.json"


class ModelLoadFailed(ValidationError):
    """The model server did not come up: the reason is the endpoint's FailureReason."""


def free_port() -> int:
    """A loopback port nobody listens on right now (it may be taken before it is bound: the
    server then exits and another is tried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def candidate_ports(preferred: int | None = None) -> Iterator[int]:
    if preferred:
        yield preferred
    while True:
        yield free_port()


def model_container(model: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one container of a DescribeModel response (an inference pipeline cannot be served here)."""
    containers = model.get("Containers") or []
    if len(containers) > 1:
        raise ModelLoadFailed(
            f"model {model.get('ModelName')} is an inference pipeline of {len(containers)} containers, "
            "which cannot be served locally"
        )
    container = model.get("PrimaryContainer") or (containers[0] if containers else None)
    if not isinstance(container, Mapping):
        raise ModelLoadFailed(f"model {model.get('ModelName')} has no PrimaryContainer")
    return container


class _ServingLabel(JobLabel):
    """Failure reasons name the endpoint and variant instead of a step and job."""

    def reason(self, cause: str) -> str:
        return f"{self.step_name}: {cause}"


@dataclass
class ModelServer:
    """A running model server. ``url`` is where ``/ping`` and ``/invocations`` answer."""

    name: str
    port: int
    workspace: JobWorkspace
    framework: str
    _cancel: threading.Event
    _exited: threading.Event
    _thread: threading.Thread
    _failure: list[str] = field(default_factory=list)
    _pid: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workspace.log_path

    @property
    def process(self) -> ProcessIdentity | None:
        return identify(self._pid[0]) if self._pid else None

    @property
    def alive(self) -> bool:
        return not self._exited.is_set()

    @property
    def exit_reason(self) -> str | None:
        """Why the process ended on its own (None while it runs, or when it was stopped)."""
        return self._failure[0] if self._failure else None

    def wait_exited(self, timeout: float | None = None) -> bool:
        return self._exited.wait(timeout)

    def invoke(
        self,
        body: bytes,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        timeout: float = 60.0,
    ) -> urllib3.BaseHTTPResponse:
        """POST /invocations (what InvokeEndpoint forwards): the raw response."""
        headers = {k: v for k, v in (("Content-Type", content_type), ("Accept", accept)) if v}
        return POOL.request(
            "POST", f"{self.url}/invocations", body=body, headers=headers, timeout=timeout, retries=False
        )

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (SIGKILL after the grace period) to the server; its staged files go with it."""
        self._cancel.set()
        self._exited.wait(timeout)
        self._thread.join(timeout)

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


POOL = urllib3.PoolManager(num_pools=64, maxsize=16)
"""Keep-alive connections to the local model servers (one pool per port)."""


def start_model_server(
    config: Config,
    model: Mapping[str, Any],
    *,
    name: str | None = None,
    objects: ObjectStore | None = None,
    environment: Mapping[str, str] | None = None,
    preferred_port: int | None = None,
    ports: Iterator[int] | None = None,
    ready_timeout: float = DEFAULT_READY_TIMEOUT_SECONDS,
    log: Callable[[str], None] = lambda _line: None,
) -> ModelServer:
    """Serve ``model`` (a DescribeModel response, or a CreateModel request) and return once it
    is healthy. ``name`` labels the server in failure reasons and its folder under
    ``<state_dir>/endpoints``; ``environment`` adds variables for the container (the model's own
    ``Environment`` wins). Raises :class:`ModelLoadFailed` with the reason it did not come up."""
    label_name = name or f"model {model.get('ModelName', '(unnamed)')}"
    objects = objects or LocalObjectStore(config.object_root)
    container = model_container(model)
    image = container.get("Image") if isinstance(container.get("Image"), str) else None
    framework = serving_framework(image)
    interpreter = resolve_interpreter(config, image)
    log(f"interpreter: {interpreter.describe(image)}; {framework} serving defaults")
    candidates = ports or candidate_ports(preferred_port)
    for attempt in itertools.count(1):
        port = next(candidates)
        server = _launch(
            config, objects, model, container, label_name, framework, interpreter.argv, port, environment, log
        )
        outcome = _await_ready(server, ready_timeout)
        if outcome is None:
            log(f"serving on {server.url} (attempt {attempt})")
            return server
        if PORT_IN_USE_MARKER in outcome and attempt < PORT_ATTEMPTS:
            log(f"port {port} is in use; trying another")
            continue
        server.stop()
        raise ModelLoadFailed(outcome)
    raise AssertionError("unreachable")


def _launch(
    config: Config,
    objects: ObjectStore,
    model: Mapping[str, Any],
    container: Mapping[str, Any],
    label_name: str,
    framework: str,
    interpreter: tuple[str, ...],
    port: int,
    environment: Mapping[str, str] | None,
    log: Callable[[str], None],
) -> ModelServer:
    folder = f"{_safe(label_name)}-{uuid.uuid4().hex[:8]}"
    workspace = JobWorkspace(Path(config.state_dir).resolve() / "endpoints" / folder)
    workspace.ml.mkdir(parents=True, exist_ok=True)
    label = _ServingLabel(label_name, "endpoint", folder, {})
    try:
        stage_model_data(container, workspace, objects, label)
        program, code_dir = stage_inference_code(container, workspace, objects, label, required=False)
    except JobError as exc:
        workspace.discard()
        raise ModelLoadFailed(str(exc)) from exc
    write_json(
        workspace.host_path(SPEC_PATH, what="serving spec"),
        {"program": program, "code_dir": code_dir, "model_dir": MODEL_DIR, "framework": framework},
    )
    env = job_environment(config, container.get("Environment") or {}, environment)
    env["SAGEMAKER_BIND_TO_PORT"] = str(port)
    env["PIPELINES_SERVER_TOKEN"] = folder
    env.setdefault("SAGEMAKER_PROGRAM", program or "")
    argv = [*interpreter, str(SERVER_SCRIPT), SPEC_PATH]
    cancel, exited = threading.Event(), threading.Event()
    failure: list[str] = []
    pids: list[int] = []
    ctx = RunContext(config=config, objects=objects, cancel=cancel, log=log, on_process=pids.append)

    def serve() -> None:
        try:
            run_job_process(
                workspace,
                label,
                argv,
                env,
                ctx,
                cwd=code_dir,
                max_runtime=None,
                image_uri=container.get("Image") if isinstance(container.get("Image"), str) else None,
            )
            failure.append(label.reason("the model server exited"))
        except JobStopped:
            pass
        except JobRequestError as exc:
            failure.append(str(exc))
        except JobError as exc:
            failure.append(str(exc))
        except Exception as exc:  # the thread must always report the end
            failure.append(label.reason(f"the model server could not run: {exc}"))
        finally:
            workspace.discard()
            exited.set()

    # The thread lives as long as the server: the process is tied to it (pdeathsig).
    thread = threading.Thread(target=serve, name=f"model-server-{folder}", daemon=True)
    server = ModelServer(label_name, port, workspace, framework, cancel, exited, thread, failure, pids)
    thread.start()
    return server


def _await_ready(server: ModelServer, timeout: float) -> str | None:
    """None once /ping answers 200; else why it never will."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive:
            return server.exit_reason or f"{server.name}: the model server stopped before it was healthy"
        try:
            response = POOL.request("GET", f"{server.url}/ping", timeout=1.0, retries=False)
            if (
                response.status == 200
                and response.headers.get("X-Pipelines-Server") == server.workspace.root.name
            ):
                return None
        except urllib3.exceptions.HTTPError:
            pass
        server.wait_exited(PING_INTERVAL_SECONDS)
    return (
        f"{server.name}: the model server did not pass the ping health check within {timeout:g} s "
        f"(log: {server.log_path})"
    )


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text)[:80].strip("-") or "model"
