-- The embedded store's first schema. Every record is a JSON body; the columns beside it are
-- only what queries filter, order or compare-and-swap on.

CREATE TABLE pipelines (
    name        TEXT PRIMARY KEY,
    name_lower  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX pipelines_by_created ON pipelines (created_at, name);
CREATE INDEX pipelines_by_name_lower ON pipelines (name_lower);

CREATE TABLE pipeline_versions (
    pipeline_name TEXT NOT NULL,
    version_id    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (pipeline_name, version_id)
);

CREATE TABLE executions (
    execution_id  TEXT PRIMARY KEY,
    pipeline_name TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    version       INTEGER NOT NULL,
    definition    TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX executions_by_pipeline ON executions (pipeline_name, created_at, execution_id);
CREATE INDEX executions_by_created ON executions (created_at, execution_id);
CREATE INDEX executions_by_status ON executions (status);

CREATE TABLE steps (
    execution_id TEXT NOT NULL,
    step_name    TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (execution_id, step_name)
);

CREATE TABLE cache_entries (
    pipeline_name TEXT NOT NULL,
    cache_key     TEXT NOT NULL,
    completed_at  TEXT NOT NULL,
    execution_id  TEXT NOT NULL,
    step_name     TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (pipeline_name, cache_key, completed_at, execution_id, step_name)
);

CREATE TABLE callback_tokens (
    token        TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    body         TEXT NOT NULL
);

CREATE TABLE experiments (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE trials (
    name            TEXT PRIMARY KEY,
    experiment_name TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    body            TEXT NOT NULL
);
CREATE INDEX trials_by_experiment ON trials (experiment_name, created_at, name);

CREATE TABLE trial_components (
    name       TEXT PRIMARY KEY,
    trial_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX trial_components_by_trial ON trial_components (trial_name, created_at, name);

CREATE TABLE idempotency (
    token      TEXT NOT NULL,
    operation  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (token, operation)
);

CREATE TABLE leases (
    execution_id TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
