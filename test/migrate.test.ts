import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, MigrationChecksumError } from '../prisma/migrate';
import { stackInfo } from './support/stack-info';

const MIGRATIONS = path.join(__dirname, '..', 'prisma', 'migrations');

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
  test('0011 keeps webhook delivery rows written before it, keyed by their delivery id', async () => {
    const url = await scratchDatabase();
    const before = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    for (const name of fs.readdirSync(MIGRATIONS).filter((n) => n < '0011')) fs.cpSync(path.join(MIGRATIONS, name), path.join(before, name), { recursive: true });
    await migrate(url, before);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`INSERT INTO triggers (id, name, type, config, action, created_by) VALUES ('tr1', 'hook', 'webhook', '{}', '{}', 'admin')`);
      await client.query(`INSERT INTO trigger_webhook_deliveries (trigger_id, delivery_id) VALUES ('tr1', 'old-1'), ('tr1', 'old-2')`);
      expect((await migrate(url)).applied).toContain('0011_webhook_signature_replay');
      const rows = await client.query('SELECT delivery_id, signature_digest FROM trigger_webhook_deliveries ORDER BY delivery_id');
      expect(rows.rows).toEqual([{ delivery_id: 'old-1', signature_digest: 'delivery:old-1' }, { delivery_id: 'old-2', signature_digest: 'delivery:old-2' }]);
      // A delivery id may now have several signatures, a signature only one delivery id.
      const insert = (deliveryId: string, digest: string) => client.query('INSERT INTO trigger_webhook_deliveries (trigger_id, delivery_id, signature_digest) VALUES ($1, $2, $3)', ['tr1', deliveryId, digest]);
      await insert('old-1', 'a'.repeat(64));
      await expect(insert('new-1', 'a'.repeat(64))).rejects.toMatchObject({ code: '23505' });
    } finally {
      await client.end();
    }
  });
});
