import express, { type Express } from 'express';
import { createApp } from '../../api/app';
import { createPlanService } from '../../activities/plans/plan-service';
import { createLogger } from '../../platform/logger';
import type { TestStack } from './test-stack';

/** Header through which tests choose the principal (stand-in for the auth middleware of the API-keys work). */
export const PRINCIPAL_HEADER = 'x-test-principal';

/** The real API app over the stack's services, with the request principal taken from PRINCIPAL_HEADER. */
export function toolTestApp(stack: TestStack): Express {
  const app = createApp({
    logger: createLogger('test', 'silent'),
    health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: () => stack.client.connection.workflowService.getSystemInfo({}) },
    plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools }),
    tools: stack.tools,
    resources: stack.resources,
    events: stack.bus,
  });
  const outer = express();
  outer.use((req, _res, next) => {
    const principal = req.header(PRINCIPAL_HEADER);
    if (principal) (req as typeof req & { principal?: string }).principal = principal;
    next();
  });
  outer.use(app);
  return outer;
}
