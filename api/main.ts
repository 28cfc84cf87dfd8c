import type { Server } from 'node:http';
import { createPlanService } from '../activities/plans/plan-service';
import { createTriggerRunStarter } from '../activities/triggers/trigger-run-starter';
import { createTriggerService } from '../activities/triggers/trigger-service';
import { createRateLimiter } from '../activities/triggers/webhook-rate-limiter';
import { createWebhookReceiver } from '../activities/triggers/webhook-receiver';
import { BUILTIN_TOOLS } from '../activities/tools/builtin-tools';
import { createToolExecutor } from '../activities/tools/tool-executor';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogger } from '../platform/logger';
import { createSecretBox, loadSecretsKey } from '../platform/secret-box';
import { connectClient } from '../platform/temporal-connection';
import { createApp } from './app';

/** API process: Express on API_HOST:API_PORT; SIGINT/SIGTERM stops accepting and lets requests finish. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the API (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = await connectClient(config);
  const tools = createToolExecutor(BUILTIN_TOOLS);
  const secrets = createSecretBox(loadSecretsKey(config.OWNPILOT_SECRETS_KEY, config.dataDir));
  const starter = createTriggerRunStarter({ temporal, taskQueue: config.TEMPORAL_TASK_QUEUE });
  const plans = createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools });
  const triggers = createTriggerService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, starter, secrets, plans, tools });
  // Startup reconcile: Temporal schedules follow the triggers table (missing recreated, orphans removed).
  logger.info(await triggers.reconcile(), 'trigger schedules reconciled');
  const app = createApp({
    logger,
    health: {
      postgres: () => prisma.$queryRaw`SELECT 1`,
      temporal: () => temporal.connection.withDeadline(Date.now() + 2000, () => temporal.connection.workflowService.getSystemInfo({})),
    },
    plans,
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
    logger.info('api stopping');
    server.close(async () => {
      await temporal.connection.close();
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
