-- Event causation: an event emitted while a tool ran records that call ({ requesterId, idempotencyKey })
-- so trigger cycle guards can follow side-effect events (e.g. resource.created) back to the firing
-- or plan step that caused them, in any process. NULL for events emitted outside a tool call.
ALTER TABLE event_log ADD COLUMN cause JSONB;
