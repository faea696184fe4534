"""Execution and step status-change events, with SageMaker's detail-types and detail shapes.

Public API (``from pipelines.events import ...``)::

    SOURCE = "selfhosted.sagemaker.pipelines"        # our events' source (SageMaker's: aws.sagemaker)
    EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE       # SageMaker's two detail-types
    MODEL_PACKAGE_STATE_CHANGE, model_package_event(record, updated_fields, account, region, time)
        # UpdateModelPackage (approval) announces the registry change as SageMaker does

    StatusPublisher (Protocol): publish(events: Sequence[StatusEvent]) -> None   # raises PublishFailed
      EventBridgePublisher(bus_name, events_client)  # cloud: PutEvents on the custom bus
      JsonLinesPublisher(path) / .for_config(config)  # embedded: <state_dir>/events/status-changes.jsonl

    Outbox(store, publisher, *, claimant, claim_timeout=60 s, claimant_dead=None, reported=None)
      .record(changes, execution, steps) -> OutboxRecord   # Engine(outbox=...): events in the transaction
      .publish(outcome) -> list[StatusEvent]     # after every engine call: its events, then leftovers
      .publish_pending(execution_id | None)      # leftovers of one execution / every one (a sweep)
      # holding (``reported``: the cloud): a launching decision's events stay until a report settles them
      .settles_for(execution_id, attempts) / .settling(execution_id, versions)   # around that decision
      .before_start(execution_id, step, attempt)  # before starting a launched attempt
      .settle(execution_id)                       # after a call's starts
    status_events(changes, execution, steps) -> list[StatusEvent]   # one per change, stable ids
    change_id(execution, index) -> str           # the stable id of a transition's index-th change
    StatusEvent(detail_type, detail, resources, account, region, time, source, event_id)
      .envelope(event_id=None) -> dict           # the event as a rule target receives it
      StatusEvent.from_envelope(dict)
    read_events(path) -> list[dict]                   # what a JsonLinesPublisher wrote

The contract (a transactional outbox, events/outbox.py): the events of an engine decision are
written in the decision's own transaction (``Transition.outbox``), so an event exists exactly
when its change was committed: never for a change that was not, and never lost for one that was,
whatever process dies when. Runtimes publish them after the commit (``Outbox.publish``) and then
delete them (the cloud runtime leaves those of a decision that launched StepRunners for the
decision on one of their reports to remove in its own transaction: a report proves they went
out, since nothing starts a launched step before its decision's events are published); events
still pending (the process died between commit and publish, or the publish
failed) are published by the next engine call for that execution and by the runtime's sweeps
(embedded: ``pipelines serve`` start-up and each run; cloud: the scheduled sweep).

Delivery is at least once: normally exactly once, again only when a publisher dies after sending
and before deleting (as SageMaker's own events may repeat: "SageMaker AI may send multiple events
... for each state change"). Every status event carries a stable id per change (UUID of the
execution ARN, the version its transition wrote and the change's index): the envelope ``id``
in the embedded JSON-lines file and ``detail.eventId`` everywhere (EventBridge assigns its own
envelope id per delivery), so consumers dedupe on ``detail.eventId``.
"""

from pipelines.events.details import (
    DETAIL_TYPES,
    EXECUTION_STATUS_CHANGE,
    MODEL_PACKAGE_STATE_CHANGE,
    SOURCE,
    STEP_STATUS_CHANGE,
    StatusEvent,
    change_id,
    event_time,
    execution_event,
    model_package_event,
    step_event,
)
from pipelines.events.errors import PublishFailed
from pipelines.events.eventbridge import EventBridgePublisher
from pipelines.events.local import JsonLinesPublisher, events_path, read_events
from pipelines.events.outbox import DEFAULT_CLAIM_TIMEOUT, Outbox
from pipelines.events.publisher import StatusPublisher, status_events

__all__ = [
    "DEFAULT_CLAIM_TIMEOUT",
    "DETAIL_TYPES",
    "EXECUTION_STATUS_CHANGE",
    "MODEL_PACKAGE_STATE_CHANGE",
    "SOURCE",
    "STEP_STATUS_CHANGE",
    "EventBridgePublisher",
    "JsonLinesPublisher",
    "Outbox",
    "PublishFailed",
    "StatusEvent",
    "StatusPublisher",
    "change_id",
    "event_time",
    "events_path",
    "execution_event",
    "model_package_event",
    "read_events",
    "status_events",
    "step_event",
]
