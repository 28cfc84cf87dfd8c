import type { PrismaClient } from '../platform/database';
import { createAclActivities, type AclActivityDeps } from './acl/acl-activities';
import type { EventPublisher } from './events/event-types';
import { createPlanActivities } from './plans/plan-activities';
import type { PlanService } from './plans/plan-service';
import type { ToolExecutor } from './tools/tool-executor';
import { createTriggerActivities } from './triggers/trigger-activities';

export interface ActivityDeps {
  prisma: PrismaClient;
  tools: ToolExecutor;
  acl: AclActivityDeps['acl'];
  events: EventPublisher;
  plans: Pick<PlanService, 'executePlan'>;
}

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createAclActivities(deps),
    ...createTriggerActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
