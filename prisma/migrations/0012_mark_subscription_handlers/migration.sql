-- Plugin tools a plugin subscribes to events are its subscription handlers: only that plugin and
-- admin may run them. Installs since this change mark them in the stored definition; mark those
-- installed before it from their recorded subscriptions.
UPDATE tool_registry t
SET definition = t.definition || '{"subscriptionHandler": true}'::jsonb, updated_at = NOW()
FROM plugin_event_subscriptions s
WHERE t.source = 'plugin' AND t.source_id = s.plugin_id AND t.name = s.tool_name;
