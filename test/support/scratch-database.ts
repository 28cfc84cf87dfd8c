import pg from 'pg';
import { migrate } from '../../prisma/migrate';
import { stackInfo } from './stack-info';

/** A fresh, fully migrated database on the run's PostgreSQL server, for tests that need an empty one. */
export async function migratedScratchDatabase(prefix: string): Promise<string> {
  const url = new URL(stackInfo().databaseUrl);
  const name = `${prefix}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
  url.pathname = `/${name}`;
  await migrate(url.toString());
  return url.toString();
}
