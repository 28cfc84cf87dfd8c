import type { PrismaClient } from '../../platform/database';
import type { EventCause, OwnPilotEvent } from '../events/event-types';
import { TRIGGER_START_KEY_PREFIX } from '../plans/plan-schemas';
import { isTriggerPrincipal, triggerPrincipal } from './trigger-principal';

/** How far up a sub-plan chain the resolver looks for the root run. */
const MAX_PLAN_NESTING = 32;

/**
 * Why a firing of `triggerId` caused by `chain` (oldest first) must not run: the trigger is
 * already in its own causal chain (a cycle), or the chain already holds `maxDepth` firings.
 * Null when it may run.
 */
export function causationRefusal(triggerId: string, chain: readonly string[], maxDepth: number): string | null {
  if (chain.includes(triggerId)) return `cycle: ${[...chain.slice(chain.indexOf(triggerId)), triggerId].join(' → ')}`;
  if (chain.length >= maxDepth) return `causation chain of ${chain.length} firings reaches the limit of ${maxDepth}`;
  return null;
}

const stringArray = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;

/**
 * Finds the trigger firings that caused an event (oldest first), so a firing it starts can carry
 * them: `trigger.*` events carry `triggerChain`; `plan.*` events of a run a trigger started (or of
 * its sub-plans) lead to that firing through the run's start key; any event emitted while a tool
 * ran (tool.executed, resource.*, plugin events, ...) carries that call as its `cause`: a trigger's
 * own tool call (`via` `trigger:<id>`, set by the trigger activities; key = the firing id,
 * nothing after it) leads to that firing, a plan step's call (key `<planRunId>/<stepId>/<generation>[/...]`,
 * requester = the run's starter, `via` = the run's when a trigger started it) to that run's chain.
 * A cause whose `via` or requester does not match the firing or run it names is ignored, so no
 * caller can pin its events on someone else's chain. Any other event has no known cause ([]).
 */
export function createCausationResolver({ prisma }: { prisma: PrismaClient }) {
  const chainOfFiring = async (historyId: string, via?: string): Promise<string[]> => {
    const row = await prisma.triggerHistory.findUnique({ where: { id: historyId }, select: { triggerId: true, causationChain: true } });
    if (!row || (via !== undefined && via !== triggerPrincipal(row.triggerId))) return [];
    return [...row.causationChain, row.triggerId];
  };

  const chainOfPlanRun = async (runId: string): Promise<string[]> => {
    let id: string | null = runId;
    for (let depth = 0; id !== null && depth < MAX_PLAN_NESTING; depth++) {
      const run: { startKey: string | null; parentRunId: string | null } | null = await prisma.planRun.findUnique({ where: { id }, select: { startKey: true, parentRunId: true } });
      if (!run) return [];
      if (run.startKey?.startsWith(TRIGGER_START_KEY_PREFIX)) return chainOfFiring(run.startKey.slice(TRIGGER_START_KEY_PREFIX.length));
      id = run.parentRunId;
    }
    return [];
  };

  const chainOfCause = async ({ requesterId, idempotencyKey, via }: EventCause): Promise<string[]> => {
    if (idempotencyKey === undefined) return [];
    const root = idempotencyKey.split('/')[0]!;
    // A firing's call names it in `via`; as requester, `trigger:<id>` is a legacy trigger acting as itself (or a call made before `via`).
    const firing = via ?? (isTriggerPrincipal(requesterId) ? requesterId : undefined);
    if (firing !== undefined && root === idempotencyKey) {
      const chain = await chainOfFiring(root, firing);
      if (chain.length > 0) return chain;
    }
    // A step's call names its run's `via` (absent from calls of workers that predate it, which are followed as before).
    const run = await prisma.planRun.findUnique({ where: { id: root }, select: { startedBy: true, via: true } });
    return run && run.startedBy === requesterId && (via === undefined || via === run.via) ? chainOfPlanRun(root) : [];
  };

  return {
    /** The causal chain of trigger ids behind `event`, oldest first; [] when none is known. */
    async chainOf(event: OwnPilotEvent): Promise<string[]> {
      const data = (event.data ?? {}) as Record<string, unknown>;
      if (event.category === 'trigger') return stringArray(data.triggerChain) ?? [];
      if (event.category === 'plan' && typeof data.runId === 'string') return chainOfPlanRun(data.runId);
      return event.cause ? chainOfCause(event.cause) : [];
    },
  };
}
export type CausationResolver = ReturnType<typeof createCausationResolver>;
