-- What a run was started through (`trigger:<id>` for a trigger's firing, which acts for the
-- trigger's creator, the run's started_by); null for a run started directly (API, CLI) or a run
-- older than this column. Sub-plan runs carry their root run's.
ALTER TABLE plan_runs ADD COLUMN via TEXT;

-- allocate_plan_run (0010) writes it. p_via is last with a default, so a process still running
-- the code from before this migration (nine arguments) keeps starting runs during a rolling upgrade.
DROP FUNCTION allocate_plan_run(TEXT, INTEGER, TEXT, JSONB, TEXT, TEXT, TEXT, BOOLEAN, TEXT[]);
CREATE FUNCTION allocate_plan_run(
  p_plan_id TEXT,
  p_version INTEGER,
  p_run_id_prefix TEXT,
  p_input JSONB,
  p_started_by TEXT,
  p_start_key TEXT,
  p_parent_run_id TEXT,
  p_enforce_limit BOOLEAN,
  p_active_statuses TEXT[],
  p_via TEXT DEFAULT NULL
) RETURNS TABLE (outcome TEXT, run_id TEXT, name TEXT, active INTEGER, max_concurrent_runs INTEGER)
LANGUAGE plpgsql AS $$
DECLARE
  v_version INTEGER;
  v_name TEXT;
  v_max INTEGER;
  v_number INTEGER;
  v_active INTEGER := 0;
BEGIN
  SELECT p.version, p.name, p.max_concurrent_runs, p.run_count + 1 INTO v_version, v_name, v_max, v_number
    FROM plans p WHERE p.id = p_plan_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::TEXT, NULL::TEXT, NULL::TEXT, NULL::INTEGER, NULL::INTEGER;
    RETURN;
  END IF;
  IF v_version <> p_version THEN
    RETURN QUERY SELECT 'stale'::TEXT, NULL::TEXT, v_name, NULL::INTEGER, v_max;
    RETURN;
  END IF;
  IF p_start_key IS NOT NULL AND EXISTS (SELECT 1 FROM plan_runs r WHERE r.start_key = p_start_key) THEN
    RETURN QUERY SELECT 'start_key_taken'::TEXT, NULL::TEXT, v_name, NULL::INTEGER, v_max;
    RETURN;
  END IF;
  IF p_enforce_limit THEN
    SELECT count(*)::INTEGER INTO v_active FROM plan_runs r
      WHERE r.plan_id = p_plan_id AND r.status = ANY(p_active_statuses) AND r.parent_run_id IS NULL;
    IF v_active >= v_max THEN
      RETURN QUERY SELECT 'run_limit'::TEXT, NULL::TEXT, v_name, v_active, v_max;
      RETURN;
    END IF;
  END IF;
  UPDATE plans SET run_count = v_number WHERE id = p_plan_id;
  INSERT INTO plan_runs (id, plan_id, run_number, version, status, input, started_by, start_key, parent_run_id, via)
    VALUES (p_run_id_prefix || v_number, p_plan_id, v_number, v_version, 'pending', p_input, p_started_by, p_start_key, p_parent_run_id, p_via);
  RETURN QUERY SELECT 'ok'::TEXT, p_run_id_prefix || v_number, v_name, v_active, v_max;
END;
$$;

-- Only the application (the owner) starts runs: not PUBLIC, so not the restricted role user SQL runs as.
REVOKE ALL ON FUNCTION allocate_plan_run(TEXT, INTEGER, TEXT, JSONB, TEXT, TEXT, TEXT, BOOLEAN, TEXT[], TEXT) FROM PUBLIC;
