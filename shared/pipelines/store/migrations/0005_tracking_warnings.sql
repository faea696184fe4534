-- Dropped MLflow writes of an execution (pipelines.tracking.notices), shown by `pipelines steps`.
-- Appended only, read per execution in the order written.
CREATE TABLE tracking_warnings (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX tracking_warnings_by_execution ON tracking_warnings (execution_id, seq);
