import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { freePort } from '../platform/local/ports';
import { migrate } from '../prisma/migrate';

/** A throwaway, migrated embedded PostgreSQL for one benchmark; `stop()` removes it. */
export async function startBenchPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-'));
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres(path.join(dir, 'postgres'), await freePort());
  await migrate(postgres.databaseUrl);
  return {
    databaseUrl: postgres.databaseUrl,
    async stop() {
      await postgres.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
