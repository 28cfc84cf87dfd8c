import express, { type Express } from 'express';
import { createApp, type AppDeps } from '../../api/app';
import { createPlanService } from '../../activities/plans/plan-service';
import { createPluginService } from '../../activities/plugins/plugin-service';
import { createLogger } from '../../platform/logger';
import { createTestKey, testKeyService } from './api-auth';
import type { TestStack } from './test-stack';

/** Header through which tests choose the principal; it is swapped for a real API key of that principal. */
export const PRINCIPAL_HEADER = 'x-test-principal';

/** The real API app over the stack's services (every router), as `api/main.ts` builds it. */
export function stackApp(stack: TestStack, overrides: Partial<AppDeps> = {}): Express {
  return createApp({
    logger: createLogger('test', 'silent'),
    health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: () => stack.client.connection.workflowService.getSystemInfo({}) },
    plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools }),
    plugins: createPluginService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools }),
    tools: stack.tools,
    resources: stack.resources,
    events: stack.bus,
    keys: testKeyService(stack.prisma),
    acl: stack.acl,
    ...overrides,
  });
}

/** `stackApp` behind a front door that authenticates PRINCIPAL_HEADER with a real key of that principal. */
export function toolTestApp(stack: TestStack, overrides: Partial<AppDeps> = {}): Express {
  const keys = testKeyService(stack.prisma);
  const keyOf = new Map<string, Promise<string>>();
  const outer = express();
  outer.use(async (req, _res, next) => {
    const principal = req.header(PRINCIPAL_HEADER);
    if (principal && req.header('authorization') === undefined) {
      if (!keyOf.has(principal)) keyOf.set(principal, createTestKey(keys, principal));
      req.headers.authorization = `Bearer ${await keyOf.get(principal)!}`;
    }
    next();
  });
  outer.use(stackApp(stack, overrides));
  return outer;
}
