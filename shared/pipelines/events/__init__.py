"""Execution and step status-change events, with SageMaker's detail-types and detail shapes.

Public API (``from pipelines.events import ...``)::

    SOURCE = "selfhosted.sagemaker.pipelines"        # our events' source (SageMaker's: aws.sagemaker)
    EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE       # SageMaker's two detail-types
    MODEL_PACKAGE_STATE_CHANGE, model_package_event(record, updated_fields, account, region, time)
        # UpdateModelPackage (approval) announces the registry change as SageMaker does

    StatusPublisher (Protocol): publish(events: Sequence[StatusEvent]) -> None   # raises PublishFailed
      EventBridgePublisher(bus_name, events_client)  # cloud: PutEvents on the custom bus
      JsonLinesPublisher(path) / .for_config(config)  # embedded: <state_dir>/events/status-changes.jsonl

    publish_outcome(publisher, outcome: Outcome) -> list[StatusEvent]
        # call after every engine call whose outcome was written: one event per StatusChange
    status_events(changes, execution, steps) -> list[StatusEvent]
    StatusEvent(detail_type, detail, resources, account, region, time, source).envelope(event_id)
        # the event as a rule target receives it
    read_events(path) -> list[dict]                   # what a JsonLinesPublisher wrote

Runtimes call ``publish_outcome`` after the store write that made the changes succeeded, so an
event never announces a change that was not recorded. A publish that fails raises; the cloud
engine's invocation is then retried (a change may be announced twice, as SageMaker's own
EventBridge events may be: "SageMaker AI may send multiple events ... for each state change").
"""

from pipelines.events.details import (
    DETAIL_TYPES,
    EXECUTION_STATUS_CHANGE,
    MODEL_PACKAGE_STATE_CHANGE,
    SOURCE,
    STEP_STATUS_CHANGE,
    StatusEvent,
    event_time,
    execution_event,
    model_package_event,
    step_event,
)
from pipelines.events.errors import PublishFailed
from pipelines.events.eventbridge import EventBridgePublisher
from pipelines.events.local import JsonLinesPublisher, events_path, read_events
from pipelines.events.publisher import StatusPublisher, publish_outcome, status_events

__all__ = [
    "DETAIL_TYPES",
    "EXECUTION_STATUS_CHANGE",
    "MODEL_PACKAGE_STATE_CHANGE",
    "SOURCE",
    "STEP_STATUS_CHANGE",
    "EventBridgePublisher",
    "JsonLinesPublisher",
    "PublishFailed",
    "StatusEvent",
    "StatusPublisher",
    "event_time",
    "events_path",
    "execution_event",
    "model_package_event",
    "publish_outcome",
    "read_events",
    "status_events",
    "step_event",
]
