import type { Server } from 'node:http';
import { openEventBus } from '../activities/events/open-event-bus';
import { createPlanService } from '../activities/plans/plan-service';
import { httpToolConfig, startToolRegistry } from '../activities/tools/tool-setup';
import { loadConfig } from '../platform/config';
import { createPrisma } from '../platform/database';
import { createLogger } from '../platform/logger';
import { connectClient } from '../platform/temporal-connection';
import { createApp } from './app';

/** API process: Express on API_HOST:API_PORT; SIGINT/SIGTERM stops accepting and lets requests finish. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required by the API (npm start sets it)');
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = await connectClient(config);
  const events = await openEventBus(config.DATABASE_URL, logger);
  const { registry: tools, resources } = await startToolRegistry({ prisma, events, databaseUrl: config.DATABASE_URL, http: httpToolConfig(config) });
  const app = createApp({
    logger,
    health: {
      postgres: () => prisma.$queryRaw`SELECT 1`,
      temporal: () => temporal.connection.withDeadline(Date.now() + 2000, () => temporal.connection.workflowService.getSystemInfo({})),
    },
    plans: createPlanService({ prisma, temporal, taskQueue: config.TEMPORAL_TASK_QUEUE, tools }),
    events,
    tools,
    resources,
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
      await events.close();
      await temporal.connection.close();
      await tools.close();
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
