-- The transactional outbox: the status-change events of a transition, inserted in the
-- transition's transaction and deleted once published (pipelines.events.outbox). One row per
-- transition that changed a status, keyed by the execution version it wrote. claimant and
-- claimed_at say which process is to publish it, since when: another claims it (a
-- compare-and-swap on both) only once that claim is abandoned. Rows are few and short-lived.
CREATE TABLE outbox (
    execution_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    claimant TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_id, version)
);
