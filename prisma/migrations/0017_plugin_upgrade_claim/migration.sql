-- An upgrade's claim remembers what it took over, so that a claim whose workflow never started
-- (the API died between the two) can be given back instead of holding the plugin forever.
ALTER TABLE plugins ADD COLUMN upgrade_from_status TEXT
  CHECK (upgrade_from_status IN ('installed', 'enabled', 'disabled'));
ALTER TABLE plugins ADD COLUMN upgrade_from_workflow_id TEXT;
