import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { assertPortFree, freePort } from '../platform/local/ports';
import { ensureTemporalCli, TemporalCliUnavailableError } from '../platform/local/temporal-cli';
import { startTemporalDevServer } from '../platform/local/temporal-dev-server';
import pg from 'pg';
import { startPostgresProcess } from './support/postgres-process';
import { stackInfo } from './support/stack-info';

function scratchDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-local-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

describe('Temporal CLI resolution', () => {
  test('an explicit TEMPORAL_CLI_PATH must exist', () => {
    expect(() => ensureTemporalCli('/nonexistent/temporal')).toThrow(TemporalCliUnavailableError);
    expect(() => ensureTemporalCli('/nonexistent/temporal')).toThrow(/TEMPORAL_CLI_PATH=\/nonexistent\/temporal is not an executable file/);
  });

  test('without a cached build and without Go it fails with a one-line explanation', () => {
    const env = { ...process.env, PATH: '/nonexistent', XDG_CACHE_HOME: scratchDir() };
    expect(() => ensureTemporalCli(undefined, () => {}, env)).toThrow(/^Go is not installed: it is needed once to build the Temporal CLI/);
  });

  test('the cached build is reused', () => {
    expect(ensureTemporalCli(undefined)).toMatch(/ownpilot\/temporal-cli-v1\.5\.1\/temporal$/);
  });
});

describe('local Temporal dev server', () => {
  test('keeps workflows across a restart (SQLite file) and registers the search attributes', async () => {
    const dir = scratchDir();
    const options = { cliPath: stackInfo().cliPath, port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' };
    let server = await startTemporalDevServer(options);
    const startAndClose = async (fn: (client: Client) => Promise<void>) => {
      const connection = await Connection.connect({ address: server.address });
      try {
        await fn(new Client({ connection }));
      } finally {
        await connection.close();
      }
    };
    try {
      await startAndClose(async (client) => {
        await client.workflow.start('neverPolled', { taskQueue: 'nobody', workflowId: 'survives-restart' });
        const attributes = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
        expect(Object.keys(attributes.customAttributes ?? {})).toEqual(
          expect.arrayContaining(['OwnPilotPlanId', 'OwnPilotTriggerId', 'OwnPilotPluginId', 'OwnPilotKind']),
        );
      });
      await server.stop();
      server = await startTemporalDevServer(options);
      await startAndClose(async (client) => {
        const description = await client.workflow.getHandle('survives-restart').describe();
        expect(description.status.name).toBe('RUNNING');
      });
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port in use is a one-line error, not a hang', async () => {
    const port = Number(stackInfo().temporalAddress.split(':')[1]);
    await expect(assertPortFree(port)).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
    await expect(
      startTemporalDevServer({ cliPath: stackInfo().cliPath, port, uiPort: 0, headless: true, dbFile: path.join(scratchDir(), 't.db'), namespace: 'default' }),
    ).rejects.toThrow(/already in use/);
  });
});

describe('embedded PostgreSQL', () => {
  test('keeps its data across a restart', async () => {
    const dir = scratchDir();
    const port = await freePort();
    let server = await startPostgresProcess(path.join(dir, 'pg'), port);
    try {
      const write = new pg.Client({ connectionString: server.databaseUrl });
      await write.connect();
      await write.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
      await write.end();
      await server.stop();
      server = await startPostgresProcess(path.join(dir, 'pg'), port);
      const read = new pg.Client({ connectionString: server.databaseUrl });
      await read.connect();
      expect((await read.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
      await read.end();
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
