import { createActivities } from '../activities';
import { createPluginStorageTools } from '../activities/plugins/plugin-storage-tools';
import { createPluginEmitGrant } from '../activities/plugins/plugin-emit-grant';
import { createPluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import { openEventBus } from '../activities/events/open-event-bus';
import { createEventLogRetention } from '../activities/events/event-log-retention';
import { httpToolConfig, sandboxConfig, startToolRegistry } from '../activities/tools/tool-setup';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { createPlanService } from '../activities/plans/plan-service';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createSqlPool } from '../platform/sql-pool';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { startMetricsServer } from '../platform/observability/metrics-endpoint';
import { createAclMetrics, createEventMetrics, registerEventBusMetrics, registerToolMetrics } from '../activities/observability/service-metrics';
import { activityObservability } from './activity-observability';
import { installTemporalRuntimeLog } from './temporal-runtime-log';
import { connectClient, connectWorker } from '../platform/temporal-connection';
import { createOwnPilotWorker } from './create-worker';

/** How often a worker prunes event_log to EVENT_LOG_RETENTION_DAYS. */
const EVENT_LOG_PRUNE_INTERVAL_MS = 3_600_000;

/** Worker process: connects to PostgreSQL and Temporal, polls until SIGINT/SIGTERM, then drains. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  installTemporalRuntimeLog(logger);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the worker (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  // Plan bookkeeping gets its own pool: a burst of slow user SQL on the ACL's pool must not hold up steps.
  const sql = createSqlPool(config.DATABASE_URL);
  const metrics = createMetrics('worker');
  const eventMetrics = createEventMetrics(metrics);
  const events = await openEventBus(config.DATABASE_URL, logger, { observe: eventMetrics.observe });
  registerEventBusMetrics(metrics, events);
  const connection = await connectWorker(config);
  const database = await startDatabaseAcl({ prisma, databaseUrl: config.DATABASE_URL, events, statementTimeoutMs: config.ACL_STATEMENT_TIMEOUT_MS, maxResultBytes: config.ACL_MAX_RESULT_BYTES, metrics: createAclMetrics(metrics) });
  const { registry: tools } = await startToolRegistry({
    prisma, events, databaseUrl: config.DATABASE_URL, http: httpToolConfig(config), ...sandboxConfig(config), extraTools: [createDbQueryTool(database.acl), ...createPluginStorageTools(prisma)],
    pluginMayEmit: createPluginEmitGrant(prisma),
  });
  registerToolMetrics(metrics, tools.metrics);
  // Plugin subscriptions run plugin tools: they are hosted by workers (restored here at start).
  const pluginHost = createPluginSubscriptionHost({ prisma, bus: events, tools, logger });
  await pluginHost.start();
  const retention = createEventLogRetention({ prisma, logger, retentionDays: config.EVENT_LOG_RETENTION_DAYS });
  retention.start(EVENT_LOG_PRUNE_INTERVAL_MS);
  const temporal = await connectClient(config);
  const plans = createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools });
  const worker = await createOwnPilotWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    interceptors: { activity: [activityObservability(metrics, logger)] },
    shutdownGraceMs: config.SHUTDOWN_TIMEOUT_MS / 2,
    activities: createActivities({ prisma, sql, tools, events, acl: database.acl, plans, triggerMaxChainDepth: config.TRIGGER_MAX_CHAIN_DEPTH }),
  });
  const exporter = config.WORKER_METRICS_PORT === 0
    ? undefined
    : await startMetricsServer(metrics, { host: config.WORKER_METRICS_HOST, port: config.WORKER_METRICS_PORT, token: config.METRICS_TOKEN });
  // Worker.run() installs its own SIGINT/SIGTERM handling and resolves after draining.
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, metricsPort: exporter?.port }, 'worker ready');
  await worker.run();
  pluginHost.stop();
  await retention.stop();
  await exporter?.close();
  await connection.close();
  await tools.close();
  await temporal.connection.close();
  await database.close();
  await sql.end();
  await events.close(); // last: flushes what the services above emitted while stopping
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(`worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
