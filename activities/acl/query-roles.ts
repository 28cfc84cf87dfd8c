import { createHash } from 'node:crypto';
import type { Privilege } from './acl-schemas';

/** The role admin statements run as (migration 0003): SELECT on locked tables, DML on every ACL-created table. */
export const ADMIN_QUERY_ROLE = 'ownpilot_sql';

/** The PostgreSQL privileges behind each ACL privilege. */
export const PRIVILEGE_SQL: Record<Privilege, string> = { read: 'SELECT', write: 'INSERT, UPDATE', delete: 'DELETE' };

/**
 * The PostgreSQL role a principal's statements run as: `ownpilot_sql` for admin, otherwise a
 * role of its own (`ownpilot_p_` + 24 hex digits of the principal's SHA-256) holding only the
 * privileges on the tables it owns or was granted. Hex only, so safe to splice into SQL.
 */
export function queryRoleOf(principal: string): string {
  if (principal === 'admin') return ADMIN_QUERY_ROLE;
  return `ownpilot_p_${createHash('sha256').update(principal).digest('hex').slice(0, 24)}`;
}

/**
 * SQL creating `role` (NOLOGIN, nothing granted) if missing and letting the session user SET ROLE
 * to it. Roles are cluster-wide: a concurrent creation from another database is tolerated.
 */
export function ensureRoleSql(role: string): string {
  if (!/^ownpilot_[a-z0-9_]+$/.test(role)) throw new Error(`not a query role: ${role}`);
  return `DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
    BEGIN
      CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT pg_has_role(current_user, '${role}', 'MEMBER') THEN -- always true for a superuser
    BEGIN
      EXECUTE format('GRANT %I TO %I', '${role}', current_user);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$$`;
}
