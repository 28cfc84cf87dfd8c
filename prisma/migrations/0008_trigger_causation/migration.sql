-- Trigger cycle guard: every firing records the triggers whose firings caused it (oldest first).
-- A firing whose trigger is already in its chain, or whose chain is too deep, is recorded as
-- 'skipped' with the reason in `error` and takes no action.
ALTER TABLE trigger_history ADD COLUMN causation_chain TEXT[] NOT NULL DEFAULT '{}';
