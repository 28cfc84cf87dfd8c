import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { EventBus } from '../activities/events/event-bus';
import { createEventStreams, type EventStreams } from '../activities/events/event-stream';
import type { DatabaseAcl } from '../activities/acl/acl-service';
import type { ApiKeyService } from '../activities/auth/api-key-service';
import type { PlanService } from '../activities/plans/plan-service';
import type { PluginService } from '../activities/plugins/plugin-service';
import type { ResourceService } from '../activities/resources/resource-service';
import type { ToolRegistry } from '../activities/tools/tool-registry';
import type { TriggerService } from '../activities/triggers/trigger-service';
import type { WebhookReceiver } from '../activities/triggers/webhook-receiver';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/observability/metrics';
import { httpObservability, metricsHandler } from './http-observability';
import { apiDocument } from './openapi/api-document';
import { API_ROUTE_GROUPS } from './openapi/api-routes';
import { docsRouter } from './openapi/docs-router';
import { authMiddleware } from './auth-middleware';
import { rejectUnstorableText } from './input-guard';
import { errorMiddleware } from './error-middleware';
import { unmatchedRouteHandler } from './unmatched-route';
import { eventsRouter } from './routes/events-router';
import { aclRouter } from './routes/acl-router';
import { dbRouter } from './routes/db-router';
import { healthRouter, type HealthProbes } from './routes/health-router';
import { keysRouter } from './routes/keys-router';
import { plansRouter } from './routes/plans-router';
import { pluginsRouter } from './routes/plugins-router';
import { customToolsRouter } from './routes/custom-tools-router';
import { resourcesRouter } from './routes/resources-router';
import { toolsRouter } from './routes/tools-router';
import { triggersRouter } from './routes/triggers-router';
import { webhooksRouter } from './routes/webhooks-router';

export interface AppDeps {
  logger: Logger;
  health: HealthProbes;
  plans: PlanService;
  plugins: PluginService;
  events: EventBus;
  /** Live event streams (GET /api/v1/events/stream); the process closes them when it stops. Built on `events` when absent. */
  streams?: EventStreams;
  tools: ToolRegistry;
  resources: ResourceService;
  keys: ApiKeyService;
  acl: DatabaseAcl;
  /** The process's metrics: served at GET /metrics (Bearer `metricsToken` when set) and fed by every request. */
  metrics?: Metrics;
  metricsToken?: string;
  /** Optional so tests of other services can build the app without them. */
  triggers?: TriggerService;
  webhooks?: WebhookReceiver;
}

/** The Express application; all state lives in the injected services, so tests build it directly. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const given = req.header('x-request-id');
    res.setHeader('x-request-id', given !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID());
    next();
  });
  app.use(httpObservability(deps.logger, deps.metrics));
  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics, deps.metricsToken));
  app.use(docsRouter(apiDocument()));
  // Webhooks: raw body, signature auth; before the JSON parser and before API-key auth.
  if (deps.webhooks) app.use('/api/v1/webhooks', webhooksRouter(deps.webhooks));
  app.use(express.json({ limit: '1mb' }));
  app.use('/health', healthRouter(deps.health));
  app.use('/api/v1', authMiddleware(deps.keys)); // every /api/v1 route below needs a key (webhooks excepted)
  app.use(rejectUnstorableText); // after auth, so an unauthenticated request is a 401 whatever it carries
  app.use('/api/v1/keys', keysRouter(deps.keys));
  app.use('/api/v1/acl', aclRouter(deps.acl));
  app.use('/api/v1/db', dbRouter(deps.acl));
  app.use('/api/v1/plans', plansRouter(deps.plans));
  app.use('/api/v1/plugins', pluginsRouter(deps.plugins));
  app.use('/api/v1/events', eventsRouter(deps.events, deps.streams ?? createEventStreams({ events: deps.events }), deps.logger, deps.plugins.mayEmit));
  app.use('/api/v1/tools', toolsRouter(deps.tools));
  app.use('/api/v1/custom-tools', customToolsRouter(deps.tools));
  app.use('/api/v1/resources', resourcesRouter(deps.resources));
  if (deps.triggers) app.use('/api/v1/triggers', triggersRouter(deps.triggers));
  app.use(unmatchedRouteHandler(API_ROUTE_GROUPS));
  app.use(errorMiddleware(deps.logger));
  return app;
}
