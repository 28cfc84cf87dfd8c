-- Event audience: the principals (besides admin) who may read an event, e.g. a plan run's readers
-- for its plan.* events, which carry step outputs. NULL: the event type's own rule applies.
ALTER TABLE event_log ADD COLUMN audience TEXT[];
