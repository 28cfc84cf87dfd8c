import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { PlanService } from '../activities/plans/plan-service';
import type { TriggerService } from '../activities/triggers/trigger-service';
import type { WebhookReceiver } from '../activities/triggers/webhook-receiver';
import type { Logger } from '../platform/logger';
import { errorMiddleware, notFoundHandler } from './error-middleware';
import { healthRouter, type HealthProbes } from './routes/health-router';
import { plansRouter } from './routes/plans-router';
import { triggersRouter } from './routes/triggers-router';
import { webhooksRouter } from './routes/webhooks-router';

export interface AppDeps {
  logger: Logger;
  health: HealthProbes;
  plans: PlanService;
  /** Optional so tests of other services can build the app without them. */
  triggers?: TriggerService;
  webhooks?: WebhookReceiver;
}

/** The Express application; all state lives in the injected services, so tests build it directly. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.setHeader('x-request-id', req.header('x-request-id') ?? randomUUID());
    next();
  });
  // Webhooks: raw body, signature auth; before the JSON parser and before API-key auth.
  if (deps.webhooks) app.use('/api/v1/webhooks', webhooksRouter(deps.webhooks));
  app.use(express.json({ limit: '1mb' }));
  app.use('/health', healthRouter(deps.health));
  app.use('/api/v1/plans', plansRouter(deps.plans));
  if (deps.triggers) app.use('/api/v1/triggers', triggersRouter(deps.triggers));
  app.use(notFoundHandler);
  app.use(errorMiddleware(deps.logger));
  return app;
}
