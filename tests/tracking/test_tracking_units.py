"""What is logged (pure content), where it goes, and the bounded background worker."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.store.base import ExecutionRecord, MlflowBinding, StepRecord
from pipelines.tracking.content import execution_run, run_status, step_run
from pipelines.tracking.destinations import default_tracking_uri, embedded_tracking_uri
from pipelines.tracking.worker import BackgroundWorker, Task

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abc"


def execution(**fields: object) -> ExecutionRecord:
    base: dict[str, object] = {
        "execution_id": "abc",
        "execution_arn": ARN,
        "pipeline_name": "p",
        "pipeline_arn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p",
        "definition": "{}",
        "created_at": T0,
        "modified_at": T0,
        "mlflow": MlflowBinding(resource_arn="arn:x", experiment_name="e", run_name="r"),
    }
    return ExecutionRecord.model_validate({**base, **fields})


def step(**fields: object) -> StepRecord:
    base: dict[str, object] = {"execution_id": "abc", "step_name": "S", "step_type": "Processing"}
    return StepRecord.model_validate({**base, **fields})


def test_parameters_become_params_as_strings_and_statuses_map() -> None:
    run = execution_run(
        execution(parameters={"Flag": True, "N": 3, "Rate": 0.5, "Uri": "s3://b/k"}, status="Stopped")
    )
    assert run.params == {"Flag": "true", "N": "3", "Rate": "0.5", "Uri": "s3://b/k"}
    assert run.status == "KILLED" and run.name == "r"
    assert [run_status(s) for s in ("Succeeded", "CompletedWithFailures", "Failed", "Executing")] == [
        "FINISHED",
        "FINISHED",
        "FAILED",
        "RUNNING",
    ]


def test_training_metrics_outputs_duration_and_cache_hit() -> None:
    training = step(
        step_type="Training",
        status="Succeeded",
        attempt=2,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=90),
        properties={"FinalMetricDataList": [{"MetricName": "rmse", "Value": 0.25, "Timestamp": 0}]},
        cache_hit_source_arn="arn:source",
    )
    run = step_run(ARN, training)
    assert run.metrics == {"rmse": 0.25, "duration_seconds": 90.0}
    assert run.name == "S (attempt 2)"
    assert run.tags["pipelines.cache_hit"] == "true" and run.tags["pipelines.attempt"] == "2"
    lam = step(step_type="Lambda", metadata={"Lambda": {"OutputParameters": [{"Name": "x", "Value": 1}]}})
    assert step_run(ARN, lam).params == {"output.x": "1"}
    condition = step(step_type="Condition", attempt=0, metadata={"Condition": {"Outcome": "False"}})
    assert step_run(ARN, condition).params == {"outcome": "False"}
    assert step_run(ARN, condition).name == "S (reused)"


def test_tracking_uri_exact_then_glob_then_the_local_default(tmp_path: Path) -> None:
    mapping = {"arn:a:*": "http://glob", "arn:a:exact": "http://exact"}
    assert embedded_tracking_uri("arn:a:exact", mapping, tmp_path) == "http://exact"
    assert embedded_tracking_uri("arn:a:other", mapping, tmp_path) == "http://glob"
    assert embedded_tracking_uri("arn:b", mapping, tmp_path) == default_tracking_uri(tmp_path)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_the_worker_retries_then_drops_and_stops_retrying_a_failing_destination() -> None:
    dropped: list[tuple[str, str]] = []
    calls: list[str] = []
    worker = BackgroundWorker(
        "t", lambda task, reason: dropped.append((task.what, reason)), backoff_seconds=0.01
    )

    def failing(name: str) -> Task:
        def work() -> None:
            calls.append(name)
            raise ConnectionError("refused")

        return Task("e", None, name, work)

    worker.submit(failing("first"))
    worker.submit(failing("second"))
    worker.close(5.0)
    assert calls == ["first", "first", "first", "second"]  # three tries, then one while failing
    assert dropped == [("first", "ConnectionError: refused"), ("second", "ConnectionError: refused")]
    assert worker.healthy is False


def test_the_worker_is_bounded_and_closing_drops_what_is_left() -> None:
    dropped: list[str] = []
    release = threading.Event()
    worker = BackgroundWorker("t", lambda task, reason: dropped.append(reason), capacity=2)
    worker.submit(Task("e", None, "blocking", lambda: release.wait(10) and None))
    deadline = time.monotonic() + 5
    while worker._queue.qsize() and time.monotonic() < deadline:  # the blocking task was taken
        time.sleep(0.01)
    assert worker.submit(Task("e", None, "queued-1", lambda: None))
    assert worker.submit(Task("e", None, "queued-2", lambda: None))
    assert not worker.submit(Task("e", None, "overflow", lambda: None))
    assert dropped == ["too many tracking writes are waiting (the server is slow or down)"]
    started = time.monotonic()
    worker.close(0.2)
    assert time.monotonic() - started < 5
    assert dropped[1:] == ["not written within 0.2 s of the process ending"] * 2
    release.set()
