"""The engine Lambda: parse the event, hand it to the cloud runtime, shape the answer.

Invoked by the two state machines (step reports, callback registration, pipeline start and
finish) and by the API Lambda (start, stop, retry, update, callbacks); see
``pipelines.runtime.engine_events``. The runtime is built once per container from the
environment (STATE_TABLE, CACHE_TABLE, STEP_RUNNER_ARN, PIPELINE_EXECUTION_ARN,
EVENT_BUS_NAME, PAYLOAD_BUCKET).
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipelines.runtime.cloud import CloudRuntime
from pipelines.runtime.engine_events import handle_event

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_runtime: CloudRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> CloudRuntime:
    """The container's runtime (clients and the execution-state memo outlive invocations)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = CloudRuntime.from_environment()
        return _runtime


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    logger.append_keys(action=action)
    metrics.add_metric(name=f"Engine{action or 'Unknown'}", unit=MetricUnit.Count, value=1)
    engine = runtime()
    with engine.observing():  # MLflow writes of this invocation: bounded, then dropped with a warning
        answer = handle_event(engine, event)
    if "error" in answer:
        logger.info("request rejected", extra={"error": answer["error"]})
    return answer
