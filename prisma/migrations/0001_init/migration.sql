-- Initial schema: every table of the seed plus plan runs/versions/checkpoints and API keys.

-- Tool registry (locked system table)
CREATE TABLE tool_registry (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL CHECK (source IN ('builtin', 'custom', 'plugin')),
  source_id TEXT,
  category TEXT NOT NULL,
  definition JSONB NOT NULL,
  is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
  is_locked BOOLEAN NOT NULL DEFAULT FALSE,
  requires_approval BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX tool_registry_source_source_id_idx ON tool_registry (source, source_id);

-- User-created custom tools
CREATE TABLE custom_tools (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  code TEXT NOT NULL,
  parameters JSONB,
  requires_approval BOOLEAN NOT NULL DEFAULT TRUE,
  is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  UNIQUE (user_id, name)
);

-- Table access control
CREATE TABLE table_metadata (
  table_name TEXT PRIMARY KEY,
  access_level TEXT NOT NULL CHECK (access_level IN ('locked', 'protected', 'user')),
  owner_id TEXT,
  schema_definition JSONB NOT NULL,
  is_system BOOLEAN NOT NULL DEFAULT FALSE,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);

-- Event audit log
CREATE TABLE event_log (
  id TEXT PRIMARY KEY,
  event_type TEXT NOT NULL,
  category TEXT NOT NULL,
  source TEXT NOT NULL,
  data JSONB,
  timestamp TIMESTAMPTZ(3) NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_event_log_type ON event_log (event_type);
CREATE INDEX idx_event_log_category ON event_log (category);
CREATE INDEX idx_event_log_timestamp ON event_log (timestamp);

-- Plugins
CREATE TABLE plugins (
  id TEXT PRIMARY KEY,
  manifest JSONB NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('installed', 'enabled', 'disabled', 'error')),
  config JSONB NOT NULL DEFAULT '{}',
  error_message TEXT,
  installed_at TIMESTAMPTZ(3) NOT NULL,
  updated_at TIMESTAMPTZ(3) NOT NULL
);

CREATE TABLE plugin_storage (
  plugin_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value JSONB NOT NULL,
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  PRIMARY KEY (plugin_id, key)
);

CREATE TABLE plugin_event_subscriptions (
  id TEXT PRIMARY KEY,
  plugin_id TEXT NOT NULL REFERENCES plugins (id) ON DELETE CASCADE,
  event_pattern TEXT NOT NULL,
  tool_name TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX plugin_event_subscriptions_plugin_id_idx ON plugin_event_subscriptions (plugin_id);

-- Triggers
CREATE TABLE triggers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT,
  type TEXT NOT NULL CHECK (type IN ('schedule', 'event', 'condition', 'webhook')),
  config JSONB NOT NULL,
  action JSONB NOT NULL,
  is_enabled BOOLEAN NOT NULL DEFAULT TRUE,
  created_by TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);

CREATE TABLE trigger_history (
  id TEXT PRIMARY KEY,
  trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
  fired_at TIMESTAMPTZ(3) NOT NULL,
  trigger_type TEXT NOT NULL,
  payload_digest TEXT,
  status TEXT NOT NULL,
  error TEXT,
  duration_ms INTEGER,
  workflow_id TEXT NOT NULL,
  plan_workflow_id TEXT
);
CREATE INDEX trigger_history_trigger_id_fired_at_idx ON trigger_history (trigger_id, fired_at);

-- Plans
CREATE TABLE plans (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT,
  goal TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  definition JSONB NOT NULL,
  max_concurrent_runs INTEGER NOT NULL DEFAULT 10,
  run_count INTEGER NOT NULL DEFAULT 0,
  created_by TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);

CREATE TABLE plan_versions (
  plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  definition JSONB NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  PRIMARY KEY (plan_id, version)
);

CREATE TABLE plan_steps (
  plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  step_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  name TEXT,
  kind TEXT NOT NULL,
  config JSONB NOT NULL,
  depends_on TEXT[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (plan_id, step_id)
);

CREATE TABLE plan_runs (
  id TEXT PRIMARY KEY,
  plan_id TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  run_number INTEGER NOT NULL,
  version INTEGER NOT NULL,
  status TEXT NOT NULL,
  input JSONB,
  output JSONB,
  error TEXT,
  started_by TEXT,
  start_key TEXT UNIQUE,
  started_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  finished_at TIMESTAMPTZ(3),
  UNIQUE (plan_id, run_number)
);

CREATE TABLE plan_history (
  id TEXT PRIMARY KEY,
  plan_id TEXT NOT NULL,
  run_id TEXT NOT NULL REFERENCES plan_runs (id) ON DELETE CASCADE,
  step_id TEXT,
  event TEXT NOT NULL,
  status TEXT NOT NULL,
  details JSONB,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX plan_history_plan_id_created_at_idx ON plan_history (plan_id, created_at);
CREATE INDEX plan_history_run_id_created_at_idx ON plan_history (run_id, created_at);

CREATE TABLE plan_checkpoints (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES plan_runs (id) ON DELETE CASCADE,
  name TEXT,
  position INTEGER NOT NULL,
  outputs JSONB NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX plan_checkpoints_run_id_position_idx ON plan_checkpoints (run_id, position);

-- API keys (hashed at rest)
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  principal TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  last_used_at TIMESTAMPTZ(3),
  revoked_at TIMESTAMPTZ(3)
);

-- The seed's system tables, plus this project's own, are locked.
INSERT INTO table_metadata (table_name, access_level, schema_definition, is_system)
SELECT t, 'locked', '[]'::jsonb, TRUE
FROM unnest(ARRAY[
  'conversations', 'messages', 'agents', 'tasks', 'notes', 'bookmarks', 'contacts',
  'calendar_events', 'memories', 'goals', 'triggers', 'plans', 'plugins', 'custom_tools',
  'channels', 'costs', 'settings',
  'tool_registry', 'table_metadata', 'event_log', 'plugin_storage',
  'plugin_event_subscriptions', 'trigger_history', 'plan_steps', 'plan_history',
  'plan_versions', 'plan_runs', 'plan_checkpoints', 'api_keys', 'schema_migrations'
]) AS t;
