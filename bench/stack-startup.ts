import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer } from '../platform/local/temporal-dev-server';
import { migrate } from '../prisma/migrate';
import type { Benchmark } from './bench-types';
import { since } from './measure';


/** What `npm start` spends before "ready": Temporal dev server, embedded PostgreSQL, migrations. */
export const stackStartup: Benchmark = {
  name: 'stack startup',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-'));
    fs.chmodSync(dir, 0o755);
    const cliPath = ensureTemporalCli(undefined);
    try {
      let t = process.hrtime.bigint();
      const temporal = await startTemporalDevServer({ cliPath, port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 't.db'), namespace: 'default' });
      const temporalMs = since(t);
      t = process.hrtime.bigint();
      const postgres = await startEmbeddedPostgres(path.join(dir, 'pg'), await freePort());
      const postgresMs = since(t);
      t = process.hrtime.bigint();
      await migrate(postgres.databaseUrl);
      const migrateMs = since(t);
      t = process.hrtime.bigint();
      await migrate(postgres.databaseUrl);
      const noopMigrateMs = since(t);
      await Promise.all([temporal.stop(), postgres.stop()]);
      return [
        { name: 'Temporal dev server start → namespace ready', value: temporalMs, unit: 'ms' },
        { name: 'embedded PostgreSQL initdb + start', value: postgresMs, unit: 'ms' },
        { name: 'migrations on an empty database', value: migrateMs, unit: 'ms' },
        { name: 'migrations, second run (no-op)', value: noopMigrateMs, unit: 'ms' },
      ];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
