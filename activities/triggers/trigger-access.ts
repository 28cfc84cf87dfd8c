import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import type { PlanService } from '../plans/plan-service';
import { eventScope } from '../events/event-visibility';
import type { TriggerAction } from './trigger-schemas';

/**
 * Who may reach a trigger through the API: its creator and admin. Anyone else could otherwise
 * rotate a webhook secret and receive the new one (taking the webhook over), change what a
 * trigger runs, or fire and delete it. A trigger may start only a plan its creator may use.
 */
export function createTriggerAccess({ prisma, plans }: { prisma: Pick<PrismaClient, 'trigger'>; plans: Pick<PlanService, 'assertMayUsePlan'> }) {
  return {
    /** Resolves when `principal` may use trigger `id`; NOT_FOUND when it does not exist, FORBIDDEN when it is someone else's. */
    async assertMayUseTrigger(id: string, principal: string): Promise<void> {
      const row = await prisma.trigger.findUnique({ where: { id }, select: { createdBy: true } });
      if (!row) throw notFound('trigger', id);
      if (principal !== 'admin' && row.createdBy !== principal) throw new AppError('FORBIDDEN', `${principal} may not use trigger '${id}'`, { id });
    },

    /** Resolves when `principal` may point a trigger at `action` (a plan action needs a plan they may use); FORBIDDEN otherwise. A missing plan passes: createTrigger reports it (422). */
    async assertMayUseAction(action: TriggerAction | undefined, principal: string): Promise<void> {
      if (action?.kind !== 'plan') return;
      await plans.assertMayUsePlan(action.planId, principal).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
      });
    },

    /** The creator filter for listing as `principal`: admin sees every trigger, anyone else their own. */
    visibleTo: (principal: string): string | undefined => (principal === 'admin' ? undefined : principal),
  };
}

/**
 * An event trigger may watch only events its creator may read: a plugin's pattern must aim at its
 * own namespace (FORBIDDEN otherwise, as for the event API). The dispatcher filters each event
 * by the same rule (`mayReadEvent`); this only refuses a trigger that could never fire.
 */
export function assertMayWatch(type: string, config: unknown, creator: string): void {
  if (type !== 'event') return;
  eventScope(creator, { type: (config as { pattern: string }).pattern });
}
