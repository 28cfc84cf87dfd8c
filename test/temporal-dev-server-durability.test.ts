import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { loadConfig } from '../platform/config';
import { freePort } from '../platform/local/ports';
import { DEV_SERVER_DYNAMIC_CONFIG, startTemporalDevServer, type RunningTemporal } from '../platform/local/temporal-dev-server';
import { stackInfo } from './support/stack-info';

async function withClient<T>(server: RunningTemporal, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: server.address });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

/** SIGKILL, then resolves once the process is gone (a crash: no shutdown, no checkpoint). */
function crash(server: RunningTemporal): Promise<void> {
  return new Promise((resolve) => {
    server.process.once('exit', () => resolve());
    server.process.kill('SIGKILL');
  });
}

describe('local Temporal dev server durability (SQLite WAL)', () => {
  test.each(['full', 'normal'] as const)('synchronous=%s: a started workflow survives a SIGKILL of the server', async (sync) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-devsync-'));
    const options = { cliPath: stackInfo().cliPath, port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 'temporal.db'), namespace: 'default', sync };
    let server = await startTemporalDevServer(options);
    try {
      await withClient(server, (client) => client.workflow.start('neverPolled', { taskQueue: 'nobody', workflowId: `survives-crash-${sync}` }));
      // The WAL journal is in use (the rollback journal leaves no -wal file).
      expect(fs.existsSync(path.join(dir, 'temporal.db-wal'))).toBe(true);
      await crash(server);
      server = await startTemporalDevServer(options);
      const description = await withClient(server, (client) => client.workflow.getHandle(`survives-crash-${sync}`).describe());
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('TEMPORAL_DEV_SYNC accepts full (default) and normal only', () => {
    expect(loadConfig({}).TEMPORAL_DEV_SYNC).toBe('full');
    expect(loadConfig({ TEMPORAL_DEV_SYNC: 'normal' }).TEMPORAL_DEV_SYNC).toBe('normal');
    expect(() => loadConfig({ TEMPORAL_DEV_SYNC: 'off' })).toThrow(/TEMPORAL_DEV_SYNC/);
  });
});

describe('Temporal latency settings', () => {
  test('the compose stack gets the dev server\'s history queue and eager-activity settings', () => {
    const file = path.join(__dirname, '..', 'temporal-docker', 'dynamicconfig', 'ownpilot.yaml');
    const yaml = parse(fs.readFileSync(file, 'utf8')) as Record<string, { value: unknown }[]>;
    for (const key of ['history.transferProcessorMaxPollRPS', 'history.timerProcessorMaxPollRPS', 'system.enableActivityEagerExecution']) {
      expect(yaml[key]?.[0]?.value).toEqual(DEV_SERVER_DYNAMIC_CONFIG[key]);
    }
  });
});
