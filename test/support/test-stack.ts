import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker, type WorkerInterceptors } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities, type ActivityDeps } from '../../activities';
import { createDatabaseAcl, type DatabaseAcl } from '../../activities/acl/acl-service';
import { createDbQueryTool } from '../../activities/acl/db-query-tool';
import type { EventBus } from '../../activities/events/event-bus';
import { openEventBus } from '../../activities/events/open-event-bus';
import { createPluginStorageTools } from '../../activities/plugins/plugin-storage-tools';
import { createPluginEmitGrant } from '../../activities/plugins/plugin-emit-grant';
import type { ResourceService } from '../../activities/resources/resource-service';
import type { HttpToolConfig } from '../../activities/tools/builtin/http-tools';
import type { ToolRegistry } from '../../activities/tools/tool-registry';
import { startToolRegistry } from '../../activities/tools/tool-setup';
import { createPlanService } from '../../activities/plans/plan-service';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';
import { createLogger } from '../../platform/logger';
import { createSqlPool } from '../../platform/sql-pool';
import { createOwnPilotWorker } from '../../workers/create-worker';
import { createCollectingPublisher, type CollectingPublisher } from './collecting-publisher';
import { stackInfo, type TestStackInfo } from './stack-info';

/** The HTTP tool policy tests run with: the production default (no private addresses). */
export const TEST_HTTP_CONFIG: HttpToolConfig = { allowPrivate: false, allowedHosts: [], maxResponseBytes: 64 * 1024, defaultTimeoutMs: 5_000 };

export interface TestStack {
  prisma: PrismaClient;
  client: Client;
  /** A started event bus of this test file's own (own connections, like another process). */
  bus: EventBus;
  /** A task queue of this test file's own, so parallel files never take each other's tasks. */
  taskQueue: string;
  info: TestStackInfo;
  /** Every event the services of this stack emitted (each also published on `bus`). */
  events: CollectingPublisher;
  /** The tool registry (built-ins registered, listening for other instances' changes). */
  tools: ToolRegistry;
  resources: ResourceService;
  /** node-postgres pool on the run's database (the ACL and plan bookkeeping run statements through it). */
  pool: pg.Pool;
  /** The database ACL over `prisma`/`pool`, publishing to `events`. */
  acl: DatabaseAcl;
  /** Starts a worker with the real activities on `taskQueue`; stopped by `close()`. */
  startWorker(overrides?: Partial<ActivityDeps>, interceptors?: WorkerInterceptors): Promise<Worker>;
  close(): Promise<void>;
}

let runtimeInstalled = false; // per test file: jest gives each file its own module registry

/** Connects a test file to the run's PostgreSQL and Temporal server. */
export async function openTestStack(): Promise<TestStack> {
  if (!runtimeInstalled) {
    // Keep worker lifecycle chatter out of test output; warnings and errors still show.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const info = stackInfo();
  const prisma = createPrisma(info.databaseUrl, 5);
  const connection = await Connection.connect({ address: info.temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = `test-${newId(8)}`;
  const bus = await openEventBus(info.databaseUrl, createLogger('test-events', 'silent'));
  const events = createCollectingPublisher(bus);
  const pool = createSqlPool(info.databaseUrl, 5);
  const acl = createDatabaseAcl({ prisma, pool, events });
  const { registry: tools, resources } = await startToolRegistry({
    prisma, events, databaseUrl: info.databaseUrl, http: TEST_HTTP_CONFIG, extraTools: [createDbQueryTool(acl), ...createPluginStorageTools(prisma)],
    pluginMayEmit: createPluginEmitGrant(prisma),
  });
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const nativeConnections: NativeConnection[] = [];
  return {
    prisma,
    client,
    bus,
    info,
    taskQueue,
    events,
    tools,
    resources,
    pool,
    acl,
    async startWorker(overrides = {}, interceptors) {
      const native = await NativeConnection.connect({ address: info.temporalAddress });
      nativeConnections.push(native);
      const worker = await createOwnPilotWorker({
        connection: native,
        namespace: 'default',
        taskQueue,
        activities: createActivities({ prisma, tools, events: bus, acl, plans: createPlanService({ prisma, temporal: client, taskQueue, tools }), ...overrides, sql: overrides.sql ?? pool }),
        ...(interceptors ? { interceptors } : {}),
      });
      running.push({ worker, done: worker.run() });
      return worker;
    },
    async close() {
      for (const { worker, done } of running) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      }
      await Promise.all(nativeConnections.map((c) => c.close()));
      await connection.close();
      await tools.close();
      await pool.end();
      await bus.close();
      await prisma.$disconnect();
    },
  };
}
