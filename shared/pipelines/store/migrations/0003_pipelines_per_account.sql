-- Pipeline names are per account, as in the service: pipelines are keyed by their ARN (which
-- holds the account, the region and the lower-cased name), and everything that pointed at a
-- pipeline by name alone (versions, the execution listing, cache entries) points at its ARN.
-- Two old rows of one account whose names differed only in case shared an ARN already; the
-- older keeps it (the newer one's executions stay listed under that ARN).

CREATE TABLE pipelines_by_arn (
    arn         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_lower  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL
);
INSERT OR IGNORE INTO pipelines_by_arn (arn, name, name_lower, created_at, version, body)
    SELECT lower(json_extract(body, '$.arn')), name, name_lower, created_at, version, body
    FROM pipelines ORDER BY created_at, name;

CREATE TABLE pipeline_versions_by_arn (
    pipeline_arn  TEXT NOT NULL,
    version_id    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (pipeline_arn, version_id)
);
INSERT OR IGNORE INTO pipeline_versions_by_arn (pipeline_arn, version_id, created_at, body)
    SELECT lower(json_extract(p.body, '$.arn')), v.version_id, v.created_at,
           json_set(v.body, '$.pipeline_arn', lower(json_extract(p.body, '$.arn')))
    FROM pipeline_versions v JOIN pipelines p ON p.name = v.pipeline_name;

DROP TABLE pipeline_versions;
ALTER TABLE pipeline_versions_by_arn RENAME TO pipeline_versions;
DROP TABLE pipelines;
ALTER TABLE pipelines_by_arn RENAME TO pipelines;
CREATE INDEX pipelines_by_created ON pipelines (created_at, arn);
CREATE INDEX pipelines_by_name_lower ON pipelines (name_lower);

ALTER TABLE executions ADD COLUMN pipeline_arn TEXT NOT NULL DEFAULT '';
UPDATE executions SET pipeline_arn = lower(json_extract(body, '$.pipeline_arn'));
DROP INDEX executions_by_pipeline;
CREATE INDEX executions_by_pipeline ON executions (pipeline_arn, created_at, execution_id);

CREATE TABLE cache_entries_by_arn (
    pipeline_arn  TEXT NOT NULL,
    cache_key     TEXT NOT NULL,
    completed_at  TEXT NOT NULL,
    execution_id  TEXT NOT NULL,
    step_name     TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (pipeline_arn, cache_key, completed_at, execution_id, step_name)
);
INSERT OR IGNORE INTO cache_entries_by_arn (pipeline_arn, cache_key, completed_at, execution_id, step_name, body)
    SELECT lower(json_extract(e.body, '$.pipeline_arn')), c.cache_key, c.completed_at, c.execution_id,
           c.step_name, json_set(c.body, '$.pipeline_arn', lower(json_extract(e.body, '$.pipeline_arn')))
    FROM cache_entries c JOIN executions e ON e.execution_id = c.execution_id;
DROP TABLE cache_entries;
ALTER TABLE cache_entries_by_arn RENAME TO cache_entries;
