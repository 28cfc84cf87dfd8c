import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities, type ActivityDeps } from '../../activities';
import { createDatabaseAcl, type DatabaseAcl } from '../../activities/acl/acl-service';
import { createPlanService } from '../../activities/plans/plan-service';
import { BUILTIN_TOOLS } from '../../activities/tools/builtin-tools';
import { createToolExecutor } from '../../activities/tools/tool-executor';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';
import { createSqlPool } from '../../platform/sql-pool';
import { createRecordingPublisher, type RecordingPublisher } from './recording-publisher';
import { createOwnPilotWorker } from '../../workers/create-worker';
import { stackInfo } from './stack-info';

export interface TestStack {
  prisma: PrismaClient;
  client: Client;
  /** A task queue of this test file's own, so parallel files never take each other's tasks. */
  taskQueue: string;
  /** node-postgres pool on the run's database (the ACL runs statements through it). */
  pool: pg.Pool;
  /** Every event the stack's services emitted, in order. */
  events: RecordingPublisher;
  /** The database ACL over `prisma`/`pool`, publishing to `events`. */
  acl: DatabaseAcl;
  /** Starts a worker with the real activities on `taskQueue`; stopped by `close()`. */
  startWorker(overrides?: Partial<ActivityDeps>): Promise<Worker>;
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
  const pool = createSqlPool(info.databaseUrl, 3);
  const events = createRecordingPublisher();
  const acl = createDatabaseAcl({ prisma, pool, events });
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const nativeConnections: NativeConnection[] = [];
  return {
    prisma,
    client,
    taskQueue,
    pool,
    events,
    acl,
    async startWorker(overrides = {}) {
      const native = await NativeConnection.connect({ address: info.temporalAddress });
      const tools = createToolExecutor(BUILTIN_TOOLS);
      nativeConnections.push(native);
      const worker = await createOwnPilotWorker({
        connection: native,
        namespace: 'default',
        taskQueue,
        activities: createActivities({
          prisma,
          tools,
          acl,
          events,
          plans: createPlanService({ prisma, temporal: client, taskQueue, tools }),
          ...overrides,
        }),
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
      await pool.end();
      await prisma.$disconnect();
    },
  };
}
