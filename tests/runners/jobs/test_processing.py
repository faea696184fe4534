"""Processing jobs run as local processes with a private /opt/ml (runner.run called directly)."""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext
from pipelines.runners.jobs import (
    AlgorithmError,
    InputNotFound,
    JobRequestError,
    JobStopped,
    MaxRuntimeExceeded,
    ProcessingRunner,
)

from .helpers import BUCKET, processing_arguments, put_script, request, s3_input, s3_output, shape_problems

EVALUATE = """
import json, pathlib, sys
rows = [float(line.split(",")[0]) for line in open("/opt/ml/processing/test/test.csv")]
mse = sum(r * r for r in rows) / len(rows)
out = pathlib.Path("/opt/ml/processing/evaluation")
(out / "evaluation.json").write_text(json.dumps({"regression_metrics": {"mse": {"value": mse}}}))
print("mse", mse, "args", sys.argv[1:])
"""


def test_processing_job_reads_inputs_writes_outputs_and_describes_itself(
    job_ctx: RunContext, objects: LocalObjectStore, log: object
) -> None:
    code = put_script(objects, "code/script.py", EVALUATE)
    objects.put(f"s3://{BUCKET}/data/test/test.csv", b"1,0\n3,0\n")
    arguments = processing_arguments(
        code,
        inputs=[s3_input("test", f"s3://{BUCKET}/data/test", "/opt/ml/processing/test")],
        outputs=[
            s3_output("evaluation", f"s3://{BUCKET}/eval", "/opt/ml/processing/evaluation", mode="Continuous")
        ],
        arguments=["--threshold", "0.5"],
    )
    step = request(
        "Processing",
        arguments,
        name="Evaluate",
        job_name="Pipelines-Exec-Evaluate-AbC-0",
        PropertyFiles=[
            {
                "PropertyFileName": "EvaluationReport",
                "OutputName": "evaluation",
                "FilePath": "evaluation.json",
            }
        ],
    )
    result = ProcessingRunner().run(step, job_ctx)

    report = json.loads(objects.get(f"s3://{BUCKET}/eval/evaluation.json"))
    assert report == {"regression_metrics": {"mse": {"value": 5.0}}}
    props = result.properties
    arn = "arn:aws:sagemaker:us-east-1:000000000000:processing-job/pipelines-exec-evaluate-abc-0"
    assert props["ProcessingJobArn"] == arn
    assert result.metadata == {"ProcessingJob": {"Arn": arn}}
    assert props["ProcessingJobStatus"] == "Completed"
    assert props["ProcessingJobName"] == "Pipelines-Exec-Evaluate-AbC-0"
    assert props["ProcessingOutputConfig"] == arguments["ProcessingOutputConfig"]
    assert props["ProcessingInputs"] == arguments["ProcessingInputs"]
    assert props["ProcessingStartTime"] <= props["ProcessingEndTime"]
    assert shape_problems("DescribeProcessingJob", props) == []
    text = log.text  # type: ignore[attr-defined]
    assert "interpreter: image 123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1 ->" in text
    assert "mse 5.0 args ['--threshold', '0.5']" in text
    assert "S3UploadMode Continuous is uploaded at the end of the job" in text


def test_config_files_and_manifest_inputs(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    objects.put(f"s3://{BUCKET}/raw/a/one.csv", b"1")
    objects.put(f"s3://{BUCKET}/raw/b/two.csv", b"2")
    objects.put(f"s3://{BUCKET}/raw/c/skip.csv", b"3")
    manifest = [{"prefix": f"s3://{BUCKET}/raw/"}, "a/one.csv", "b/two.csv"]
    objects.put(f"s3://{BUCKET}/manifest.json", json.dumps(manifest).encode())
    code = put_script(
        objects,
        "code/script.py",
        """
import json, os, pathlib
found = sorted(str(p.relative_to("/opt/ml/processing/raw")) for p in pathlib.Path("/opt/ml/processing/raw").rglob("*") if p.is_file())
config = json.load(open("/opt/ml/config/processingjobconfig.json"))
resources = json.load(open("/opt/ml/config/resourceconfig.json"))
pathlib.Path("/opt/ml/processing/out/seen.json").write_text(json.dumps(
    {"found": found, "job": config["ProcessingJobName"], "host": resources["current_host"], "env": os.environ["MY_SETTING"]}))
""",
    )
    arguments = processing_arguments(
        code,
        inputs=[s3_input("raw", f"s3://{BUCKET}/manifest.json", "/opt/ml/processing/raw", "ManifestFile")],
        outputs=[s3_output("out", f"s3://{BUCKET}/out", "/opt/ml/processing/out")],
    )
    arguments["Environment"] = {"MY_SETTING": "on"}
    ProcessingRunner().run(request("Processing", arguments, job_name="manifest-job"), job_ctx)
    seen = json.loads(objects.get(f"s3://{BUCKET}/out/seen.json"))
    assert seen == {"found": ["a/one.csv", "b/two.csv"], "job": "manifest-job", "host": "algo-1", "env": "on"}


RENDEZVOUS = """
import os, pathlib, sys, time
me, meeting = sys.argv[1], pathlib.Path(sys.argv[2])
pathlib.Path("/opt/ml/processing/output/who.txt").write_text(me)
(meeting / me).touch()
deadline = time.time() + 30
while len(list(meeting.iterdir())) < 2:   # both jobs are running now
    if time.time() > deadline:
        sys.exit("the other job never started")
    time.sleep(0.02)
seen = sorted(os.listdir("/opt/ml/processing/output")) + sorted(os.listdir("/opt/ml/processing/input/data"))
pathlib.Path("/opt/ml/processing/output/who.txt").write_text(me + " " + open("/opt/ml/processing/input/data/in.txt").read() + " " + ",".join(seen))
"""


def test_two_jobs_with_the_same_hard_coded_paths_do_not_see_each_other(
    job_ctx: RunContext, objects: LocalObjectStore, tmp_path: Path
) -> None:
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    code = put_script(objects, "code/script.py", RENDEZVOUS)

    def run(who: str) -> None:
        objects.put(f"s3://{BUCKET}/{who}/in.txt", who.upper().encode())
        arguments = processing_arguments(
            code,
            inputs=[s3_input("data", f"s3://{BUCKET}/{who}/in.txt", "/opt/ml/processing/input/data")],
            outputs=[s3_output("out", f"s3://{BUCKET}/results/{who}", "/opt/ml/processing/output")],
            arguments=[who, str(meeting)],
        )
        ProcessingRunner().run(request("Processing", arguments, name=who, job_name=f"job-{who}"), job_ctx)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, ["alpha", "beta"]))
    assert objects.get(f"s3://{BUCKET}/results/alpha/who.txt") == b"alpha ALPHA who.txt,in.txt"
    assert objects.get(f"s3://{BUCKET}/results/beta/who.txt") == b"beta BETA who.txt,in.txt"
    assert str(Path(job_ctx.config.state_dir)) not in Path("/proc/self/mountinfo").read_text()
    assert not (Path(job_ctx.config.state_dir) / "jobs" / "job-alpha" / "opt").exists()
    assert (Path(job_ctx.config.state_dir) / "jobs" / "job-alpha" / "job.log").is_file()


def test_non_zero_exit_fails_with_the_step_job_and_stderr_tail(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    code = put_script(
        objects,
        "code/script.py",
        "import sys\nprint('working')\nprint('bad row 17', file=sys.stderr)\nsys.exit(3)\n",
    )
    with pytest.raises(AlgorithmError) as failure:
        ProcessingRunner().run(
            request("Processing", processing_arguments(code), name="Prep", job_name="prep-1"), job_ctx
        )
    reason = str(failure.value)
    assert reason.startswith("step Prep (processing job prep-1): ClientError: AlgorithmError: exit code: 3")
    assert "bad row 17" in reason
    assert failure.value.error_code == "AlgorithmError"
    assert failure.value.metadata == {
        "ProcessingJob": {"Arn": "arn:aws:sagemaker:us-east-1:000000000000:processing-job/prep-1"}
    }


def test_failure_file_text_is_the_reason(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    code = put_script(
        objects,
        "code/script.py",
        "open('/opt/ml/output/failure', 'w').write('ValueError: column y is empty')\nraise SystemExit(1)\n",
    )
    with pytest.raises(AlgorithmError, match="AlgorithmError: ValueError: column y is empty, exit code: 1"):
        ProcessingRunner().run(request("Processing", processing_arguments(code)), job_ctx)


def test_missing_input_object_and_missing_script_are_named(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    code = put_script(objects, "code/script.py", "print('never')\n")
    missing_input = processing_arguments(
        code, inputs=[s3_input("data", f"s3://{BUCKET}/nothing/here", "/opt/ml/processing/input/data")]
    )
    with pytest.raises(
        InputNotFound, match=rf"input 'data': no objects found under s3://{BUCKET}/nothing/here"
    ):
        ProcessingRunner().run(request("Processing", missing_input), job_ctx)

    no_script = processing_arguments(code)
    no_script["AppSpecification"]["ContainerEntrypoint"] = [
        "python3",
        "/opt/ml/processing/input/code/other.py",
    ]
    with pytest.raises(
        JobRequestError, match=r"script /opt/ml/processing/input/code/other.py does not exist"
    ):
        ProcessingRunner().run(request("Processing", no_script), job_ctx)

    outside = processing_arguments(code, inputs=[s3_input("data", code, "/tmp/elsewhere")])
    with pytest.raises(JobRequestError, match=r"local path '/tmp/elsewhere' must be below /opt/ml"):
        ProcessingRunner().run(request("Processing", outside), job_ctx)


HANG = """
import subprocess, sys, time
child = subprocess.Popen(["sleep", sys.argv[2]], start_new_session=True)   # escapes the process group
open(sys.argv[1], "w").write("started")
time.sleep(300)
"""


def _running_with_argument(token: str) -> list[int]:
    """Host PIDs of live processes with ``token`` in their command line (jobs see other PIDs)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in argv and state != "Z":
            found.append(int(proc.name))
    return found


def test_max_runtime_kills_the_job_and_everything_it_started(
    job_ctx: RunContext, objects: LocalObjectStore, tmp_path: Path
) -> None:
    started = tmp_path / "started"
    token = f"{300 + (os.getpid() % 1000) / 1000 + 0.0001:.4f}"
    code = put_script(objects, "code/script.py", HANG)
    arguments = processing_arguments(code, arguments=[str(started), token], max_runtime=1)
    with pytest.raises(MaxRuntimeExceeded, match=r"MaxRuntimeExceeded: .*MaxRuntimeInSeconds \(1 s\)"):
        ProcessingRunner().run(request("Processing", arguments, name="Hang", job_name="hang-1"), job_ctx)
    assert started.exists()
    assert _running_with_argument(token) == []


def test_cancel_stops_the_running_job(job_ctx: RunContext, objects: LocalObjectStore, tmp_path: Path) -> None:
    started = tmp_path / "started"
    token = f"{300 + (os.getpid() % 1000) / 1000 + 0.0002:.4f}"
    code = put_script(objects, "code/script.py", HANG)
    ctx = replace(job_ctx, cancel=threading.Event())

    def stop_when_started() -> None:
        for _ in range(600):
            if started.exists():
                break
            threading.Event().wait(0.05)
        ctx.cancel.set()

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    with pytest.raises(JobStopped) as failure:
        ProcessingRunner().run(
            request("Processing", processing_arguments(code, arguments=[str(started), token])), ctx
        )
    stopper.join()
    assert failure.value.error_code == "JobStopped"
    assert _running_with_argument(token) == []


def test_check_names_what_cannot_run_locally(config: object) -> None:
    runner = ProcessingRunner()
    built_in = processing_arguments("s3://b/c", image="382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1")
    del built_in["AppSpecification"]["ContainerEntrypoint"]
    reason = runner.check(request("Processing", built_in, name="Cluster").step, config)  # type: ignore[arg-type]
    assert reason is not None and "built-in algorithm image 'kmeans'" in reason and "[images]" in reason

    athena = processing_arguments(
        "s3://b/c", inputs=[{"InputName": "q", "DatasetDefinition": {"AthenaDatasetDefinition": {}}}]
    )
    reason = runner.check(request("Processing", athena, name="Query").step, config)  # type: ignore[arg-type]
    assert reason is not None and "DatasetDefinition" in reason

    fine = processing_arguments("s3://b/c")
    assert runner.check(request("Processing", fine).step, config) is None  # type: ignore[arg-type]


def test_mapped_interpreter_is_used_and_logged(
    job_ctx: RunContext, objects: LocalObjectStore, tmp_path: Path
) -> None:
    wrapper = tmp_path / "bin" / "my-python"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexport VIA_WRAPPER=yes\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    ctx = replace(
        job_ctx, config=job_ctx.config.model_copy(update={"images": {"*sklearn*": "bin/my-python"}})
    )
    code = put_script(
        objects,
        "code/script.py",
        "import os, shutil\nopen('/opt/ml/processing/out/via.txt','w').write(os.environ.get('VIA_WRAPPER','no') + ' ' + shutil.which('my-python'))\n",
    )
    arguments = processing_arguments(
        code, outputs=[s3_output("out", f"s3://{BUCKET}/via", "/opt/ml/processing/out")]
    )
    ProcessingRunner().run(request("Processing", arguments), ctx)
    assert objects.get(f"s3://{BUCKET}/via/via.txt") == f"yes {wrapper}".encode()
    assert f"-> {wrapper} (config [images])" in job_ctx.log.text  # type: ignore[attr-defined]


def test_network_isolation_leaves_only_loopback(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    code = put_script(
        objects,
        "code/script.py",
        "names = sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:])\n"
        "open('/opt/ml/processing/out/net.txt', 'w').write(','.join(names))\n",
    )
    for isolated in (True, False):
        arguments = processing_arguments(
            code, outputs=[s3_output("out", f"s3://{BUCKET}/net/{isolated}", "/opt/ml/processing/out")]
        )
        arguments["NetworkConfig"] = {"EnableNetworkIsolation": isolated}
        ProcessingRunner().run(request("Processing", arguments, job_name=f"net-{isolated}"), job_ctx)
    assert objects.get(f"s3://{BUCKET}/net/True/net.txt") == b"lo"
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    host_interfaces = ",".join(sorted(line.split(":")[0].strip() for line in lines))
    assert host_interfaces != "lo"
    assert objects.get(f"s3://{BUCKET}/net/False/net.txt") == host_interfaces.encode()


def test_pipe_mode_is_refused_clearly(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    code = put_script(objects, "code/script.py", "print('never')\n")
    arguments = processing_arguments(code, inputs=[s3_input("data", code, "/opt/ml/processing/input/data")])
    arguments["ProcessingInputs"][0]["S3Input"]["S3InputMode"] = "Pipe"
    with pytest.raises(
        JobRequestError, match=r"input 'data' uses S3InputMode Pipe, which is not supported locally"
    ):
        ProcessingRunner().run(request("Processing", arguments), job_ctx)
