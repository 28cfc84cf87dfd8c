import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { createPlanService } from '../activities/plans/plan-service';
import { openEventBus } from '../activities/events/open-event-bus';
import type { PluginManifestInput } from '../activities/plugins/plugin-manifest';
import { createPluginService } from '../activities/plugins/plugin-service';
import { createPluginStorageTools } from '../activities/plugins/plugin-storage-tools';
import { createPluginEmitGrant } from '../activities/plugins/plugin-emit-grant';
import { startToolRegistry } from '../activities/tools/tool-setup';
import { createPrisma } from '../platform/database';
import { freePort } from '../platform/local/ports';
import { ensureTemporalCli } from '../platform/local/temporal-cli';
import { startTemporalDevServer } from '../platform/local/temporal-dev-server';
import { createLogger } from '../platform/logger';
import { createOwnPilotWorker } from '../workers/create-worker';
import { createSqlPool } from '../platform/sql-pool';
import { startBenchPostgres } from './bench-postgres';
import { percentiles, type Benchmark } from './bench-types';

/** The reference manifest: three tools and one table. */
const manifest = (id: string): PluginManifestInput => ({
  id,
  name: `bench ${id}`,
  version: '1.0.0',
  permissions: ['tools', 'tables', 'events.subscribe'],
  tables: [{ name: 'items', columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'body', type: 'json' }] }],
  tools: ['one', 'two', 'three'].map((name) => ({ name, description: `tool ${name}`, parameters: { type: 'object', properties: { n: { type: 'number' } } }, code: 'return args;' })),
  subscriptions: [{ pattern: `agent.${id}`, tool: 'one' }],
});

/** Plugin install (3 tools, 1 table) as a Temporal workflow: request → workflow completed, p50/p99. */
export const pluginInstall: Benchmark = {
  name: 'plugin install',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-bench-plugins-'));
    const logger = createLogger('bench', 'warn');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const temporal = await startTemporalDevServer({ cliPath: ensureTemporalCli(undefined), port: await freePort(), uiPort: 0, headless: true, dbFile: path.join(dir, 't.db'), namespace: 'default' });
    const pg = await startBenchPostgres();
    const prisma = createPrisma(pg.databaseUrl, 8);
    const sql = createSqlPool(pg.databaseUrl);
    const bus = await openEventBus(pg.databaseUrl, logger);
    const database = await startDatabaseAcl({ prisma, databaseUrl: pg.databaseUrl, events: bus, statementTimeoutMs: 5000, maxResultBytes: 16 * 1024 * 1024 });
    const { registry: tools } = await startToolRegistry({
      prisma, events: bus, databaseUrl: pg.databaseUrl, extraTools: [createDbQueryTool(database.acl), ...createPluginStorageTools(prisma)],
      pluginMayEmit: createPluginEmitGrant(prisma),
      http: { allowPrivate: false, allowedHosts: [], maxResponseBytes: 1024, defaultTimeoutMs: 1000 },
    });
    const native = await NativeConnection.connect({ address: temporal.address });
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = 'bench-plugins';
    const worker = await createOwnPilotWorker({ connection: native, namespace: 'default', taskQueue, activities: createActivities({ prisma, sql, tools, events: bus, acl: database.acl, plans: createPlanService({ prisma, temporal: client, taskQueue, tools }) }) });
    const running = worker.run();
    try {
      const plugins = createPluginService({ prisma, temporal: client, taskQueue, events: bus, pluginTools: tools });
      const samples: number[] = [];
      for (let i = 0; i < 23; i++) {
        const start = performance.now();
        const { workflowId } = await plugins.install(manifest(`bench_${i}`), 'admin');
        await client.workflow.getHandle(workflowId).result();
        if (i >= 3) samples.push(performance.now() - start); // the first runs warm up the worker and caches
      }
      const { p50, p99 } = percentiles(samples);
      return [
        { name: 'install 3 tools + 1 table (request → workflow done), p50', value: p50, unit: 'ms', target: 500, higherIsBetter: false },
        { name: 'install 3 tools + 1 table, p99', value: p99, unit: 'ms' },
      ];
    } finally {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
      await tools.close();
      await database.close();
      await bus.close();
      await sql.end();
      await prisma.$disconnect();
      await Promise.all([pg.stop(), temporal.stop()]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
