import type { PrismaClient } from '../platform/database';
import { createAclActivities, type AclActivityDeps } from './acl/acl-activities';
import { createPlanActivities } from './plans/plan-activities';
import type { EventPublisher } from './events/event-types';
import type { ToolExecutor } from './tools/tool-executor';

export interface ActivityDeps {
  prisma: PrismaClient;
  tools: ToolExecutor;
  events: EventPublisher;
  acl: AclActivityDeps['acl'];
}

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createAclActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
