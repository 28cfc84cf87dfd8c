-- Database ACL: explicit grants, the audit trail, and the restricted role user SQL runs as.

-- A grant lets one principal read (or, on user tables, write/delete) a table it does not own.
CREATE TABLE table_grants (
  table_name TEXT NOT NULL REFERENCES table_metadata (table_name) ON DELETE CASCADE,
  grantee TEXT NOT NULL,
  privilege TEXT NOT NULL CHECK (privilege IN ('read', 'write', 'delete')),
  granted_by TEXT NOT NULL,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW(),
  PRIMARY KEY (table_name, grantee, privilege)
);

-- Every ACL decision worth keeping: denials, table creation/removal, grants and executed writes.
CREATE TABLE acl_audit (
  id TEXT PRIMARY KEY,
  requester_id TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
  table_names TEXT[] NOT NULL DEFAULT '{}',
  statement TEXT,
  reason TEXT,
  created_at TIMESTAMPTZ(3) NOT NULL DEFAULT NOW()
);
CREATE INDEX acl_audit_requester_id_created_at_idx ON acl_audit (requester_id, created_at);
CREATE INDEX acl_audit_created_at_idx ON acl_audit (created_at);

INSERT INTO table_metadata (table_name, access_level, schema_definition, is_system)
VALUES ('table_grants', 'locked', '[]'::jsonb, TRUE), ('acl_audit', 'locked', '[]'::jsonb, TRUE)
ON CONFLICT (table_name) DO NOTHING;

-- Admin statements that passed validateQuery run as this role (SET LOCAL ROLE): no superuser
-- powers, no file or network functions, SELECT only on locked tables (never api_keys), and
-- DML only on the tables the ACL creates. Other principals get a role of their own at run time
-- (ownpilot_p_<hash>) with only their tables and grants. Roles are cluster-wide: IF NOT EXISTS.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ownpilot_sql') THEN
    CREATE ROLE ownpilot_sql NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another database on this cluster created it concurrently
END
$$;
DO $$
DECLARE t TEXT;
BEGIN
  EXECUTE format('GRANT ownpilot_sql TO %I', current_user);
  REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ownpilot_sql;
  FOR t IN
    SELECT m.table_name FROM table_metadata m JOIN pg_tables p ON p.tablename = m.table_name AND p.schemaname = 'public'
    WHERE m.access_level = 'locked' AND m.table_name NOT IN ('api_keys', 'schema_migrations')
  LOOP
    EXECUTE format('GRANT SELECT ON %I TO ownpilot_sql', t);
  END LOOP;
END
$$;
