import type { PrismaClient } from '../platform/database';
import type { EventBus } from './events/event-bus';
import { createEventActivities } from './events/event-activities';
import { createPlanActivities } from './plans/plan-activities';
import type { ToolExecutor } from './tools/tool-executor';

export interface ActivityDeps {
  prisma: PrismaClient;
  tools: ToolExecutor;
  events: EventBus;
}

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createEventActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
