-- Retention deletes plugin delivery claims by age (event-log-retention.ts): without this index
-- every hourly pass scans the whole table.
CREATE INDEX IF NOT EXISTS idx_plugin_event_deliveries_created_at ON plugin_event_deliveries (created_at);
