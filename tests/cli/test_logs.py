"""``pipelines logs``: a running job's lines followed from another process, then every job's log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .helpers import BackgroundRun, pipelines, wait_for

TICKS = "import time\nfor i in range(4):\n    print(f'tick {i}', flush=True)\n    time.sleep(0.5)\n"
HELLO = "print('hello from the second job', flush=True)\n"


def processing(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "local/python",
                "ContainerEntrypoint": ["python3", "-c", script],
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            "RoleArn": "arn:aws:iam::000000000000:role/r",
        },
        **extra,
    }


def test_follow_prints_lines_as_they_come_then_each_jobs_log(tmp_path: Path) -> None:
    (tmp_path / "pipelines.toml").write_text('state_dir = ".pipelines"\n')
    definition = {
        "Version": "2020-12-01",
        "Metadata": {"PipelineName": "ticking"},
        "Steps": [processing("Tick", TICKS), processing("Hello", HELLO, DependsOn=["Tick"])],
    }
    (tmp_path / "pipeline.json").write_text(json.dumps(definition))
    with BackgroundRun("pipeline.json", cwd=tmp_path) as run:
        state = tmp_path / ".pipelines" / "jobs"
        wait_for(lambda: state.is_dir() and any(state.glob("*/job.log")), what="the first job's log")
        followed = pipelines(tmp_path, "logs", "latest", "--follow")  # returns once the run has ended
        document = run.document(exit_code=0)
    assert document["Execution"]["PipelineName"] == "ticking"  # the definition's Metadata names it
    assert followed.returncode == 0, followed.stderr
    lines = followed.stdout.splitlines()
    messages = [line.split(" | ", 1)[1] for line in lines]
    assert messages[:4] == ["tick 0", "tick 1", "tick 2", "tick 3"]
    assert messages[-1] == "hello from the second job"
    assert all(line.split(" ", 2)[1] in ("Tick", "Hello") for line in lines)

    one = pipelines(tmp_path, "logs", "latest", "Hello")
    assert [line.split(" ", 1)[1] for line in one.stdout.splitlines()] == ["hello from the second job"]
    missing = pipelines(tmp_path, "logs", "latest", "Nope")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no step 'Nope'" in missing.stderr
