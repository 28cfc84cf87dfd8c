import type { PrismaClient } from '../../platform/database';
import { AppError } from '../../platform/errors';
import { compilePattern } from '../events/event-pattern';
import type { PlanStep } from '../plans/plan-schemas';
import type { PlanService } from '../plans/plan-service';
import { createSchema, RESOURCE_STORAGE, RESOURCE_TYPES, type ResourceType } from '../resources/resource-definitions';
import { matchesFilter, valueAtPath, type PayloadFilter } from './payload-filter';
import { triggerPrincipal } from './trigger-principal';
import { EventConfig, TriggerAction } from './trigger-schemas';

/** What is known, from stored definitions alone, of an event an action emits: a key that is absent is unknown. */
export interface KnownEvent {
  type: string;
  source?: string;
  data: Record<string, unknown>;
}

/** A trigger as the check sees it (a stored row, or the definition about to be stored). */
export interface TriggerDefinition {
  id: string;
  name: string;
  type: string;
  config: unknown;
  action: unknown;
  /** Whom its firings act for (trigger-principal.ts). */
  createdBy: string | null;
}

/** How deep the check follows sub-plans of a plan. */
const MAX_SUB_PLAN_DEPTH = 8;
const TRIGGER_SOURCE = 'trigger-service';
const PLAN_SOURCE = 'plan-service';
const RESOURCE_TOOL = /^core\.([a-z_]+)\.(create|update|delete)$/;

const isTemplated = (value: unknown): boolean =>
  typeof value === 'string' ? value.includes('{{') : Array.isArray(value) ? value.some(isTemplated) : value !== null && typeof value === 'object' ? Object.values(value).some(isTemplated) : false;
const isScalar = (value: unknown): boolean => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/**
 * The filter's verdict on an event of which only `known` is known: true or false when every
 * comparison it depends on reads a known scalar, undefined (may match) otherwise. Paths read the
 * envelope as the dispatcher does (`type`, `category`, `source`, `data.…`).
 */
export function staticVerdict(filter: PayloadFilter, known: KnownEvent): boolean | undefined {
  if ('all' in filter) {
    const verdicts = filter.all.map((f) => staticVerdict(f, known));
    return verdicts.includes(false) ? false : verdicts.every((v) => v === true) ? true : undefined;
  }
  if ('any' in filter) {
    const verdicts = filter.any.map((f) => staticVerdict(f, known));
    return verdicts.includes(true) ? true : verdicts.every((v) => v === false) ? false : undefined;
  }
  if ('not' in filter) {
    const verdict = staticVerdict(filter.not, known);
    return verdict === undefined ? undefined : !verdict;
  }
  const envelope = { type: known.type, category: known.type.split('.')[0], ...(known.source !== undefined ? { source: known.source } : {}), data: known.data };
  const actual = valueAtPath(envelope, filter.path);
  // A known scalar decides the comparison as the dispatcher would.
  if (!isScalar(actual) || actual === undefined) return undefined;
  return matchesFilter(filter, envelope);
}

/** Who makes a call: the requester, and the firing it is made through when a trigger's own call (`via`). */
export interface Caller {
  requesterId: string;
  via?: string;
}

/** The events a successful call of `tool` with `args` by `caller` is known to emit (tool.executed and the built-in resource tools' resource.*). */
export function toolEvents(tool: string, args: Record<string, unknown>, { requesterId, via }: Caller): KnownEvent[] {
  const events: KnownEvent[] = [{ type: 'tool.executed', source: 'tool-registry', data: { tool, requesterId, ...(via !== undefined ? { via } : {}), outcome: 'success' } }];
  const match = RESOURCE_TOOL.exec(tool);
  if (!match || !(RESOURCE_TYPES as string[]).includes(match[1]!)) return events;
  const resourceType = match[1] as ResourceType;
  const literal = (key: string) => (args[key] !== undefined && !isTemplated(args[key]) && isScalar(args[key]) ? { [key]: args[key] } : {});
  if (match[2] === 'create') {
    let data: Record<string, unknown> = {};
    if (!isTemplated(args)) {
      const parsed = createSchema(resourceType).safeParse(args);
      if (!parsed.success) return events; // the call fails: no resource.created
      data = Object.fromEntries(Object.entries(parsed.data as Record<string, unknown>).filter(([k, v]) => isScalar(v) && !RESOURCE_STORAGE[resourceType].dateFields.includes(k)));
    }
    events.push({ type: 'resource.created', source: requesterId, data: { resourceType, data } });
  } else {
    events.push({ type: match[2] === 'update' ? 'resource.updated' : 'resource.deleted', source: requesterId, data: { resourceType, ...literal('id') } });
  }
  return events;
}

/**
 * Refuses an event trigger whose action provably fires itself again, directly or through other
 * enabled event triggers (see README "Trigger cycles at definition time"). Only stored definitions
 * are read; a cycle that depends on what is not known there is left to the run-time guard.
 */
export function createTriggerCycleCheck({ prisma, plans }: { prisma: PrismaClient; plans: Pick<PlanService, 'getPlan'> }) {
  /** The events a successful run of plan `planId` (and its sub-plans) started by `caller` is known to emit (its steps call as the starter, through the run's `via`). */
  const planEvents = async (planId: string, caller: Caller, seen: Set<string>, depth: number): Promise<KnownEvent[]> => {
    if (seen.has(planId) || depth > MAX_SUB_PLAN_DEPTH) return [];
    seen.add(planId);
    const plan = await plans.getPlan(planId).catch(() => null);
    if (!plan) return [];
    const events: KnownEvent[] = [{ type: 'plan.started', source: PLAN_SOURCE, data: { planId } }];
    const steps: PlanStep[] = plan.definition.steps;
    // An approval may be rejected and a condition may skip steps: then only the start is certain.
    if (steps.some((s) => s.kind === 'approval' || s.kind === 'condition')) return events;
    events.push({ type: 'plan.completed', source: PLAN_SOURCE, data: { planId } });
    for (const step of steps) {
      for (const type of ['plan.step_started', 'plan.step_completed']) events.push({ type, source: PLAN_SOURCE, data: { planId, stepId: step.id } });
      if (step.kind === 'tool') events.push({ type: 'plan.step_attempt', source: PLAN_SOURCE, data: { planId, stepId: step.id } }, ...toolEvents(step.tool, step.args, caller));
      if (step.kind === 'sub_plan') events.push(...(await planEvents(step.planId, caller, seen, depth + 1)));
    }
    return events;
  };

  /** The events a successful firing of `trigger` is known to emit. */
  const firingEvents = async (trigger: TriggerDefinition): Promise<KnownEvent[]> => {
    const action = TriggerAction.safeParse(trigger.action);
    const executed: KnownEvent = { type: 'trigger.executed', source: TRIGGER_SOURCE, data: { triggerId: trigger.id, triggerType: trigger.type } };
    if (!action.success) return [executed];
    // Firings act for the creator, through the trigger (a legacy row without a creator acts as the trigger).
    const via = triggerPrincipal(trigger.id);
    const requesterId = trigger.createdBy ?? via;
    const caused = action.data.kind === 'plan' ? await planEvents(action.data.planId, { requesterId, via }, new Set(), 0) : toolEvents(action.data.tool, action.data.args, { requesterId, via });
    return [...caused, executed];
  };

  /** Whether `event` emitted by `from`'s firing may fire `to` (as the dispatcher matches; a trigger ignores its own trigger.* events). */
  const mayFire = (event: KnownEvent, from: TriggerDefinition, to: { trigger: TriggerDefinition; config: EventConfig; matches: (type: string) => boolean }): boolean => {
    if (!to.matches(event.type)) return false;
    if (event.type.startsWith('trigger.') && from.id === to.trigger.id) return false;
    return to.config.filter === undefined || staticVerdict(to.config.filter, event) !== false;
  };

  return {
    /**
     * Throws UNPROCESSABLE (details.cycle: the triggers in order, first = last = `candidate`) when
     * `candidate`, an enabled event trigger about to be stored, closes a cycle with itself or the
     * enabled event triggers stored now. Other triggers pass.
     */
    async assertNoCycle(candidate: TriggerDefinition): Promise<void> {
      if (candidate.type !== 'event') return;
      const rows = await prisma.trigger.findMany({ where: { type: 'event', isEnabled: true, id: { not: candidate.id } }, orderBy: { createdAt: 'asc' } });
      const nodes = [candidate, ...rows].flatMap((trigger) => {
        const config = EventConfig.safeParse(trigger.config);
        return config.success ? [{ trigger, config: config.data, matches: compilePattern(config.data.pattern) }] : [];
      });
      // Breadth-first from the candidate: the first path back to it is a shortest cycle.
      const parent = new Map<string, string>();
      const queue = [candidate.id];
      const byId = new Map(nodes.map((n) => [n.trigger.id, n]));
      while (queue.length > 0) {
        const id = queue.shift()!;
        const from = byId.get(id)!.trigger;
        const events = await firingEvents(from);
        for (const to of nodes) {
          if (to.trigger.id !== candidate.id && parent.has(to.trigger.id)) continue;
          if (!events.some((e) => mayFire(e, from, to))) continue;
          if (to.trigger.id === candidate.id) {
            const path = [from.id];
            while (path[0] !== candidate.id) path.unshift(parent.get(path[0]!)!);
            const cycle = [...path, candidate.id].map((n) => ({ id: n, name: byId.get(n)!.trigger.name }));
            throw new AppError('UNPROCESSABLE', `trigger '${candidate.name}' would close a cycle: ${cycle.map((c) => c.name).join(' → ')}`, { cycle });
          }
          parent.set(to.trigger.id, id);
          queue.push(to.trigger.id);
        }
      }
    },
  };
}
export type TriggerCycleCheck = ReturnType<typeof createTriggerCycleCheck>;
