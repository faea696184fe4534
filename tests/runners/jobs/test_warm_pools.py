"""Warm starts: a job forked from an interpreter that imported the preload modules already is
still a job of its own, isolated exactly as a cold one (module state, environment, cwd, open
files, signals, namespaces), dies with its driver, and falls back to a cold start when a
warm one cannot be faithful."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import WarmPoolOptions
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext
from pipelines.runners.jobs import JobStopped, ProcessingRunner
from pipelines.runners.processes import identify, survivors

from .helpers import BUCKET, processing_arguments, put_script, request, s3_output

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="warm starts need root (else jobs start cold)")

# json is not imported by a fresh interpreter's start-up: seeing it loaded before the script
# imports it proves the job was forked warm.
PRELOAD = ["json", "decimal"]

PROBE = textwrap.dedent(
    """
    import os, signal, sys
    warm = "json" in sys.modules
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))  # before the script opens anything
    import decimal, json, random
    leaked = getattr(json, "LEAK", None)
    json.LEAK = sys.argv[1]  # module state a later job must not see
    decimal.getcontext().prec = 3
    os.environ["SET_BY_JOB"] = sys.argv[1]
    kept_open = open("/opt/ml/processing/out/unclosed.txt", "w")
    kept_open.write("flushed at exit")  # never closed: the interpreter's exit flushes it
    report = {
        "warm": warm,
        "leaked": leaked,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "argv": sys.argv,
        "path0": sys.path[0],
        "env_only_a": os.environ.get("ONLY_A"),
        "env_set_by_job": None,
        "child_env_only_a": os.popen("printenv ONLY_A").read().strip(),
        "fds": fds,
        "sigterm": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
        "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        "sigchld": signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
        "mask": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "precision": None,
        "random": random.random(),
        "ml": sorted(os.listdir("/opt/ml/processing")),
        "main": __name__,
        "cmdline": [a for a in open("/proc/self/cmdline", "rb").read().decode().split("\\0") if a],
    }
    os.chdir("/")  # must not move the next job
    with open("/opt/ml/processing/out/report.json", "w") as handle:
        json.dump(report, handle)
    """
)


def _warm_ctx(ctx: RunContext, **options: Any) -> RunContext:
    warm = WarmPoolOptions(preload=PRELOAD, **options)
    return replace(ctx, config=ctx.config.model_copy(update={"warm_pools": warm}))


def _run_probe(
    ctx: RunContext, objects: LocalObjectStore, tag: str, environment: dict[str, str] | None = None
) -> dict[str, Any]:
    code = put_script(objects, f"code-{tag}/script.py", PROBE)
    arguments = processing_arguments(
        code,
        arguments=[tag],
        outputs=[s3_output("out", f"s3://{BUCKET}/out-{tag}", "/opt/ml/processing/out")],
    )
    if environment:
        arguments["Environment"] = environment
    ProcessingRunner().run(request("Processing", arguments, job_name=f"warm-{tag}"), ctx)
    assert objects.get(f"s3://{BUCKET}/out-{tag}/unclosed.txt") == b"flushed at exit"
    return json.loads(objects.get(f"s3://{BUCKET}/out-{tag}/report.json"))


def test_jobs_start_warm_and_share_nothing(job_ctx: RunContext, objects: LocalObjectStore, log: Any) -> None:
    ctx = _warm_ctx(job_ctx)
    first = _run_probe(ctx, objects, "a", {"ONLY_A": "1"})
    second = _run_probe(ctx, objects, "b")

    assert "warm start" in log.text
    for report, tag in ((first, "a"), (second, "b")):
        assert report["warm"] is True
        assert report["argv"] == ["/opt/ml/processing/input/code/script.py", tag]
        assert report["path0"] == "/opt/ml/processing/input/code"
        assert report["main"] == "__main__"
        assert report["cmdline"][1:] == ["/opt/ml/processing/input/code/script.py", tag]  # as ps shows it
        assert report["cwd"] == "/opt/ml/.workdir"  # the first job's chdir did not carry over
        assert report["fds"] == [0, 1, 2, 3]  # 3: the listing itself; nothing of the server
        assert report["sigterm"] and report["sigint"] and report["sigchld"] and report["mask"] == []
        assert report["ml"] == ["input", "out"]  # its own /opt/ml
        assert report["pid"] < 10  # its own PID namespace
    # module state, environment and random state stay with the job that made them
    assert first["leaked"] is None and second["leaked"] is None
    assert first["env_only_a"] == "1" and first["child_env_only_a"] == "1"
    assert second["env_only_a"] is None and second["child_env_only_a"] == ""
    assert first["random"] != second["random"]


def test_numpy_random_state_is_not_shared(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    ctx = replace(
        job_ctx,
        config=job_ctx.config.model_copy(update={"warm_pools": WarmPoolOptions(preload=["numpy.random"])}),
    )
    script = textwrap.dedent(
        """
        import sys, numpy
        with open("/opt/ml/processing/out/draw.txt", "w") as handle:
            handle.write(repr(float(numpy.random.rand())))
        """
    )
    draws = []
    for tag in ("x", "y"):
        code = put_script(objects, f"code-np-{tag}/script.py", script)
        arguments = processing_arguments(
            code, outputs=[s3_output("out", f"s3://{BUCKET}/np-{tag}", "/opt/ml/processing/out")]
        )
        ProcessingRunner().run(request("Processing", arguments, job_name=f"np-{tag}"), ctx)
        draws.append(objects.get(f"s3://{BUCKET}/np-{tag}/draw.txt"))
    assert draws[0] != draws[1]


SLEEPER = textwrap.dedent(
    """
    import os, signal, sys, time
    started, record = sys.argv[1], sys.argv[2]
    def on_term(signum, frame):
        with open(record, "w") as handle:
            handle.write("sigterm")
        sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    open(started, "w").close()
    time.sleep(300)
    """
)


def test_stop_sends_sigterm_to_the_warm_job_and_records_its_session(
    job_ctx: RunContext, objects: LocalObjectStore, tmp_path: Path
) -> None:
    started, record = tmp_path / "started", tmp_path / "record"
    code = put_script(objects, "code-stop/script.py", SLEEPER)
    seen: list[int] = []
    alive: list[bool] = []
    ctx = replace(_warm_ctx(job_ctx), cancel=threading.Event(), on_process=seen.append)

    def stop_when_started() -> None:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        identity = identify(seen[0]) if seen else None
        alive.append(identity is not None and len(survivors(identity)) >= 3)  # session, init, job
        ctx.cancel.set()

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    with pytest.raises(JobStopped):
        ProcessingRunner().run(
            request(
                "Processing",
                processing_arguments(code, arguments=[str(started), str(record)]),
                job_name="warm-stop",
            ),
            ctx,
        )
    stopper.join()
    assert alive == [True]
    assert record.read_text() == "sigterm"


DRIVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from pipelines.config import Config, WarmPoolOptions
    from pipelines.objects import LocalObjectStore
    from pipelines.runners.base import RunContext
    from pipelines.runners.jobs import ProcessingRunner
    from tests.runners.jobs.helpers import processing_arguments, put_script, request
    root = Path(sys.argv[3])
    config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root,
                    warm_pools=WarmPoolOptions(preload=["json"]))
    objects = LocalObjectStore(config.object_root)
    code = put_script(objects, "code/script.py", Path(sys.argv[4]).read_text())
    arguments = processing_arguments(code, arguments=[sys.argv[5], sys.argv[6]])
    ProcessingRunner().run(request("Processing", arguments, job_name="orphan"), RunContext(config=config, objects=objects))
    """
)

PID_WRITER = textwrap.dedent(
    """
    import os, sys, time
    with open(sys.argv[1], "w") as handle:
        handle.write(open("/proc/self/stat").read().split()[0] + " " + sys.argv[2])
    time.sleep(300)
    """
)


def test_a_warm_job_dies_with_its_driver(tmp_path: Path) -> None:
    repository = Path(__file__).resolve().parents[3]
    script, pid_file = tmp_path / "job.py", tmp_path / "pid"
    script.write_text(PID_WRITER)
    token = f"warm-orphan-{os.getpid()}"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            str(repository / "shared"),
            str(repository),
            str(tmp_path / "root"),
            str(script),
            str(pid_file),
            token,
        ]
    )
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and time.monotonic() < deadline:
            assert driver.poll() is None, "the driver ended before the job started"
            time.sleep(0.05)
        assert pid_file.exists()
        assert _running_with_argument(token)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 30
        while _running_with_argument(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _running_with_argument(token) == []
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def _running_with_argument(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if token.encode() in argv:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("options", "environment", "reason"),
    [
        ({"enabled": False}, None, "cold start: warm pools are off in the config"),
        ({"exclude": ["*sklearn*"]}, None, "is excluded from warm pools in the config"),
        (
            {},
            {"PYTHONHASHSEED": "0"},
            "the job sets PYTHONHASHSEED, which only a new interpreter can take on",
        ),
    ],
    ids=["disabled", "excluded image", "interpreter variable"],
)
def test_jobs_start_cold_when_a_warm_start_would_not_be_faithful(
    job_ctx: RunContext,
    objects: LocalObjectStore,
    log: Any,
    options: dict[str, Any],
    environment: dict[str, str] | None,
    reason: str,
) -> None:
    report = _run_probe(_warm_ctx(job_ctx, **options), objects, "cold", environment)
    assert report["warm"] is False
    assert reason in log.text
    assert report["fds"] == [0, 1, 2, 3] and report["cwd"] == "/opt/ml/.workdir"


def test_a_jobs_own_code_on_its_python_path_shares_the_images_interpreter() -> None:
    from pipelines.runners.jobs.warm import import_time_environment

    # a training job's code channel (/opt/ml/code) exists only inside its namespace
    assert import_time_environment({"PYTHONPATH": "/opt/ml/code", "HOME": "/root"}) == ()
    assert import_time_environment(
        {"PYTHONPATH": "/opt/ml/code:/usr/local/lib/team", "OMP_NUM_THREADS": "2"}
    ) == (
        ("OMP_NUM_THREADS", "2"),
        ("PYTHONPATH", "/usr/local/lib/team"),
    )
    assert import_time_environment({"PYTHONPATH": "/opt/mlx"}) == (("PYTHONPATH", "/opt/mlx"),)


def test_a_kept_alive_interpreter_serves_later_processes_then_ends_when_idle(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    from pipelines.runners.jobs.warm import POOLS, WarmInterpreter

    ctx = _warm_ctx(job_ctx, keep_alive_seconds=2)
    POOLS.close()
    first = _run_probe(ctx, objects, "k1")
    [kept] = POOLS._interpreters.values()
    POOLS.close()  # the driver process ends; a kept-alive interpreter does not
    second = _run_probe(ctx, objects, "k2")  # as a later process: it attaches to the same one
    [attached] = POOLS._interpreters.values()
    POOLS.close()
    assert first["warm"] and second["warm"]
    assert attached.pid == kept.pid and attached.address == kept.address
    assert first["leaked"] is None and second["leaked"] is None  # still a fresh fork per job
    assert os.stat(Path(kept.address).parent).st_mode & 0o777 == 0o700
    deadline = time.monotonic() + 30
    while Path(kept.address).exists() or _alive(kept.pid):  # polled without connecting, which is use
        assert time.monotonic() < deadline, "the kept-alive interpreter did not end after 2 s idle"
        time.sleep(0.2)
    assert WarmInterpreter.attach(kept.address) is None


def _alive(pid: int) -> bool:
    """Running, not exited (an exited child of this process stays a zombie until reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
