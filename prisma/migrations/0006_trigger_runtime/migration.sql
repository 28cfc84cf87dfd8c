-- Trigger service runtime state: webhook secrets (encrypted at rest), webhook delivery ids
-- (replay protection, kept for the signature tolerance window) and condition-trigger edge state.

CREATE TABLE trigger_webhook_secrets (
  trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
  -- AES-256-GCM ciphertext "v1.<iv>.<tag>.<ciphertext>" (base64url); the key never enters the database.
  secret_ciphertext TEXT NOT NULL,
  rotated_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);

CREATE TABLE trigger_webhook_deliveries (
  trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
  delivery_id TEXT NOT NULL,
  received_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  PRIMARY KEY (trigger_id, delivery_id)
);
CREATE INDEX trigger_webhook_deliveries_received_at_idx ON trigger_webhook_deliveries (received_at);

CREATE TABLE trigger_condition_state (
  trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
  last_value BOOLEAN NOT NULL DEFAULT FALSE,
  last_checked_at TIMESTAMPTZ(3),
  last_fired_at TIMESTAMPTZ(3),
  -- The check (workflow id) that fired last: a retried check answers the same way.
  last_fired_check TEXT,
  last_error TEXT
);

INSERT INTO table_metadata (table_name, access_level, schema_definition, is_system)
SELECT t, 'locked', '[]'::jsonb, TRUE
FROM unnest(ARRAY['trigger_webhook_secrets', 'trigger_webhook_deliveries', 'trigger_condition_state']) AS t;
