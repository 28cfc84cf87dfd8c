import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../platform/local/embedded-postgres';
import { freePort } from '../../platform/local/ports';
import { ensureTemporalCli } from '../../platform/local/temporal-cli';
import { startTemporalDevServer } from '../../platform/local/temporal-dev-server';
import { migrate } from '../../prisma/migrate';
import { STACK_ENV, type TestStackInfo } from '../support/stack-info';

/** One Temporal dev server (throwaway SQLite file) and one embedded PostgreSQL for the whole run. */
export default async function globalSetup(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-test-'));
  fs.chmodSync(dir, 0o755); // the postgres user (when run as root) must reach its data dir
  const cliPath = ensureTemporalCli(process.env.TEMPORAL_CLI_PATH || undefined, (l) => console.log(l));
  const [temporal, postgres] = await Promise.all([
    (async () =>
      startTemporalDevServer({ cliPath, port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' }))(),
    (async () => startEmbeddedPostgres(path.join(dir, 'postgres'), await freePort()))(),
  ]);
  await migrate(postgres.databaseUrl);
  const info: TestStackInfo = { databaseUrl: postgres.databaseUrl, temporalAddress: temporal.address, cliPath, dir };
  process.env[STACK_ENV] = JSON.stringify(info);
  (globalThis as Record<string, unknown>).__ownpilotStop = async () => {
    await Promise.allSettled([temporal.stop(), postgres.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
