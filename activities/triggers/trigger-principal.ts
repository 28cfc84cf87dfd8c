import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { parsePrincipal } from '../tools/tool-permissions';

const PREFIX = 'trigger:';

/** A trigger's own identity: what its firings' calls carry as `via` (tool.executed, the events' cause). */
export function triggerPrincipal(triggerId: string): string {
  return `${PREFIX}${triggerId}`;
}

/** Whether `principal` is a trigger's identity (never an API key's principal). */
export function isTriggerPrincipal(principal: string): boolean {
  return principal.startsWith(PREFIX);
}

/** Whom a firing acts for, and the firing identity it acts through. */
export interface FiringActor {
  /** The creator (admin, `user:<id>`, `plugin:<id>`), whose data and permissions apply; `trigger:<id>` for a trigger stored without one. */
  principal: string;
  /** `trigger:<id>`. */
  via: string;
}

/**
 * Resolves at firing time whom a trigger acts for: its creator, so what it creates is theirs and
 * what it reads is what they may read, and every tool and plan check applies to them now (not
 * when the trigger was saved). A plugin's trigger acts as the plugin only while it is enabled, a
 * user's only while the user has a key that is not revoked (FORBIDDEN otherwise). A legacy row without a creator acts as `trigger:<id>`, as before: nobody's
 * data, and no more than it had. NOT_FOUND when the trigger is gone.
 */
export function createFiringActors({ prisma }: { prisma: Pick<PrismaClient, 'trigger' | 'plugin' | 'apiKey'> }) {
  const actorOf = async (trigger: { id: string; createdBy: string | null }): Promise<FiringActor> => {
    const via = triggerPrincipal(trigger.id);
    if (trigger.createdBy === null) return { principal: via, via };
    const creator = parsePrincipal(trigger.createdBy);
    if (creator.kind === 'plugin') {
      const plugin = await prisma.plugin.findUnique({ where: { id: creator.id }, select: { status: true } });
      if (plugin?.status !== 'enabled') {
        throw new AppError('FORBIDDEN', `trigger '${trigger.id}' acts for ${trigger.createdBy}, which is not enabled`, { triggerId: trigger.id, principal: trigger.createdBy });
      }
    }
    // Users exist only through their keys: one whose keys are all revoked has been let go, and so have their triggers.
    if (creator.kind === 'user' && (await prisma.apiKey.count({ where: { principal: trigger.createdBy, revokedAt: null } })) === 0) {
      throw new AppError('FORBIDDEN', `trigger '${trigger.id}' acts for ${trigger.createdBy}, who has no API key that is not revoked`, { triggerId: trigger.id, principal: trigger.createdBy });
    }
    return { principal: trigger.createdBy, via };
  };

  return {
    /** The actor of a trigger row already read. */
    actorOf,
    /** Reads the trigger and answers its actor. */
    async actorOfTrigger(triggerId: string): Promise<FiringActor> {
      const trigger = await prisma.trigger.findUnique({ where: { id: triggerId }, select: { id: true, createdBy: true } });
      if (!trigger) throw notFound('trigger', triggerId);
      return actorOf(trigger);
    },
  };
}
export type FiringActors = ReturnType<typeof createFiringActors>;
