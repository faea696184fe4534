"""``pipelines serve`` under a long stream of requests keeps its open files flat.

Requests are served on threads and every execution has threads of its own (its driver and
step pool); the store used to open a SQLite connection (the database plus its WAL: two files)
per thread and keep it, so a server died of "Too many open files" after a few hundred requests
or executions. The load is cheap reads plus an execution started every 50th request (a Fail
step: the engine alone runs it). The server is a real process; its descriptors are counted
from /proc.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pipelines.testing import ServeProcess

REQUESTS = 10_000
CLIENTS = 4
SAMPLES = 10
START_EVERY = 50  # one StartPipelineExecution per this many requests of a client
# What may legitimately come and go under this load: the store's pooled connections (at most
# 4 readers + 1 writer, three files each: database, WAL, shared memory) and each client's socket
# in flight. A leak moves the count by two per request: thousands here.
SLACK = 5 * 3 + CLIENTS * 2 + 8

DEFINITION = json.dumps(
    {
        "Version": "2020-12-01",
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
    }
)


def test_open_files_stay_flat_over_ten_thousand_requests(tmp_path: Path) -> None:
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    with ServeProcess(tmp_path) as server:
        status, created = server.call(
            "CreatePipeline",
            {
                "PipelineName": "soak",
                "PipelineDefinition": DEFINITION,
                "RoleArn": "arn:aws:iam::000000000000:role/r",
                "ClientRequestToken": "soak-create-0001-soak-create-0001",
            },
        )
        assert status == 200, created
        # the same mix of cheap reads the load uses, so every pool is warm before counting
        operations = [
            ("DescribePipeline", {"PipelineName": "soak"}),
            ("ListPipelines", {}),
            ("ListPipelineExecutions", {"PipelineName": "soak"}),
        ]
        start = ("StartPipelineExecution", {"PipelineName": "soak"})
        for index in range(60):
            server.call(*(start if index % 20 == 0 else operations[index % len(operations)]))
        baseline = server.open_files()

        failures: list[tuple[int, dict[str, object]]] = []
        counts: list[int] = []
        done = 0
        lock = threading.Lock()

        def client(worker: int) -> None:
            nonlocal done
            for index in range(REQUESTS // CLIENTS):
                operation = (
                    start if index % START_EVERY == START_EVERY - 1 else operations[(index + worker) % 3]
                )
                status, body = server.call(*operation)
                with lock:
                    if status != 200:
                        failures.append((status, body))
                    done += 1
                    if done % (REQUESTS // SAMPLES) == 0:
                        counts.append(server.open_files())

        threads = [threading.Thread(target=client, args=(worker,)) for worker in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert done == REQUESTS
        assert failures[:3] == []
        assert len(counts) == SAMPLES
        assert max(counts) - baseline <= SLACK, f"open files grew from {baseline}: {counts}"
        assert counts[-1] - baseline <= SLACK, f"open files grew from {baseline}: {counts}"
