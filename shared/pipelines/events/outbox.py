"""The transactional outbox: a decision's status events are written in the decision's own
transaction and published after it committed, so a process that dies in between loses none.

Publishing after the store write (as runtimes did) loses the events of a process that dies
between the two: the redelivered event, or the repeated API call, finds the change already
written and has nothing left to announce. Here the events are part of the write:

1. ``Engine(outbox=outbox.record)``: every transition that changes a status carries an
   :class:`~pipelines.store.OutboxRecord` holding its events (:func:`status_events`, each with
   its stable id), inserted in the same SQLite transaction / DynamoDB TransactWriteItems. A
   decision that did not commit leaves no events; one that did always leaves them.
2. After each engine call the runtime calls :meth:`Outbox.publish` with its outcome: the records
   the call committed are published, then deleted, together with the execution's leftovers
   (records an earlier call committed but never saw through: its process died, or its publish
   failed) whose claim is abandoned, oldest version first. So the next engine call for an
   execution (a redelivered event, the next report, a repeated request) sends what an earlier
   one lost.
3. :meth:`Outbox.publish_pending` with no execution sweeps every execution's leftovers: for
   executions that get no further engine call (a lost "Succeeded"). The embedded runtime sweeps
   at ``pipelines serve`` start-up (``resume``) and at each run it starts; the cloud engine
   on its scheduled sweep (every 5 minutes).

Claims: a record names the process that is to publish it (``claimant``) and since when
(``claimed_at``, real time). The committing process holds it from the start; any other process
takes a record over (a compare-and-swap on the claim, so only one does) once the claim is
abandoned: older than ``claim_timeout``, or its claimant is known dead (the embedded runtime
knows when a process on its host is gone, so a restarted server publishes at once). Normally
each event is therefore published exactly once; it is published again only when a publisher
dies (or stalls past ``claim_timeout``) after sending and before deleting the record. Delivery
is at least once, as SageMaker's own events are; consumers drop repeats by the event's stable
``id`` (``detail.eventId`` on EventBridge, which gives every delivery its own envelope id).
Events of one execution are sent in version order within one publish; a leftover published
late may arrive after newer events, so consumers order by the statuses, not by arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipelines.events.details import StatusEvent
from pipelines.events.publisher import StatusPublisher, status_events
from pipelines.store.base import ExecutionRecord, OutboxRecord, StepRecord, Store

if TYPE_CHECKING:
    from pipelines.engine.actions import Outcome, StatusChange

DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=60)
"""How long a claim on unpublished events holds before another process may take them over.
Publishing follows the commit within milliseconds, so a claim this old belongs to a process
that died or hung; the cloud's SQS redelivery and scheduled sweep come later than this anyway."""
SWEEP_LIMIT = 500
"""The most outbox records one publish_pending call takes on (a backlog drains over sweeps)."""


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """One process's side of the outbox over ``store``, sending through ``publisher``.

    ``claimant`` names this process (unique per process: the embedded runtime uses its lease
    owner form ``<host>:<pid>:<nonce>``); ``claimant_dead(claimant)`` says whether another
    claimant is known to be gone, so its records need not wait out ``claim_timeout``."""

    def __init__(
        self,
        store: Store,
        publisher: StatusPublisher,
        *,
        claimant: str,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        claimant_dead: Callable[[str], bool] | None = None,
        now: Callable[[], datetime] = _wall_now,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.claimant = claimant
        self.claim_timeout = claim_timeout
        self.claimant_dead = claimant_dead
        self.now = now

    def record(
        self, changes: Sequence[StatusChange], execution: ExecutionRecord, steps: Mapping[str, StepRecord]
    ) -> OutboxRecord:
        """The outbox record of one transition's changes (the engine's ``outbox`` writer):
        ``execution`` and ``steps`` are the records the transition writes."""
        events = status_events(changes, execution, steps)
        return OutboxRecord(
            execution_id=execution.execution_id,
            version=execution.version,
            claimant=self.claimant,
            claimed_at=self.now(),
            events=[event.envelope() for event in events],
        )

    def publish(self, outcome: Outcome) -> list[StatusEvent]:
        """After an engine call: publish what it committed, with the execution's abandoned
        leftovers (earlier versions, so they go first). Returns the events sent; raises
        PublishFailed (nothing is lost then: the records stay, and are taken over once their
        claim is abandoned)."""
        records = list(outcome.outbox)
        if outcome.execution is not None:
            own = {record.version for record in records}
            records += self._claim_abandoned(outcome.execution.execution_id, skip=own)
        return self._send(sorted(records, key=lambda r: (r.execution_id, r.version)))

    def publish_pending(self, execution_id: str | None = None) -> list[StatusEvent]:
        """Publish the abandoned records of one execution (None: of every execution, a sweep)."""
        return self._send(self._claim_abandoned(execution_id))

    def _claim_abandoned(self, execution_id: str | None, skip: Collection[int] = ()) -> list[OutboxRecord]:
        """The records of one execution (or all) whose claim is abandoned, now claimed by us
        (those another process claimed first are left to it); ``skip``: versions we hold."""
        now = self.now()
        claimed: list[OutboxRecord] = []
        for record in self.store.list_outbox(execution_id, SWEEP_LIMIT):
            if record.version in skip or not self._abandoned(record, now):
                continue
            taken = self.store.claim_outbox(record, self.claimant, now)
            if taken is not None:
                claimed.append(taken)
        return claimed

    def _abandoned(self, record: OutboxRecord, now: datetime) -> bool:
        """Another process's claim known dead, or any claim (ours too: an earlier publish of
        this process failed) older than the timeout."""
        dead = self.claimant_dead is not None and self.claimant_dead(record.claimant)
        return (dead and record.claimant != self.claimant) or now - record.claimed_at >= self.claim_timeout

    def _send(self, records: Sequence[OutboxRecord]) -> list[StatusEvent]:
        events = [StatusEvent.from_envelope(envelope) for record in records for envelope in record.events]
        if events:
            self.publisher.publish(events)
        self.store.delete_outbox(records)
        return events
