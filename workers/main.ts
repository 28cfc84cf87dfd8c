import { createActivities } from '../activities';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { BUILTIN_TOOLS } from '../activities/tools/builtin-tools';
import { createToolExecutor } from '../activities/tools/tool-executor';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogEventPublisher } from '../platform/log-event-publisher';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { startMetricsServer } from '../platform/observability/metrics-endpoint';
import { connectWorker } from '../platform/temporal-connection';
import { createAclMetrics } from '../activities/observability/service-metrics';
import { activityObservability } from './activity-observability';
import { createOwnPilotWorker } from './create-worker';

/** Worker process: connects to PostgreSQL and Temporal, polls until SIGINT/SIGTERM, then drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the worker (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const metrics = createMetrics('worker');
  const connection = await connectWorker(config);
  const events = createLogEventPublisher(logger);
  const database = await startDatabaseAcl({ prisma, databaseUrl: config.DATABASE_URL, events, statementTimeoutMs: config.ACL_STATEMENT_TIMEOUT_MS, metrics: createAclMetrics(metrics) });
  const worker = await createOwnPilotWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    interceptors: { activity: [activityObservability(metrics, logger)] },
    shutdownGraceMs: config.SHUTDOWN_TIMEOUT_MS / 2,
    activities: createActivities({ prisma, tools: createToolExecutor([...BUILTIN_TOOLS, createDbQueryTool(database.acl)]), acl: database.acl }),
  });
  const exporter = config.WORKER_METRICS_PORT === 0
    ? undefined
    : await startMetricsServer(metrics, { host: config.WORKER_METRICS_HOST, port: config.WORKER_METRICS_PORT, token: config.METRICS_TOKEN });
  // Worker.run() installs its own SIGINT/SIGTERM handling and resolves after draining.
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metricsPort: exporter?.port }, 'worker ready');
  await worker.run();
  await exporter?.close();
  await connection.close();
  await database.close();
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
