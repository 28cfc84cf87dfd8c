import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPrisma, type PrismaClient } from '../platform/database';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer, stopChild } from '../platform/local/temporal-dev-server';
import { waitFor } from '../platform/local/wait-for';
import { startBenchPostgres } from './bench-postgres';

const ROOT = path.join(__dirname, '..');

/** A real API or worker process (tsx), with the tail of its output for error messages. */
interface StackProcess {
  name: string;
  child: ChildProcess;
  /** Its Prometheus endpoint (the worker's metrics server, the API's /metrics). */
  metricsUrl: string;
  tail(): string;
}

/** Environment knobs of the load benchmarks, parsed once at the composition root. */
export const LOAD_ENV = {
  workers: Number(process.env.BENCH_LOAD_WORKERS ?? 2),
  logLevel: process.env.BENCH_LOAD_LOG_LEVEL ?? 'info',
  /** `normal` benchmarks the opt-in TEMPORAL_DEV_SYNC=normal dev server. */
  temporalSync: process.env.BENCH_LOAD_TEMPORAL_SYNC === 'normal' ? ('normal' as const) : ('full' as const),
};

function spawnProcess(name: string, entry: string, env: Record<string, string>, metricsUrl: string): StackProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // Warnings, errors and anything not a pino line; info lines would bury them.
  let tail = '';
  const keep = (chunk: Buffer) => {
    const lines = chunk.toString().split('\n').filter((line) => line !== '' && !/"level":(10|20|30),/.test(line));
    if (lines.length > 0) tail = `${tail}${lines.join('\n')}\n`.slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, child, metricsUrl, tail: () => tail };
}

/**
 * Temporal dev server (file-backed), embedded PostgreSQL, `LOAD_ENV.workers` worker processes
 * and one API process, each a real `workers/main.ts` / `api/main.ts`, on free ports.
 */
export async function startLoadStack() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-load-'));
  fs.chmodSync(dir, 0o755);
  const temporal = await startTemporalDevServer({ cliPath: ensureTemporalCli(undefined), port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 'temporal.db'), namespace: 'default', sync: LOAD_ENV.temporalSync });
  const postgres = await startBenchPostgres();
  const adminKey = `bench-${randomBytes(24).toString('hex')}`;
  const metricsToken = randomBytes(16).toString('hex');
  const common = {
    DATABASE_URL: postgres.databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench-load',
    LOG_LEVEL: LOAD_ENV.logLevel,
    OWNPILOT_DATA_DIR: path.join(dir, 'data'),
    METRICS_TOKEN: metricsToken,
  };
  const processes: StackProcess[] = [];
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const stop = async () => {
    await Promise.allSettled(processes.map((p) => stopChild(p.child, 15_000)));
    await Promise.allSettled([temporal.stop(), postgres.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < LOAD_ENV.workers; i++) {
      const port = await freePort();
      processes.push(spawnProcess(`worker-${i + 1}`, 'workers/main.ts', { ...common, WORKER_METRICS_PORT: String(port) }, `http://127.0.0.1:${port}/metrics`));
    }
    processes.push(spawnProcess('api', 'api/main.ts', { ...common, API_PORT: String(apiPort), OWNPILOT_ADMIN_KEY: adminKey }, `${base}/metrics`));
    for (const p of processes) {
      await waitFor(`${p.name} to serve metrics`, async () => {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited ${p.child.exitCode}: ${p.tail()}`);
        return (await fetch(p.metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } })).ok;
      }, 120_000, 250);
    }
    await waitFor('the API health', async () => (await fetch(`${base}/health`)).ok, 60_000, 250);
  } catch (error) {
    await stop();
    throw error;
  }
  const prisma: PrismaClient = createPrisma(postgres.databaseUrl, 4);
  return {
    base,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    prisma,
    processes,
    /** The process's Prometheus text. */
    async scrape(p: StackProcess): Promise<string> {
      const res = await fetch(p.metricsUrl, { headers: { authorization: `Bearer ${metricsToken}` } });
      if (!res.ok) throw new Error(`${p.name} /metrics answered ${res.status}`);
      return res.text();
    },
    /** The error with the last output of every process appended (why a request failed). */
    explain(error: unknown): Error {
      const message = error instanceof Error ? error.message : String(error);
      return new Error(`${message}\n${processes.map((p) => `--- ${p.name} (last output) ---\n${p.tail().slice(-1500)}`).join('\n')}`);
    },
    async stop() {
      await prisma.$disconnect();
      await stop();
    },
  };
}
export type LoadStack = Awaited<ReturnType<typeof startLoadStack>>;
