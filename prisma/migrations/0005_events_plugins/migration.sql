-- Event bus: history is filtered by source and paged newest first.
CREATE INDEX idx_event_log_source ON event_log (source);
CREATE INDEX idx_event_log_timestamp_id ON event_log (timestamp DESC, id DESC);

-- Plugins: install/uninstall are workflows, so a plugin is visibly 'installing'/'uninstalling'
-- while its workflow runs; the run's id is kept to find it in the Temporal Web UI.
ALTER TABLE plugins DROP CONSTRAINT plugins_status_check;
ALTER TABLE plugins ADD CONSTRAINT plugins_status_check
  CHECK (status IN ('installing', 'installed', 'enabled', 'disabled', 'uninstalling', 'error'));
ALTER TABLE plugins ADD COLUMN workflow_id TEXT;

-- A subscription is declared once per (pattern, tool).
CREATE UNIQUE INDEX plugin_event_subscriptions_unique ON plugin_event_subscriptions (plugin_id, event_pattern, tool_name);

-- One row per (subscription, event) delivered to a plugin tool: the claim that makes a plugin
-- tool run once per event even when several processes host the subscription, and its outcome.
CREATE TABLE plugin_event_deliveries (
  subscription_id TEXT NOT NULL REFERENCES plugin_event_subscriptions (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
  error TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  PRIMARY KEY (subscription_id, event_id)
);

INSERT INTO table_metadata (table_name, access_level, schema_definition, is_system)
VALUES ('plugin_event_deliveries', 'locked', '[]'::jsonb, TRUE)
ON CONFLICT (table_name) DO NOTHING;
