import { stackApp } from './tool-test-app';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createPlanService } from '../../activities/plans/plan-service';
import { createEventTriggerDispatcher } from '../../activities/triggers/event-trigger-dispatcher';
import { createTriggerRunStarter } from '../../activities/triggers/trigger-run-starter';
import { createTriggerService } from '../../activities/triggers/trigger-service';
import { createRateLimiter } from '../../activities/triggers/webhook-rate-limiter';
import { createWebhookReceiver } from '../../activities/triggers/webhook-receiver';
import { createLogger } from '../../platform/logger';
import { authed, createTestKey, testKeyService } from './api-auth';
import { createSecretBox } from '../../platform/secret-box';
import type { TestStack } from './test-stack';

/**
 * The API app with the real plan and trigger services over a test stack, an admin-authenticated
 * agent (`api`), and the pieces tests poke. `client`/`taskQueue` point the services at another
 * Temporal server (a test's own) instead of the stack's.
 */
export async function buildTriggerApp(stack: TestStack, options: { temporal?: Pick<Client, 'schedule'>; orphanGraceMs?: number; client?: Client; taskQueue?: string } = {}) {
  const client = options.client ?? stack.client;
  const taskQueue = options.taskQueue ?? stack.taskQueue;
  const logger = createLogger('test', 'silent');
  const tools = stack.tools;
  const secrets = createSecretBox(randomBytes(32));
  const starter = createTriggerRunStarter({ temporal: client, taskQueue });
  const plans = createPlanService({ prisma: stack.prisma, temporal: client, taskQueue, tools });
  const triggers = createTriggerService({
    prisma: stack.prisma,
    temporal: options.temporal ?? client,
    taskQueue,
    starter,
    secrets,
    plans,
    tools,
    orphanGraceMs: options.orphanGraceMs,
  });
  const webhooks = createWebhookReceiver({ prisma: stack.prisma, secrets, starter, rateLimiter: createRateLimiter() });
  const app = stackApp(stack, { logger, plans, triggers, webhooks });
  const api = authed(app, await createTestKey(testKeyService(stack.prisma), 'admin'));
  const dispatcher = createEventTriggerDispatcher({ prisma: stack.prisma, starter, logger });
  return { app, api, plans, triggers, webhooks, starter, dispatcher, secrets };
}
