import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig, temporalAddress } from '../platform/config';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startEmbeddedPostgres } from '../platform/local/embedded-postgres';
import { startTemporalDevServer, stopChild } from '../platform/local/temporal-dev-server';
import { waitFor } from '../platform/local/wait-for';
import { assertPortFree } from '../platform/local/ports';
import { workerPolls } from '../platform/task-queue-pollers';
import { connectClient } from '../platform/temporal-connection';
import { migrate } from '../prisma/migrate';

const root = path.join(__dirname, '..');
const say = (line: string) => console.log(`[ownpilot] ${line}`);

/**
 * `npm start`: Temporal (unless TEMPORAL_ADDRESS), PostgreSQL (unless DATABASE_URL), migrations,
 * worker and API; Ctrl-C / SIGTERM stops what it started, newest first.
 */
async function main(): Promise<void> {
  const began = Date.now();
  const config = loadConfig();
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    for (const stop of stops.reverse()) await stop().catch((e: Error) => say(`stop failed: ${e.message}`));
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    await assertPortFree(config.API_PORT, config.API_HOST);
    let uiUrl: string | undefined;
    if (config.TEMPORAL_ADDRESS === undefined) {
      const cliPath = ensureTemporalCli(config.TEMPORAL_CLI_PATH, say);
      const temporal = await startTemporalDevServer({
        cliPath,
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        sync: config.TEMPORAL_DEV_SYNC,
        namespace: config.TEMPORAL_NAMESPACE,
      });
      stops.push(temporal.stop);
      uiUrl = temporal.uiUrl;
      temporal.process.once('exit', () => void shutdown(1));
    } else {
      await connectClient(config)
        .then((client) => client.connection.close())
        .catch((error: Error) => {
          throw new Error(`cannot reach Temporal at ${config.TEMPORAL_ADDRESS}: ${error.message}`);
        });
      say(`using Temporal at ${config.TEMPORAL_ADDRESS} (namespace ${config.TEMPORAL_NAMESPACE})`);
    }

    let databaseUrl = config.DATABASE_URL;
    if (databaseUrl === undefined) {
      const postgres = await startEmbeddedPostgres(path.join(config.dataDir, 'postgres'), config.EMBEDDED_PG_PORT);
      stops.push(postgres.stop);
      databaseUrl = postgres.databaseUrl;
      say(`embedded PostgreSQL ready on port ${config.EMBEDDED_PG_PORT}`);
    }
    const migrations = await migrate(databaseUrl).catch((error: Error) => {
      throw new Error(`cannot migrate the database: ${error.message}`);
    });
    say(`migrations: ${migrations.applied.length} applied, ${migrations.skipped.length} already there`);

    const env = { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress(config) };
    const run = (name: string, entry: string): ChildProcess => {
      const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env, stdio: 'inherit' });
      stops.push(() => stopChild(child, 15_000));
      child.once('exit', (code) => {
        if (!stopping) say(`${name} exited with code ${code}`);
        void shutdown(1);
      });
      return child;
    };
    const worker = run('worker', 'workers/main.ts');
    run('api', 'api/main.ts');
    const apiUrl = `http://${config.API_HOST}:${config.API_PORT}`;
    await waitFor('the API to answer /health', async () => (await fetch(`${apiUrl}/health`)).ok, 60_000, 200);
    // Ready means a plan executed now runs: the worker (which bundles the workflows first) polls.
    const client = await connectClient(config);
    try {
      await waitFor('the worker to poll its task queue', () => workerPolls(client, config.TEMPORAL_TASK_QUEUE, worker.pid!), 120_000, 200);
    } finally {
      await client.connection.close();
    }
    say(`ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
    say(`API:           ${apiUrl}`);
    if (uiUrl) say(`Temporal UI:   ${uiUrl}`);
  } catch (error) {
    console.error(`[ownpilot] ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
}

void main();
