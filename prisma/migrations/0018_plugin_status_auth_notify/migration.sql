-- A plugin's key acts only while the plugin is enabled, and API processes cache that with the key.
-- Every change of a plugin's status (by the API or a workflow's activity, in any process) is
-- announced on the key channel, so that every API process forgets what it cached at once.
CREATE FUNCTION ownpilot_plugin_status_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ownpilot_auth', 'plugin:' || COALESCE(NEW.id, OLD.id));
  RETURN NULL;
END $$;
CREATE TRIGGER plugins_status_auth_notify AFTER INSERT OR DELETE OR UPDATE OF status ON plugins
  FOR EACH ROW EXECUTE FUNCTION ownpilot_plugin_status_notify();
