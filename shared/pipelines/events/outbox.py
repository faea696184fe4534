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

Holding (``reported``, the cloud runtime, where removing published events is a billed write):
a decision that launches steps whose outcome comes back as a report (``reported(step)``: a
StepRunner's, not a Callback's answer through the API) records them in its record
(``launched``). Its publisher
does not remove the record after publishing when it then starts one of them itself: the decision
on a report of any of them removes it in its own transaction (``settling``), which it writes
anyway. A report proves the events went out, because nothing starts a launched attempt before
its record is published: the publisher starts them only after a successful publish (a failed
one drops the hold first: the record is then taken over as usual), and any other starter (a
redelivery, the sweep's re-drive, a queued Launch) calls :meth:`Outbox.before_start`, which
publishes and removes a held record it did not publish itself. A held record is never taken
over by age while its execution is active (the store lists ``launched`` only then); one left
when the execution ended (no report of it was decided) is taken over as any other, which may
publish it again: at least once. A record whose launches this process does not start itself
(a wide launch queued for later, a step run in the engine) is removed by :meth:`Outbox.settle`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pipelines.events.details import StatusEvent
from pipelines.events.errors import PublishFailed
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
MAX_HELD_LAUNCHES = 10
"""A decision launching more StepRunners than this is not held (its record names them all)."""
_LAUNCHED = frozenset({"Starting", "Executing"})


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
        reported: Callable[[StepRecord], bool] | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.claimant = claimant
        self.claim_timeout = claim_timeout
        self.claimant_dead = claimant_dead
        self.now = now
        self.reported = reported
        """Whether a launched step's outcome comes back as a report whose decision settles the
        launching decision's record (None: records are never held)."""
        self._lock = threading.Lock()
        self._settling: dict[str, list[int]] = {}
        self._held: dict[str, list[OutboxRecord]] = {}  # published by us, removal deferred
        self._started: set[tuple[str, int]] = set()  # (execution, version) of held records we started

    def record(
        self, changes: Sequence[StatusChange], execution: ExecutionRecord, steps: Mapping[str, StepRecord]
    ) -> OutboxRecord:
        """The outbox record of one transition's changes (the engine's ``outbox`` writer):
        ``execution`` and ``steps`` are the records the transition writes."""
        events = status_events(changes, execution, steps)
        launched: list[tuple[str, int]] = []
        if self.reported is not None:
            launched = sorted(
                {
                    (c.step_name, steps[c.step_name].attempt)
                    for c in changes
                    if c.step_name is not None
                    and c.new_status in _LAUNCHED
                    and c.step_name in steps
                    and self.reported(steps[c.step_name])
                }
            )
            if len(launched) > MAX_HELD_LAUNCHES:
                launched = []
        with self._lock:
            settles = list(self._settling.get(execution.execution_id, ()))
        return OutboxRecord(
            execution_id=execution.execution_id,
            version=execution.version,
            claimant=self.claimant,
            claimed_at=self.now(),
            events=[event.envelope() for event in events],
            launched=launched,
            settles=settles,
        )

    @contextmanager
    def settling(self, execution_id: str, versions: Collection[int]) -> Iterator[None]:
        """Within it, the engine's transitions of ``execution_id`` remove the held records of
        ``versions``: the caller decides reports of attempts they launched (see the module)."""
        with self._lock:
            self._settling[execution_id] = sorted(versions)
        try:
            yield
        finally:
            with self._lock:
                self._settling.pop(execution_id, None)

    def settles_for(self, execution_id: str, attempts: Collection[tuple[str, int]]) -> list[int]:
        """The versions of the execution's held records that launched one of ``attempts``
        (reported attempts: their reports' decision may remove those records)."""
        wanted = set(attempts)
        return [
            r.version for r in self.store.list_outbox(execution_id) if wanted & set(map(tuple, r.launched))
        ]

    def before_start(self, execution_id: str, step_name: str, attempt: int) -> None:
        """Call before starting a launched attempt: a held record that launched it must be
        published first. One this process published (and holds) is noted as started; one it
        did not (its publisher died, or a redelivery or queued launch starts the attempt) is
        published and removed here."""
        launch = (step_name, attempt)
        with self._lock:
            for record in self._held.get(execution_id, []):
                if launch in record.launched:
                    self._started.add((execution_id, record.version))
                    return
        for record in self.store.list_outbox(execution_id):
            if launch not in record.launched:
                continue
            taken = self.store.claim_outbox(record, self.claimant, self.now())
            try:
                if taken is not None:
                    self._send([taken])
                elif any(
                    r.version == record.version and r.launched for r in self.store.list_outbox(execution_id)
                ):
                    # another starter claimed it and may yet fail: publish it too (at least once)
                    self.publisher.publish([StatusEvent.from_envelope(e) for e in record.events])
            except PublishFailed:
                if taken is not None:
                    self._release([taken])  # raises if even that fails: then nothing may start

    def settle(self, execution_id: str) -> None:
        """After the starts of a call: remove the records this process published and held whose
        launches it started none of (nothing else would remove them)."""
        with self._lock:
            held = self._held.pop(execution_id, [])
            started = {v for e, v in self._started if e == execution_id}
            self._started = {(e, v) for e, v in self._started if e != execution_id}
        self.store.delete_outbox([r for r in held if r.version not in started])

    def publish(self, outcome: Outcome) -> list[StatusEvent]:
        """After an engine call: publish what it committed, with the execution's abandoned
        leftovers (earlier versions, so they go first). Returns the events sent; raises
        PublishFailed (nothing is lost then: the records stay, and are taken over once their
        claim is abandoned)."""
        records = list(outcome.outbox)
        if outcome.execution is not None:
            own = {record.version for record in records}
            records += self._claim_abandoned(outcome.execution.execution_id, skip=own)
        held = [r for r in outcome.outbox if r.launched]
        try:
            return self._send(sorted(records, key=lambda r: (r.execution_id, r.version)), keep=held)
        except Exception:
            self._release(held)  # not published: nothing may settle them on a report
            raise

    def publish_pending(self, execution_id: str | None = None) -> list[StatusEvent]:
        """Publish the abandoned records of one execution (None: of every execution, a sweep)."""
        return self._send(self._claim_abandoned(execution_id))

    def _claim_abandoned(self, execution_id: str | None, skip: Collection[int] = ()) -> list[OutboxRecord]:
        """The records of one execution (or all) whose claim is abandoned, now claimed by us
        (those another process claimed first are left to it); ``skip``: versions we hold."""
        now = self.now()
        claimed: list[OutboxRecord] = []
        for record in self.store.list_outbox(execution_id, SWEEP_LIMIT, skip=skip):
            if not self._abandoned(record, now):
                continue
            taken = self.store.claim_outbox(record, self.claimant, now)
            if taken is not None:
                claimed.append(taken)
        return claimed

    def _abandoned(self, record: OutboxRecord, now: datetime) -> bool:
        """Not held, and another process's claim known dead, or any claim (ours too: an earlier
        publish of this process failed) older than the timeout."""
        if record.launched:
            return False  # its launches' reports settle it (before_start published it first)
        dead = self.claimant_dead is not None and self.claimant_dead(record.claimant)
        return (dead and record.claimant != self.claimant) or now - record.claimed_at >= self.claim_timeout

    def _send(self, records: Sequence[OutboxRecord], keep: Sequence[OutboxRecord] = ()) -> list[StatusEvent]:
        """Publish ``records``, then remove them, except ``keep`` (held: settled later)."""
        events = [StatusEvent.from_envelope(envelope) for record in records for envelope in record.events]
        if events:
            self.publisher.publish(events)
        kept = {(r.execution_id, r.version) for r in keep}
        self.store.delete_outbox([r for r in records if (r.execution_id, r.version) not in kept])
        if keep:
            with self._lock:
                for record in keep:
                    self._held.setdefault(record.execution_id, []).append(record)
        return events

    def _release(self, records: Sequence[OutboxRecord]) -> None:
        """Drop the hold of records that were not published (a claim keeping its time, so they
        are taken over once it is abandoned, as any other)."""
        for record in records:
            if record.launched:
                unheld = record.model_copy(update={"launched": []})
                self.store.claim_outbox(unheld, record.claimant, record.claimed_at)
