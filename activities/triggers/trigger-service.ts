import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type Client, type ScheduleHandle, ScheduleNotFoundError } from '@temporalio/client';
import type { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { asJson } from '../../platform/json';
import type { SecretBox } from '../../platform/secret-box';
import type { PlanService } from '../plans/plan-service';
import { invalidArguments, type ArgumentIssue } from '../tools/args-validator';
import type { ToolExecutor } from '../tools/tool-executor';
import { assertMayWatch, createTriggerAccess } from './trigger-access';
import { createTriggerCycleCheck } from './trigger-cycle-check';
import type { TriggerRunStarter } from './trigger-run-starter';
import { patchConfig } from './config-patch';
import { hasReference } from './payload-template';
import { createScheduleDriftCheck, SPEC_PROBE_PREFIX } from './schedule-drift';
import { createTriggerSchedules, SCHEDULE_PREFIX, SCHEDULED_TYPES, scheduleIdOf, scheduleOptionsFor, temporalOverlap } from './trigger-schedules';
import { type BackfillBody, CONFIG_SCHEMAS, type ScheduleConfig, type ConditionConfig, type CreateTriggerBody, type HistoryQuery, type ListTriggersQuery, type TriggerAction, type TriggerType, type UpdateTriggerBody } from './trigger-schemas';

export interface TriggerServiceDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'schedule'>;
  taskQueue: string;
  starter: Pick<TriggerRunStarter, 'start'>;
  secrets: SecretBox;
  /** Used to reject actions and conditions that name an unknown plan or tool (422). */
  plans: Pick<PlanService, 'getPlan' | 'assertMayUsePlan'>;
  tools: Pick<ToolExecutor, 'exists' | 'assertMayRunTool' | 'argumentIssues'>;
  /** Reconcile leaves schedules younger than this alone (their trigger row may not be committed yet). */
  orphanGraceMs?: number;
}

type TriggerRow = Prisma.TriggerGetPayload<object>;

/** The public shape of a trigger (secrets never included). */
function view(row: TriggerRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type as TriggerType,
    config: row.config,
    action: row.action,
    isEnabled: row.isEnabled,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** A fresh webhook secret: 32 random bytes, prefixed so it is recognisable in a vault. */
function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** How far in the future a backfill's end may be (clocks differ a little). */
const CLOCK_SKEW_MS = 60_000;
/**
 * For the transactions that wait on Temporal while they hold a trigger's row lock (a schedule
 * change commits with its row): Prisma's default 5 s is one slow Temporal answer on a busy machine.
 */
const SCHEDULE_TRANSACTION = { timeout: 30_000 };
/** How often repairSchedule reads a row again that changed between its probe and its lock. */
const MAX_REPAIR_ATTEMPTS = 3;
/** The most firings one backfill of an interval schedule may ask for (a cron range is bounded by MAX_BACKFILL_DAYS). */
const MAX_BACKFILL_FIRINGS = 10_000;

/** Trigger CRUD, firing, history and Temporal Schedule consistency (seed §5 ITriggerService). */
/** Whether a condition's config asks a different question (tool, args, expression): its interval or cooldown changing keeps the edge. */
function conditionChanged(before: unknown, after: unknown): boolean {
  const question = (c: Partial<ConditionConfig>) => JSON.parse(JSON.stringify({ tool: c.tool, args: c.args, expression: c.expression })) as unknown;
  return !isDeepStrictEqual(question(before as Partial<ConditionConfig>), question(after as Partial<ConditionConfig>));
}

export function createTriggerService({ prisma, temporal, taskQueue, starter, secrets, plans, tools, orphanGraceMs = 60_000 }: TriggerServiceDeps) {
  const schedules = createTriggerSchedules({ temporal, taskQueue });
  const cycles = createTriggerCycleCheck({ prisma, plans });
  const drift = createScheduleDriftCheck({ temporal });

  /**
   * UNPROCESSABLE when the action's plan or tool, or a condition's tool, does not exist; FORBIDDEN
   * when `owner` (the trigger's creator) may not run that tool. Firings act for the creator and the
   * registry checks again at each firing; this refuses early what could never run.
   * UNPROCESSABLE (`BAD_ARGS` problems) for tool arguments the tool refuses: the action's whatever
   * its `{{payload.x}}` references hold, a condition's as they are (they are sent unchanged).
   */
  async function checkReferences(action: TriggerAction | undefined, config: unknown, type: string, owner: string): Promise<void> {
    const condition = type === 'condition' && config !== undefined ? (config as ConditionConfig) : undefined;
    const calls = [
      ...(action?.kind === 'tool' ? [{ field: 'action.args', tool: action.tool, args: action.args, isTemplate: hasReference }] : []),
      // A condition's args are sent as they are: a `{{...}}` there is plain text.
      ...(condition ? [{ field: 'config.args', tool: condition.tool, args: condition.args, isTemplate: undefined }] : []),
    ];
    const missing: { plan?: string; tool?: string }[] = [];
    if (action?.kind === 'plan') await plans.getPlan(action.planId).catch(() => missing.push({ plan: action.planId }));
    for (const { tool } of calls) if (!(await tools.exists(tool))) missing.push({ tool });
    if (missing.length > 0) throw new AppError('UNPROCESSABLE', 'trigger references what does not exist', { missing });
    for (const { tool } of calls) await tools.assertMayRunTool(tool, owner);
    const problems: { code: 'BAD_ARGS'; field: string; tool: string; message: string; issues: ArgumentIssue[] }[] = [];
    for (const { field, tool, args, isTemplate } of calls) {
      const issues = await tools.argumentIssues(tool, args, isTemplate);
      if (issues.length > 0) problems.push({ code: 'BAD_ARGS', field, tool, message: `${field}: ${invalidArguments(tool, issues).message}`, issues });
    }
    if (problems.length > 0) throw new AppError('UNPROCESSABLE', problems.map((p) => p.message).join('; '), { problems });
  }

  async function load(id: string): Promise<TriggerRow> {
    const row = await prisma.trigger.findUnique({ where: { id } });
    if (!row) throw notFound('trigger', id);
    return row;
  }

  /** Flips the flag and pauses/unpauses the schedule (recreating it if missing) in one transaction; enabling an event trigger that closes a cycle is UNPROCESSABLE. */
  async function setEnabled(id: string, enabled: boolean) {
    if (enabled) {
      const current = await load(id);
      if (!current.isEnabled) await cycles.assertNoCycle(current);
    }
    const row = await prisma.$transaction(async (tx) => {
      const updated = await tx.trigger.update({ where: { id }, data: { isEnabled: enabled, updatedAt: new Date() } }).catch(() => null);
      if (!updated) throw notFound('trigger', id);
      if (SCHEDULED_TYPES.has(updated.type)) await schedules.setPaused(id, !enabled).catch(() => schedules.put(updated));
      return updated;
    }, SCHEDULE_TRANSACTION);
    return view(row);
  }

  /**
   * Makes the trigger's schedule match its row as it is now, read under the row lock
   * enable/disable/delete take (so a change made meanwhile is never undone): recreates a missing
   * schedule (paused iff disabled), replaces one whose spec, policies or action differ from what
   * the row produces ('realigned'), or fixes a wrong paused state. 'gone' when the row no longer exists.
   * Temporal's normalisation of the wanted spec is probed before the lock; a row changed between
   * the two reads is read and probed again.
   */
  async function repairSchedule(id: string): Promise<'recreated' | 'realigned' | 'repaired' | 'gone' | 'ok'> {
    for (let attempt = 1; ; attempt++) {
      const seen = await prisma.trigger.findUnique({ where: { id } });
      if (!seen) return 'gone';
      const wanted = scheduleOptionsFor(seen, taskQueue);
      const differences = await drift.against(wanted);
      const outcome = await prisma.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM triggers WHERE id = ${id} FOR UPDATE`;
        const row = await tx.trigger.findUnique({ where: { id } });
        if (!row) return 'gone';
        if (!isDeepStrictEqual(scheduleOptionsFor(row, taskQueue), wanted)) return 'changed';
        const described = await temporal.schedule.getHandle(scheduleIdOf(id)).describe().catch(() => null);
        if (!described) {
          await schedules.put(row);
          return 'recreated';
        }
        if (differences(described).length > 0) {
          await schedules.put(row); // the whole schedule, paused state included
          return 'realigned';
        }
        if (described.state.paused !== row.isEnabled) return 'ok';
        await schedules.setPaused(id, !row.isEnabled);
        return 'repaired';
      }, SCHEDULE_TRANSACTION);
      if (outcome !== 'changed') return outcome;
      if (attempt === MAX_REPAIR_ATTEMPTS) throw new AppError('CONFLICT', `trigger ${id} kept changing while its schedule was checked; the next pass checks it again`, { id });
    }
  }

  /** Runs `act` on the trigger's schedule; one missing from Temporal is recreated from the row and `act` tried once more. */
  async function onSchedule<T>(id: string, act: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
    const handle = temporal.schedule.getHandle(scheduleIdOf(id));
    try {
      return await act(handle);
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
      if ((await repairSchedule(id)) === 'gone') throw notFound('trigger', id);
      return act(handle);
    }
  }

  async function scheduleInfo(row: TriggerRow) {
    if (!SCHEDULED_TYPES.has(row.type)) return undefined;
    try {
      const d = await temporal.schedule.getHandle(scheduleIdOf(row.id)).describe();
      return {
        scheduleId: d.scheduleId,
        paused: d.state.paused,
        nextFireTimes: d.info.nextActionTimes,
        recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt, takenAt: a.takenAt, workflowId: a.action.workflow.workflowId })),
      };
    } catch {
      return { scheduleId: scheduleIdOf(row.id), missing: true as const };
    }
  }

  return {
    ...createTriggerAccess({ prisma, plans }),
    /**
     * Stores the trigger and, for schedule/condition triggers, creates its Temporal Schedule inside
     * the same database transaction: a schedule Temporal rejects (bad cron → UNPROCESSABLE) rolls
     * the row back, and a failed commit deletes the schedule again. Webhook triggers get a secret,
     * returned here once and stored only encrypted. An enabled event trigger that would close a
     * provable cycle is UNPROCESSABLE (trigger-cycle-check.ts).
     */
    async createTrigger(body: CreateTriggerBody, createdBy: string) {
      assertMayWatch(body.type, body.config, createdBy);
      await checkReferences(body.action, body.config, body.type, createdBy);
      const id = newId();
      if (body.enabled) await cycles.assertNoCycle({ id, name: body.name, type: body.type, config: body.config, action: body.action, createdBy });
      const webhookSecret = body.type === 'webhook' ? newWebhookSecret() : undefined;
      let scheduled = false;
      try {
        const row = await prisma.$transaction(async (tx) => {
          const created = await tx.trigger.create({
            data: { id, name: body.name, description: body.description ?? null, type: body.type, config: asJson(body.config), action: asJson(body.action), isEnabled: body.enabled, createdBy },
          });
          if (webhookSecret) await tx.triggerWebhookSecret.create({ data: { triggerId: id, secretCiphertext: secrets.seal(webhookSecret, id) } });
          if (SCHEDULED_TYPES.has(body.type)) {
            await schedules.put(created);
            scheduled = true;
          }
          return created;
        }, SCHEDULE_TRANSACTION);
        return { ...view(row), ...(webhookSecret ? { webhookSecret } : {}) };
      } catch (error) {
        if (scheduled) await schedules.remove(id).catch(() => undefined); // reconcile removes it if this fails too
        throw error;
      }
    },

    /**
     * Changes name, description, config (checked against the trigger's type) or action; the
     * schedule follows in the same transaction; a changed condition forgets its last value (its
     * cooldown stays). A change that makes an enabled event trigger close a provable cycle is UNPROCESSABLE.
     */
    async updateTrigger(id: string, body: UpdateTriggerBody) {
      const before = await load(id);
      const config = body.config === undefined ? undefined : CONFIG_SCHEMAS[before.type as TriggerType].parse(patchConfig(before.config, body.config));
      if (config !== undefined) assertMayWatch(before.type, config, before.createdBy ?? '');
      await checkReferences(body.action, config, before.type, before.createdBy ?? '');
      if (before.isEnabled && (config !== undefined || body.action !== undefined)) {
        await cycles.assertNoCycle({ id, name: body.name ?? before.name, type: before.type, config: config ?? before.config, action: body.action ?? before.action, createdBy: before.createdBy });
      }
      // The schedule to put back if the commit fails: the row as it was under this update's lock.
      let scheduledOver: TriggerRow | undefined;
      try {
        const row = await prisma.$transaction(async (tx) => {
          // Under the row lock delete takes: a trigger deleted since it was read is NOT_FOUND, not a
          // 500. The checks above ran on `before`: a trigger changed meanwhile (a concurrent PATCH
          // whose fields this one would silently undo) is a conflict, not a lost update.
          await tx.$queryRaw`SELECT 1 FROM triggers WHERE id = ${id} FOR UPDATE`;
          const current = await tx.trigger.findUnique({ where: { id } });
          if (!current) throw notFound('trigger', id);
          if (current.updatedAt.getTime() !== before.updatedAt.getTime()) {
            throw new AppError('CONFLICT', `trigger ${id} was changed while this update was checked; read it again and retry`, { id });
          }
          const updated = await tx.trigger.update({
            where: { id },
            data: {
              ...(body.name !== undefined ? { name: body.name } : {}),
              ...(body.description !== undefined ? { description: body.description } : {}),
              ...(config !== undefined ? { config: asJson(config) } : {}),
              ...(body.action !== undefined ? { action: asJson(body.action) } : {}),
              updatedAt: new Date(),
            },
          });
          if (updated.type === 'condition' && config !== undefined && conditionChanged(current.config, config)) {
            // The old condition's edge says nothing about the new one: start from false (armed).
            await tx.triggerConditionState.updateMany({ where: { triggerId: id }, data: { lastValue: false } });
          }
          if (SCHEDULED_TYPES.has(updated.type) && (config !== undefined || body.name !== undefined)) {
            await schedules.put(updated);
            scheduledOver = current;
          }
          return updated;
        }, SCHEDULE_TRANSACTION);
        return view(row);
      } catch (error) {
        if (scheduledOver) await schedules.put(scheduledOver).catch(() => undefined); // put the old schedule back
        throw error;
      }
    },

    /** Deletes the trigger, its history and its schedule; the schedule goes first inside the transaction, so a failure keeps both. */
    async deleteTrigger(id: string): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const row = await tx.trigger.delete({ where: { id } }).catch(() => null);
        if (!row) throw notFound('trigger', id);
        if (SCHEDULED_TYPES.has(row.type)) await schedules.remove(id);
      }, SCHEDULE_TRANSACTION);
    },

    /** One trigger; schedule/condition triggers include their schedule's state and next fire times. */
    async getTrigger(id: string) {
      const row = await load(id);
      return { ...view(row), schedule: await scheduleInfo(row) };
    },

    /** Triggers, newest first, optionally filtered by type, enabled flag and creator. */
    async listTriggers(filters: ListTriggersQuery, createdBy?: string) {
      const rows = await prisma.trigger.findMany({
        where: {
          ...(filters.type ? { type: filters.type } : {}),
          ...(filters.enabled !== undefined ? { isEnabled: filters.enabled } : {}),
          ...(createdBy !== undefined ? { createdBy } : {}),
        },
        orderBy: { createdAt: 'desc' },
        take: 1000,
      });
      return rows.map(view);
    },

    /** Enables (unpauses the schedule of) a trigger; idempotent. */
    enableTrigger: (id: string) => setEnabled(id, true),

    /** Disables (pauses the schedule of) a trigger; idempotent. */
    disableTrigger: (id: string) => setEnabled(id, false),

    /**
     * Fires now. A schedule trigger without payload is fired through its schedule (ALLOW_ALL,
     * so it fires even while a run is going); everything else starts `trigger-<id>-manual-<n>`
     * with the payload. A disabled trigger is INVALID_STATE; a schedule missing from Temporal is
     * recreated from the row first.
     */
    async executeTrigger(id: string, payload: unknown) {
      const row = await load(id);
      if (!row.isEnabled) throw new AppError('INVALID_STATE', `trigger '${id}' is disabled`, { id });
      if (row.type === 'schedule' && payload === undefined) {
        await onSchedule(id, (handle) => handle.trigger('ALLOW_ALL'));
        return { triggerId: id, via: 'schedule' as const, scheduleId: scheduleIdOf(id) };
      }
      const { runId } = await starter.start(`manual-${newId()}`, { triggerId: id, source: 'manual', payload });
      return { triggerId: id, via: 'workflow' as const, runId };
    },

    /**
     * Runs the schedule over a past range (schedule triggers only, enabled: a disabled trigger is
     * INVALID_STATE, as for execute). A range reaching into the future, or one that would fire an
     * interval schedule more than MAX_BACKFILL_FIRINGS times, is UNPROCESSABLE.
     */
    async backfill(id: string, body: BackfillBody) {
      const row = await load(id);
      if (row.type !== 'schedule') throw new AppError('UNPROCESSABLE', 'only schedule triggers can be backfilled', { type: row.type });
      if (!row.isEnabled) throw new AppError('INVALID_STATE', `trigger '${id}' is disabled`, { id });
      // The future is the schedule's own business: a backfill would fire all of its slots now.
      if (body.end.getTime() > Date.now() + CLOCK_SKEW_MS) throw new AppError('UNPROCESSABLE', 'a backfill covers the past: end is in the future', { end: body.end });
      const { intervalSeconds } = row.config as ScheduleConfig;
      const firings = intervalSeconds === undefined ? undefined : Math.floor((body.end.getTime() - body.start.getTime()) / (intervalSeconds * 1000));
      if (firings !== undefined && firings > MAX_BACKFILL_FIRINGS) {
        throw new AppError('UNPROCESSABLE', `the range would fire the trigger ${firings} times, more than ${MAX_BACKFILL_FIRINGS}: backfill a shorter range`, { firings, max: MAX_BACKFILL_FIRINGS });
      }
      await onSchedule(id, (handle) => handle.backfill({ start: body.start, end: body.end, overlap: temporalOverlap(body.overlap) }));
      return { triggerId: id, start: body.start, end: body.end };
    },

    /** History rows newest first; `nextCursor` fetches the following page (null at the end). */
    async getTriggerHistory(id: string, query: HistoryQuery) {
      await load(id);
      let cursor: { firedAt: Date; id: string } | undefined;
      if (query.before) {
        const [at, historyId] = query.before.split('|');
        const firedAt = new Date(at ?? '');
        if (!historyId || Number.isNaN(firedAt.getTime())) throw new AppError('VALIDATION_FAILED', 'malformed history cursor');
        cursor = { firedAt, id: historyId };
      }
      const items = await prisma.triggerHistory.findMany({
        where: { triggerId: id, ...(cursor ? { OR: [{ firedAt: { lt: cursor.firedAt } }, { firedAt: cursor.firedAt, id: { lt: cursor.id } }] } : {}) },
        orderBy: [{ firedAt: 'desc' }, { id: 'desc' }],
        take: query.limit,
      });
      const last = items.at(-1);
      return { items, nextCursor: items.length === query.limit && last ? `${last.firedAt.toISOString()}|${last.id}` : null };
    },

    /** Replaces a webhook trigger's secret; the new one is returned once, the old one stops working at once. */
    async rotateWebhookSecret(id: string) {
      const row = await load(id);
      if (row.type !== 'webhook') throw new AppError('UNPROCESSABLE', 'only webhook triggers have a secret', { type: row.type });
      const webhookSecret = newWebhookSecret();
      await prisma.triggerWebhookSecret.upsert({
        where: { triggerId: id },
        create: { triggerId: id, secretCiphertext: secrets.seal(webhookSecret, id) },
        update: { secretCiphertext: secrets.seal(webhookSecret, id), rotatedAt: new Date() },
      });
      return { triggerId: id, webhookSecret };
    },

    /**
     * Makes Temporal match the database: recreates missing schedules (paused iff the trigger is
     * disabled), replaces schedules whose spec, policies or action drifted from the row
     * (`realigned`), fixes a wrong paused state (`repaired`), and deletes `trigger-*` schedules without a trigger
     * row and stray spec probes (older than the grace period). Each repair reads its row again under the row lock, so a
     * pass never re-enables a trigger disabled, or recreates one deleted, while it ran.
     */
    async reconcile() {
      const rows = await prisma.trigger.findMany({ where: { type: { in: [...SCHEDULED_TYPES] } } });
      const wanted = new Map(rows.map((r) => [scheduleIdOf(r.id), r]));
      const result = { recreated: [] as string[], realigned: [] as string[], repaired: [] as string[], removed: [] as string[], failed: [] as { scheduleId: string; error: string }[] };
      for await (const summary of temporal.schedule.list()) {
        // A spec probe outlives its grace only when the process that made it died before deleting it.
        if (!summary.scheduleId.startsWith(SCHEDULE_PREFIX) && !summary.scheduleId.startsWith(SPEC_PROBE_PREFIX)) continue;
        if (wanted.has(summary.scheduleId)) continue;
        const handle = temporal.schedule.getHandle(summary.scheduleId);
        const described = await handle.describe().catch(() => null);
        if (!described || Date.now() - described.info.createdAt.getTime() < orphanGraceMs) continue;
        await handle.delete().catch(() => undefined);
        result.removed.push(summary.scheduleId);
      }
      for (const [scheduleId, listed] of wanted) {
        try {
          // The listing is stale by now; repairSchedule acts on the row as it is.
          const outcome = await repairSchedule(listed.id);
          if (outcome === 'recreated' || outcome === 'realigned' || outcome === 'repaired') result[outcome].push(scheduleId);
        } catch (error) {
          // One bad row (e.g. a config that no longer validates) must not stop the others.
          result.failed.push({ scheduleId, error: error instanceof Error ? error.message : String(error) });
        }
      }
      return result;
    },
  };
}
export type TriggerService = ReturnType<typeof createTriggerService>;
