import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, MigrationChecksumError } from '../prisma/migrate';
import { stackInfo } from './support/stack-info';

/** A fresh database on the run's server, so these tests see the runner from zero. */
async function scratchDatabase(): Promise<string> {
  const url = new URL(stackInfo().databaseUrl);
  const name = `migrate_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url.pathname = `/${name}`;
  return url.toString();
}

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('migration runner', () => {
  test('applies every migration once; a second run is a no-op', async () => {
    const url = await scratchDatabase();
    const first = await migrate(url);
    expect(first.applied).toContain('0001_init');
    const second = await migrate(url);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(first.applied);
    expect(await count(url, 'SELECT count(*) AS n FROM schema_migrations')).toBe(first.applied.length);
  });

  test('two processes starting at once migrate exactly once (advisory lock)', async () => {
    const url = await scratchDatabase();
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const appliedBy = results.filter((r) => r.applied.length > 0);
    expect(appliedBy).toHaveLength(1);
    expect(await count(url, "SELECT count(*) AS n FROM table_metadata WHERE access_level = 'locked'")).toBeGreaterThanOrEqual(17);
  });

  test('a failing migration rolls back whole and is not recorded', async () => {
    const url = await scratchDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    fs.mkdirSync(path.join(dir, '0001_ok'));
    fs.writeFileSync(path.join(dir, '0001_ok', 'migration.sql'), 'CREATE TABLE ok_table (id int);');
    fs.mkdirSync(path.join(dir, '0002_bad'));
    fs.writeFileSync(path.join(dir, '0002_bad', 'migration.sql'), 'CREATE TABLE half (id int); SELECT * FROM no_such_table;');
    await expect(migrate(url, dir)).rejects.toThrow(/0002_bad failed/);
    expect(await count(url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'half'")).toBe(0);
    expect(await count(url, 'SELECT count(*) AS n FROM schema_migrations')).toBe(1);

    fs.writeFileSync(path.join(dir, '0001_ok', 'migration.sql'), 'CREATE TABLE ok_table (id bigint);');
    await expect(migrate(url, dir)).rejects.toBeInstanceOf(MigrationChecksumError);
  });
});
