import type { Server } from 'node:http';
import { openEventBus } from '../activities/events/open-event-bus';
import { createEventStreams } from '../activities/events/event-stream';
import { startDatabaseAcl } from '../activities/acl/acl-runtime';
import { createDbQueryTool } from '../activities/acl/db-query-tool';
import { createApiKeyService } from '../activities/auth/api-key-service';
import { createPlanService } from '../activities/plans/plan-service';
import { createPluginService } from '../activities/plugins/plugin-service';
import { createPluginStorageTools } from '../activities/plugins/plugin-storage-tools';
import { createPluginEmitGrant } from '../activities/plugins/plugin-emit-grant';
import { httpToolConfig, sandboxConfig, startToolRegistry } from '../activities/tools/tool-setup';
import { createTriggerRunStarter } from '../activities/triggers/trigger-run-starter';
import { createTriggerService } from '../activities/triggers/trigger-service';
import { createEventTriggerDispatcher } from '../activities/triggers/event-trigger-dispatcher';
import { createTriggerReconciler } from '../activities/triggers/trigger-reconciler';
import { createRateLimiter } from '../activities/triggers/webhook-rate-limiter';
import { createWebhookReceiver } from '../activities/triggers/webhook-receiver';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { createSecretBox, loadSecretsKey } from '../platform/secret-box';
import { connectClient } from '../platform/temporal-connection';
import { pollingWorkers } from '../platform/task-queue-pollers';
import { createAclMetrics, createEventMetrics, registerEventBusMetrics, registerToolMetrics } from '../activities/observability/service-metrics';
import { createApp } from './app';
import { listenForAuthChanges } from './auth-change-listener';

/** API process: Express on API_HOST:API_PORT; SIGINT/SIGTERM stops accepting and lets requests finish. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the API (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const metrics = createMetrics('api');
  const temporal = await connectClient(config);
  const eventMetrics = createEventMetrics(metrics);
  const events = await openEventBus(config.DATABASE_URL, logger, { observe: eventMetrics.observe });
  registerEventBusMetrics(metrics, events);
  const database = await startDatabaseAcl({ prisma, databaseUrl: config.DATABASE_URL, events, statementTimeoutMs: config.ACL_STATEMENT_TIMEOUT_MS, maxResultBytes: config.ACL_MAX_RESULT_BYTES, metrics: createAclMetrics(metrics) });
  const keys = createApiKeyService({ prisma });
  const streams = createEventStreams({ events });
  const keyListener = await listenForAuthChanges(config.DATABASE_URL, keys, streams);
  const bootstrap = await keys.ensureAdminKey(config.OWNPILOT_ADMIN_KEY);
  if (bootstrap.key) {
    // Printed once, on the console only (never logged): it is the only copy of the secret.
    console.log(`\n[ownpilot] bootstrap admin API key (shown once, store it now):\n[ownpilot]   ${bootstrap.key}\n`);
  }
  const { registry: tools, resources } = await startToolRegistry({
    prisma, events, databaseUrl: config.DATABASE_URL, http: httpToolConfig(config), ...sandboxConfig(config), extraTools: [createDbQueryTool(database.acl), ...createPluginStorageTools(prisma)],
    pluginMayEmit: createPluginEmitGrant(prisma),
  });
  registerToolMetrics(metrics, tools.metrics);
  const secrets = createSecretBox(loadSecretsKey(config.OWNPILOT_SECRETS_KEY, config.dataDir));
  const starter = createTriggerRunStarter({ temporal, taskQueue: config.TEMPORAL_TASK_QUEUE });
  const plans = createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools });
  const triggers = createTriggerService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, starter, secrets, plans, tools });
  // Startup reconcile: Temporal schedules follow the triggers table (missing recreated, orphans removed).
  logger.info(await triggers.reconcile(), 'trigger schedules reconciled');
  // ... and again every TRIGGER_RECONCILE_INTERVAL_MS, so drift is repaired without a restart.
  const reconciler = createTriggerReconciler({ triggers, logger, intervalMs: config.TRIGGER_RECONCILE_INTERVAL_MS });
  if (config.TRIGGER_RECONCILE_INTERVAL_MS > 0) reconciler.start();
  // Event triggers: every event on the bus is matched here; run ids make several API processes safe.
  createEventTriggerDispatcher({ prisma, starter, logger, catchUpMs: config.TRIGGER_EVENT_CATCH_UP_MS }).attach(events);
  const app = createApp({
    logger,
    health: {
      postgres: () => prisma.$queryRaw`SELECT 1`,
      temporal: () => temporal.connection.withDeadline(Date.now() + 2000, () => temporal.connection.workflowService.getSystemInfo({})),
      workers: async () => (await temporal.connection.withDeadline(Date.now() + 2000, () => pollingWorkers(temporal, config.TEMPORAL_TASK_QUEUE))).length,
    },
    plans,
    plugins: createPluginService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, events, pluginTools: tools }),
    events,
    streams,
    tools,
    resources,
    keys,
    acl: database.acl,
    metrics,
    metricsToken: config.METRICS_TOKEN,
    triggers,
    webhooks: createWebhookReceiver({ prisma, secrets, starter, rateLimiter: createRateLimiter() }),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.API_PORT, config.API_HOST, () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${config.API_PORT} is already in use`) : error),
    );
  });
  logger.info({ url: `http://${config.API_HOST}:${config.API_PORT}` }, 'api ready');

  const shutdown = () => {
    logger.info({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'api stopping: draining in-flight requests');
    // In-flight requests get SHUTDOWN_TIMEOUT_MS; then their connections are cut so close() can finish.
    setTimeout(() => {
      logger.warn('api drain timed out: closing remaining connections');
      server.closeAllConnections();
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 5000).unref();
    streams.closeAll(); // open event streams would hold the server until the drain timeout; readers reconnect
    server.close(async () => {
      await reconciler.stop();
      await temporal.connection.close();
      await tools.close();
      await keyListener.close();
      await database.close();
      await events.close(); // last: flushes what the services above emitted while stopping
      await prisma.$disconnect();
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
