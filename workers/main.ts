import { createActivities } from '../activities';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { createPlanService } from '../activities/plans/plan-service';
import { BUILTIN_TOOLS } from '../activities/tools/builtin-tools';
import { createToolExecutor } from '../activities/tools/tool-executor';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogEventPublisher } from '../platform/log-event-publisher';
import { createLogger } from '../platform/logger';
import { connectClient, connectWorker } from '../platform/temporal-connection';
import { createOwnPilotWorker } from './create-worker';

/** Worker process: connects to PostgreSQL and Temporal, polls until SIGINT/SIGTERM, then drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the worker (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const connection = await connectWorker(config);
  const events = createLogEventPublisher(logger);
  const database = await startDatabaseAcl({ prisma, databaseUrl: config.DATABASE_URL, events, statementTimeoutMs: config.ACL_STATEMENT_TIMEOUT_MS });
  const temporal = await connectClient(config);
  const tools = createToolExecutor([...BUILTIN_TOOLS, createDbQueryTool(database.acl)]);
  const plans = createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools });
  const worker = await createOwnPilotWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities({ prisma, tools, acl: database.acl, events, plans }),
  });
  // Worker.run() installs its own SIGINT/SIGTERM handling and resolves after draining.
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker ready');
  await worker.run();
  await connection.close();
  await temporal.connection.close();
  await database.close();
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
