"""A pipeline project whose step processes report on themselves, for crash tests.

Every process a step runs (a Processing job's script, a Lambda handler, a child the handler
leaves behind) appends JSON lines to one log on the host: ``start``, a ``tick`` every 50 ms
while it runs, ``end`` when it finishes and ``term`` when it gets SIGTERM, each with the time,
its own unique id, its host pid (Lambda processes; jobs see their PID namespace's) and the
execution and step it belongs to. Overlapping attempts, reruns and orphans are read from that
log, i.e. from the processes' own clocks, not from what the driver believes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PIPELINES = Path(sys.executable).parent / "pipelines"
BUCKET = "faults"

# The reporter, shared by jobs and handlers: report(event) appends one line, ticking() runs a
# 50 ms ticker in a daemon thread, SIGTERM writes "term" and exits 143. LOG is set before it.
REPORTER = r"""
import json, os, signal, sys, threading, time, uuid

ME = uuid.uuid4().hex
CONTEXT = {}


def report(event, **extra):
    line = json.dumps({"event": event, "t": time.time(), "id": ME, "pid": os.getpid(), **CONTEXT, **extra})
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def ticking():
    def tick():
        while True:
            report("tick")
            time.sleep(0.05)

    threading.Thread(target=tick, daemon=True).start()


def on_term(signum, frame):
    report("term")
    os._exit(143)


signal.signal(signal.SIGTERM, on_term)
"""

JOB = (
    "import sys\nLOG = sys.argv[1]\n"
    + REPORTER
    + r"""
CONTEXT.update(execution=os.environ["EXECUTION_ID"], step=os.environ["STEP"], token=sys.argv[2])
report("start")
ticking()
time.sleep(float(os.environ["SECONDS"]))
report("end")
"""
)

# A Lambda handler: reports like a job; with "leave_child" it first starts a child process in
# its own session (no setsid) that ticks until it is signalled, then waits for ever itself.
# "once_marker": only the first attempt leaves a child; later attempts finish at once.
CHILD = (
    "import sys\nLOG = sys.argv[1]\n"
    + REPORTER
    + r"""
CONTEXT.update(execution=sys.argv[2], step=sys.argv[3], role="child", kind="lambda")
report("start")
ticking()
time.sleep(3600)
"""
)

HANDLER = (
    "import os\nLOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'processes.log')\n"
    + REPORTER
    + f"CHILD = {CHILD!r}\n"
    + r"""
import subprocess


def handler(event, context):
    CONTEXT.update(execution=event["execution"], step=event["step"], kind="lambda")
    report("start")
    marker = event.get("once_marker")
    if event.get("leave_child") and not (marker and os.path.exists(marker)):
        if marker:
            open(marker, "w").close()
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, LOG, event["execution"], event["step"]],
        )
        report("child", child=child.pid)
        time.sleep(3600)
    ticking()
    time.sleep(float(event.get("seconds", 0)))
    report("end")
    return {"done": "yes"}
"""
)

LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:faults"


@dataclass
class Project:
    root: Path

    @property
    def log(self) -> Path:
        return self.root / "processes.log"

    def events(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PIPELINES), *args, "--config", "pipelines.toml"],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``pipelines ARGS`` as its own process, output discarded (it is killed mid-way)."""
        return subprocess.Popen(
            [str(PIPELINES), *args, "--config", "pipelines.toml"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def write_definition(self, name: str, steps: list[dict[str, Any]]) -> Path:
        path = self.root / f"{name}.json"
        path.write_text(json.dumps({"Version": "2020-12-01", "Steps": steps}))
        return path

    def job_step(self, name: str, seconds: float, token: str = "-", **extra: Any) -> dict[str, Any]:
        """A Processing step whose script reports as described above for ``seconds``."""
        return {
            "Name": name,
            "Type": "Processing",
            "Arguments": {
                "ProcessingResources": {
                    "ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
                },
                "AppSpecification": {
                    "ImageUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/sklearn:1",
                    "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
                    "ContainerArguments": [str(self.log), token],
                },
                "Environment": {
                    "EXECUTION_ID": {"Get": "Execution.PipelineExecutionId"},
                    "STEP": name,
                    "SECONDS": str(seconds),
                },
                "RoleArn": "arn:aws:iam::000000000000:role/r",
                "ProcessingInputs": [
                    {
                        "InputName": "code",
                        "AppManaged": False,
                        "S3Input": {
                            "S3Uri": f"s3://{BUCKET}/code/job.py",
                            "LocalPath": "/opt/ml/processing/input/code",
                            "S3DataType": "S3Prefix",
                            "S3InputMode": "File",
                        },
                    }
                ],
            },
            **extra,
        }

    def lambda_step(self, name: str, **event: Any) -> dict[str, Any]:
        return {
            "Name": name,
            "Type": "Lambda",
            "FunctionArn": LAMBDA_ARN,
            "Arguments": {"execution": {"Get": "Execution.PipelineExecutionId"}, "step": name, **event},
            "OutputParameters": [{"OutputName": "done", "OutputType": "String"}],
        }


def make_project(root: Path) -> Project:
    (root / "pipelines.toml").write_text(
        'state_dir = "state"\nobject_root = "objects"\n'
        f'[functions]\n"{LAMBDA_ARN}" = "handler.py:handler"\n'
    )
    code = root / "objects" / BUCKET / "code"
    code.mkdir(parents=True)
    (code / "job.py").write_text(JOB)
    (root / "handler.py").write_text(HANDLER)
    return Project(root)


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """A process that exists and is no zombie (an orphan's zombie may wait for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def processes_with(token: str) -> list[int]:
    """Host pids of live processes with ``token`` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if token.encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    """Test clean-up: SIGKILL whatever a failed test left running."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def kill_leftovers(project: Project) -> None:
    """SIGKILL the Lambda processes of ``project`` that still run (host pids from the log, each
    checked to still be one of ours: a Python process whose command line the handler made)."""
    for event in project.events():
        pid = int(event["pid"])
        if event.get("kind") != "lambda" or not alive(pid):
            continue
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"_lambda_host.py" in argv or str(project.log).encode() in argv:
                os.kill(pid, signal.SIGKILL)
