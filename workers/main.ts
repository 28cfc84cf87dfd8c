import { createActivities } from '../activities';
import { createPluginStorageTools } from '../activities/plugins/plugin-storage-tools';
import { createPluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import { openEventBus } from '../activities/events/open-event-bus';
import { httpToolConfig, startToolRegistry } from '../activities/tools/tool-setup';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { createPlanService } from '../activities/plans/plan-service';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogger } from '../platform/logger';
import { connectClient, connectWorker } from '../platform/temporal-connection';
import { createOwnPilotWorker } from './create-worker';

/** Worker process: connects to PostgreSQL and Temporal, polls until SIGINT/SIGTERM, then drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the worker (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const events = await openEventBus(config.DATABASE_URL, logger);
  const connection = await connectWorker(config);
  const database = await startDatabaseAcl({ prisma, databaseUrl: config.DATABASE_URL, events, statementTimeoutMs: config.ACL_STATEMENT_TIMEOUT_MS });
  const { registry: tools } = await startToolRegistry({
    prisma, events, databaseUrl: config.DATABASE_URL, http: httpToolConfig(config), extraTools: [createDbQueryTool(database.acl), ...createPluginStorageTools(prisma)],
  });
  // Plugin subscriptions run plugin tools: they are hosted by workers (restored here at start).
  await createPluginSubscriptionHost({ prisma, bus: events, tools, logger }).start();
  const temporal = await connectClient(config);
  const plans = createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools });
  const worker = await createOwnPilotWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities({ prisma, tools, events, acl: database.acl, plans }),
  });
  // Worker.run() installs its own SIGINT/SIGTERM handling and resolves after draining.
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker ready');
  await worker.run();
  await connection.close();
  await tools.close();
  await temporal.connection.close();
  await database.close();
  await events.close(); // last: flushes what the services above emitted while stopping
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
