-- Plan runtime: history ordered by the workflow's own sequence, run state snapshots, sub-plan parents.
ALTER TABLE plan_history ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
CREATE INDEX plan_history_run_id_sequence_idx ON plan_history (run_id, sequence);

ALTER TABLE plan_runs ADD COLUMN state JSONB;
ALTER TABLE plan_runs ADD COLUMN parent_run_id TEXT;
CREATE INDEX plan_runs_plan_id_status_idx ON plan_runs (plan_id, status);
