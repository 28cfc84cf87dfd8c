import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../platform/local/ports';
import { startTemporalDevServer, type RunningTemporal } from '../../platform/local/temporal-dev-server';
import { stackInfo } from './stack-info';
import { killHard } from './worker-process';

/** A file-backed Temporal dev server of one test's own, which it may stop and start again. */
export interface OwnTemporal {
  /** Stays the same across restarts (same port, same SQLite file). */
  address: string;
  /** Stops the server (SIGTERM, or SIGKILL with `crash`); its state stays in the file. */
  stop(crash?: boolean): Promise<void>;
  /** Starts it again on the same port and file; resolves once its namespace answers. */
  start(): Promise<void>;
  /** Stops it and deletes its file. */
  close(): Promise<void>;
}

/** Starts a headless dev server on a free port with state in a fresh temporary SQLite file. */
export async function startOwnTemporal(): Promise<OwnTemporal> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-own-temporal-'));
  const options = { cliPath: stackInfo().cliPath, port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' };
  let server: RunningTemporal | undefined = await startTemporalDevServer(options);
  const stop = async (crash = false) => {
    const running = server;
    server = undefined;
    if (!running) return;
    if (crash) await killHard(running.process);
    else await running.stop();
  };
  return {
    address: server.address,
    stop,
    async start() {
      if (!server) server = await startTemporalDevServer(options);
    },
    async close() {
      await stop(false);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
