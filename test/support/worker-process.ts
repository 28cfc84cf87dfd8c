import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { stackInfo } from './stack-info';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Starts the real worker entry point (workers/main.ts) as a child process polling `taskQueue`
 * on the run's PostgreSQL and, unless `temporalAddress` says otherwise, the run's Temporal
 * server. Its metrics exporter is off, so parallel workers never clash on a port.
 */
export function spawnWorker(taskQueue: string, temporalAddress = stackInfo().temporalAddress): ChildProcess {
  const info = stackInfo();
  return spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: info.databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_TASK_QUEUE: taskQueue, LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0' },
    stdio: 'ignore',
  });
}

/** Kills `child` with SIGKILL (no drain, no cleanup) and resolves once it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
