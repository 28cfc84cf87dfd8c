import pg from 'pg';
import { stackInfo } from './stack-info';

/**
 * A PostgreSQL login role of its own, for a bus that stands for "another process" whose
 * listener a test can take down and keep down: `deafen(pid)` forbids new logins of the role
 * and terminates that backend (the process then cannot reconnect), `restore()` lets it back in.
 */
export interface DeafenableRole {
  /** Connection string of the role (same database as the stack). */
  url: string;
  deafen(listenerPid: number): Promise<void>;
  restore(): Promise<void>;
  /** Drops the role; close every bus using it first. */
  drop(): Promise<void>;
}

/** Creates the role with the rights a bus needs (event_log). */
export async function createDeafenableRole(): Promise<DeafenableRole> {
  const admin = new pg.Client({ connectionString: stackInfo().databaseUrl });
  await admin.connect();
  const role = `deaf_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const password = `pw${Math.floor(Math.random() * 1e9)}`;
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`GRANT SELECT, INSERT ON event_log TO ${role}`);
  const url = new URL(stackInfo().databaseUrl);
  url.username = role;
  url.password = password;
  return {
    url: url.toString(),
    async deafen(listenerPid) {
      await admin.query(`ALTER ROLE ${role} NOLOGIN`);
      const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [listenerPid]);
      if (!rows[0]?.ok) throw new Error(`backend ${listenerPid} was not terminated`);
    },
    async restore() {
      await admin.query(`ALTER ROLE ${role} LOGIN`);
    },
    async drop() {
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    },
  };
}
