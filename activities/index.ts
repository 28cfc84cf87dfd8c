import type { Pool } from 'pg';
import type { PrismaClient } from '../platform/database';
import type { EventBus } from './events/event-bus';
import { createEventActivities } from './events/event-activities';
import { createAclActivities, type AclActivityDeps } from './acl/acl-activities';
import { createPlanActivities } from './plans/plan-activities';
import { createPluginActivities } from './plugins/plugin-activities';
import { createPluginUpgradeActivities } from './plugins/plugin-upgrade-activities';
import { createToolActivities } from './tools/tool-activities';
import type { ToolRegistry } from './tools/tool-registry';
import type { PlanService } from './plans/plan-service';
import { createTriggerActivities } from './triggers/trigger-activities';

export interface ActivityDeps {
  prisma: PrismaClient;
  /** node-postgres pool for hot-path statements that bypass Prisma (plan bookkeeping). */
  sql: Pick<Pool, 'query'>;
  tools: ToolRegistry;
  events: EventBus;
  acl: AclActivityDeps['acl'];
  plans: Pick<PlanService, 'executePlan'>;
  /** Config TRIGGER_MAX_CHAIN_DEPTH (trigger cycle guard); the trigger activities' default when unset. */
  triggerMaxChainDepth?: number;
}

/** Every activity the worker registers, built from injected dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createEventActivities(deps),
    ...createToolActivities(deps),
    ...createAclActivities(deps),
    ...createPluginActivities({ prisma: deps.prisma, events: deps.events, pluginTools: deps.tools, pluginTables: deps.acl }),
    ...createPluginUpgradeActivities({ prisma: deps.prisma, events: deps.events, pluginTools: deps.tools, pluginTables: deps.acl }),
    ...createTriggerActivities({ ...deps, maxChainDepth: deps.triggerMaxChainDepth }),
  };
}
export type Activities = ReturnType<typeof createActivities>;
