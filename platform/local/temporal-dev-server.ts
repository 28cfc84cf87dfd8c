import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { assertPortFree } from './ports';
import { waitFor } from './wait-for';

export interface TemporalDevServerOptions {
  cliPath: string;
  port: number;
  uiPort: number;
  /** SQLite file that keeps the server's state across restarts; omitted = in-memory (lost on exit). */
  dbFile?: string;
  /**
   * SQLite `synchronous` mode of the file (WAL journal either way). 'full' (default): a commit
   * is on disk when acknowledged, surviving power loss. 'normal': survives a crash of the server
   * process, but an OS crash or power cut can lose the last commits; several times faster on
   * disks with slow fsync.
   */
  sync?: 'full' | 'normal';
  /** SQLite pragmas over the WAL/`sync` defaults (benchmarks compare journal modes with it). */
  sqlitePragmas?: Record<string, string>;
  /** Extra `--dynamic-config-value` entries (values are JSON-encoded), over DEV_SERVER_DYNAMIC_CONFIG. */
  dynamicConfig?: Record<string, unknown>;
  namespace: string;
  headless?: boolean;
  log?: (line: string) => void;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Dynamic config of the single-host dev server (none of it changes what is persisted):
 * - history queue reads per second per shard: Temporal's default of 20 suits clusters of
 *   hundreds of shards; the dev server has one, so every task waited up to 50 ms to be read
 *   (≈ 40 ms per workflow/activity hop, the whole of the old ~350 ms floor of a 3-step plan);
 * - eager activity dispatch: an activity scheduled by a workflow task goes back to the worker
 *   in that task's reply instead of through a task queue round trip;
 * - one task-queue partition: a single host gains nothing from four.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, unknown> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'history.timerProcessorMaxPollRPS': 1000,
  'system.enableActivityEagerExecution': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/** Dev-server flag value for a search attribute type (`--search-attribute Name=Type`). */
const CLI_TYPE: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', BOOL: 'Bool', DATETIME: 'Datetime', DOUBLE: 'Double', KEYWORD_LIST: 'KeywordList' };

/**
 * Starts `temporal server start-dev` with the OwnPilot search attributes and resolves once its
 * namespace answers; rejects with a one-line reason when a port is taken or the server exits.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<RunningTemporal> {
  await assertPortFree(options.port);
  if (!options.headless) await assertPortFree(options.uiPort);
  if (options.dbFile) fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const dynamicConfig = { ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig };
  const pragmas = { journal_mode: 'wal', synchronous: options.sync ?? 'full', ...options.sqlitePragmas };
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    ...(options.dbFile
      ? ['--db-filename', options.dbFile, ...Object.entries(pragmas).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`])]
      : []),
    ...Object.entries(dynamicConfig).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    '--namespace', options.namespace,
    '--log-level', 'error',
    ...(options.headless ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
    ...ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`]),
  ];
  const child = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const capture = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`Temporal dev server exited (code ${code}): ${lastLine(output)}`))),
  );
  exited.catch(() => undefined);
  const address = `127.0.0.1:${options.port}`;
  try {
    await Promise.race([
      exited,
      waitFor('the Temporal dev server', async () => {
        const connection = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await connection.workflowService.describeNamespace({ namespace: options.namespace });
        } finally {
          await connection.close();
        }
      }, 60_000, 200),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  options.log?.(`Temporal dev server ready on ${address}`);
  return {
    address,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop: () => stopChild(child),
  };
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? 'no output';
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
