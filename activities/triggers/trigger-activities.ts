import { createHash } from 'node:crypto';
import type { PrismaClient } from '../../platform/database';
import { toActivityFailure } from '../activity-failure';
import { retryWhileDatabaseUnavailable } from '../database-outage';
import { whileHeartbeating } from '../heartbeat';
import type { BegunTriggerRun, ResolvedTriggerAction, TriggerRunInput } from '../../workflows/trigger-types';
import type { EventPublisher } from '../events/event-types';
import type { PlanService } from '../plans/plan-service';
import type { ToolExecutor } from '../tools/tool-executor';
import { matchesFilter } from './payload-filter';
import { renderTemplate } from './payload-template';
import { TRIGGER_START_KEY_PREFIX } from '../plans/plan-schemas';
import { causationRefusal } from './trigger-causation';
import { createFiringActors } from './trigger-principal';
import { ConditionConfig, TriggerAction } from './trigger-schemas';

export interface TriggerActivityDeps {
  prisma: PrismaClient;
  tools: Pick<ToolExecutor, 'execute'>;
  events: EventPublisher;
  plans: Pick<PlanService, 'executePlan'>;
  /** The most firings one causal chain may hold (config TRIGGER_MAX_CHAIN_DEPTH); default 8. */
  maxChainDepth?: number;
}

/** sha256 of the payload's JSON (keys in insertion order), or null when there is none. */
export function payloadDigest(payload: unknown): string | null {
  if (payload === undefined) return null;
  return createHash('sha256').update(JSON.stringify(payload) ?? 'undefined').digest('hex');
}

/** Activities of the trigger-run and condition-check workflows; firings act for their trigger's creator (trigger-principal.ts). */
export function createTriggerActivities({ prisma, tools, events, plans, maxChainDepth = 8 }: TriggerActivityDeps) {
  const actors = createFiringActors({ prisma });
  return {
    /**
     * Writes the run's trigger_history row (id = workflow id, so a retry writes it once) and
     * returns the action with its templates filled; null when the trigger no longer exists, or
     * when the firing would close a cycle or exceed the chain depth: then the row is 'skipped'
     * with the reason and no action is taken.
     */
    async beginTriggerRun(input: TriggerRunInput & { workflowId: string }): Promise<BegunTriggerRun | null> {
      const trigger = await prisma.trigger.findUnique({ where: { id: input.triggerId } });
      if (!trigger) return null;
      const firedAt = new Date();
      const chain = input.chain ?? [];
      const refusal = causationRefusal(trigger.id, chain, maxChainDepth);
      await prisma.triggerHistory.createMany({
        data: [{
          id: input.workflowId, triggerId: trigger.id, firedAt, triggerType: trigger.type, payloadDigest: payloadDigest(input.payload), workflowId: input.workflowId, causationChain: chain,
          ...(refusal === null ? { status: 'running' } : { status: 'skipped', error: refusal, durationMs: 0 }),
        }],
        skipDuplicates: true,
      });
      if (refusal !== null) return null;
      const action = TriggerAction.parse(trigger.action);
      const context = { payload: input.payload ?? null, trigger: { id: trigger.id, name: trigger.name, type: trigger.type }, source: input.source, firedAt: firedAt.toISOString() };
      const resolved: ResolvedTriggerAction =
        action.kind === 'plan'
          ? { kind: 'plan', planId: action.planId, input: renderTemplate(action.input, context) as Record<string, unknown> }
          : { kind: 'tool', tool: action.tool, args: renderTemplate(action.args, context) as Record<string, unknown> };
      return { historyId: input.workflowId, triggerType: trigger.type, action: resolved };
    },

    /**
     * Starts the plan run (a workflow of its own) for the trigger's creator, who must still be allowed
     * to use the plan, and records its workflow id on the history row; the firing's id is the start
     * key (a prefix only firings may use), so a retried activity finds the same run instead of a second.
     */
    async startTriggerPlan(input: { historyId: string; triggerId: string; planId: string; input: Record<string, unknown> }): Promise<string> {
      try {
        // Idempotent (start key, same update), so a PostgreSQL outage is waited out rather than spending attempts.
        return await retryWhileDatabaseUnavailable(async () => {
          const actor = await actors.actorOfTrigger(input.triggerId);
          const run = await plans.executePlan(input.planId, input.input, actor.principal, {
            startKey: `${TRIGGER_START_KEY_PREFIX}${input.historyId}`,
            via: actor.via,
            // A legacy trigger without a creator acts as itself, which owns no plan: it keeps the save-time check only.
            checkAccess: actor.principal !== actor.via,
          });
          await prisma.triggerHistory.update({ where: { id: input.historyId }, data: { planWorkflowId: run.workflowId } });
          return run.workflowId;
        });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /**
     * Calls the trigger's tool for the trigger's creator, via the trigger, heartbeating every second
     * (so a lost worker is noticed at the heartbeat timeout); a cancellation request aborts the tool.
     */
    async callTriggerTool(input: { triggerId: string; tool: string; args: Record<string, unknown>; idempotencyKey: string }): Promise<unknown> {
      try {
        return await whileHeartbeating((signal) =>
          retryWhileDatabaseUnavailable(async () => {
            const actor = await actors.actorOfTrigger(input.triggerId);
            return tools.execute(input.tool, input.args, { requesterId: actor.principal, via: actor.via, idempotencyKey: input.idempotencyKey, signal });
          }),
        );
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Completes the history row (status, error, duration since firing) and emits trigger.executed / trigger.failed. */
    async finishTriggerRun(input: { historyId: string; triggerId: string; status: 'succeeded' | 'failed'; error?: string; planWorkflowId?: string }): Promise<void> {
      const row = await prisma.triggerHistory.findUnique({ where: { id: input.historyId } });
      if (!row) return; // the trigger was deleted meanwhile (history cascades)
      const durationMs = Math.max(0, Date.now() - row.firedAt.getTime());
      await prisma.triggerHistory.update({
        where: { id: input.historyId },
        data: { status: input.status, error: input.error ?? null, durationMs, planWorkflowId: input.planWorkflowId ?? row.planWorkflowId },
      });
      const data = {
        triggerId: input.triggerId, runId: input.historyId, triggerType: row.triggerType, durationMs, planWorkflowId: input.planWorkflowId ?? row.planWorkflowId, error: input.error,
        // Event triggers fired by this event inherit the chain (the cycle guard reads it).
        triggerChain: [...row.causationChain, input.triggerId],
      };
      events.emit(input.status === 'succeeded' ? 'trigger.executed' : 'trigger.failed', data, 'trigger-service');
    },

    /**
     * Calls the condition's tool, tests its expression against `{ result }` and persists the edge
     * state under a row lock: fires on false→true, or on the first true check after the cooldown
     * when the edge came during it. A retried check (same checkId) that already fired answers fire
     * again; a tool failure, or a creator no longer allowed to act, keeps the old state and records the error.
     */
    async checkTriggerCondition(input: { triggerId: string; checkId: string }): Promise<{ fire: boolean; value: boolean; payload?: unknown }> {
      const trigger = await prisma.trigger.findUnique({ where: { id: input.triggerId } });
      if (!trigger || trigger.type !== 'condition' || !trigger.isEnabled) return { fire: false, value: false };
      const config = ConditionConfig.parse(trigger.config);
      let result: unknown;
      try {
        const actor = await actors.actorOf(trigger);
        result = await tools.execute(config.tool, config.args, { requesterId: actor.principal, via: actor.via, idempotencyKey: input.checkId });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await prisma.triggerConditionState.upsert({
          where: { triggerId: trigger.id },
          create: { triggerId: trigger.id, lastCheckedAt: new Date(), lastError: message },
          update: { lastCheckedAt: new Date(), lastError: message },
        });
        return { fire: false, value: false };
      }
      const value = matchesFilter(config.expression, { result });
      return prisma.$transaction(async (tx) => {
        await tx.triggerConditionState.createMany({ data: [{ triggerId: trigger.id }], skipDuplicates: true });
        const [state] = await tx.$queryRaw<{ last_value: boolean; last_fired_at: Date | null; last_fired_check: string | null }[]>`
          SELECT last_value, last_fired_at, last_fired_check FROM trigger_condition_state WHERE trigger_id = ${trigger.id} FOR UPDATE`;
        if (state?.last_fired_check === input.checkId) return { fire: true, value: true, payload: { result } };
        const now = new Date();
        const cooledDown = !state?.last_fired_at || now.getTime() - state.last_fired_at.getTime() >= config.cooldownSeconds * 1000;
        const edge = value && !state?.last_value;
        const fire = edge && cooledDown;
        await tx.triggerConditionState.update({
          where: { triggerId: trigger.id },
          // An edge held back by the cooldown keeps last_value false (armed), so it fires once the cooldown has passed.
          data: { lastValue: edge && !cooledDown ? false : value, lastCheckedAt: now, lastError: null, ...(fire ? { lastFiredAt: now, lastFiredCheck: input.checkId } : {}) },
        });
        return { fire, value, payload: fire ? { result } : undefined };
      });
    },
  };
}
export type TriggerActivities = ReturnType<typeof createTriggerActivities>;
