-- Steps that share a StartTime (cache hits, a batch started in one decision) list in the order
-- the engine started them: start_order is store.base.step_listing_key, "<started_at>#<sequence>".
-- Rows written before sequences existed get sequence 0, so their ties still fall back to names.

ALTER TABLE steps ADD COLUMN start_order TEXT NOT NULL DEFAULT '';
UPDATE steps SET start_order = started_at || '#0000000000';
CREATE INDEX steps_by_start_order ON steps (execution_id, start_order, step_name);
