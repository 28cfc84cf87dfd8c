import { z } from 'zod';
import { EventPattern } from '../events/event-pattern';
import { PayloadFilter } from './payload-filter';
import { QueryFlag } from '../../platform/query-flag';

/** An IANA time zone the runtime knows (`Europe/Berlin`, `UTC`). */
export const TimeZone = z.string().min(1).max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'unknown IANA time zone');

export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

/** A cron expression (5 fields, or Temporal's 6/7-field and @every forms) or a fixed interval. */
export const ScheduleConfig = z
  .object({
    cron: z.string().min(1).max(200).optional(),
    intervalSeconds: z.number().int().min(1).max(366 * 24 * 3600).optional(),
    timezone: TimeZone.default('UTC'),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchupWindowSeconds: z.number().int().min(10).max(366 * 24 * 3600).default(60),
    jitterSeconds: z.number().int().min(0).max(24 * 3600).default(0),
    pauseOnFailure: z.boolean().default(false),
  })
  .strict()
  .refine((c) => (c.cron === undefined) !== (c.intervalSeconds === undefined), 'give exactly one of cron or intervalSeconds (a PATCH that switches sets the other to null)');
export type ScheduleConfig = z.infer<typeof ScheduleConfig>;

/** Fires for events whose type matches `pattern` and whose envelope matches `filter` (paths start at `data.`, `type`, `source`). */
export const EventConfig = z.object({ pattern: EventPattern, filter: PayloadFilter.optional() }).strict();
export type EventConfig = z.infer<typeof EventConfig>;

/** Calls `tool` every `intervalSeconds`; fires when `expression` (paths start at `result.`) turns true. */
export const ConditionConfig = z
  .object({
    tool: z.string().min(1).max(200),
    args: z.record(z.string(), z.unknown()).default({}),
    expression: PayloadFilter,
    intervalSeconds: z.number().int().min(1).max(24 * 3600),
    cooldownSeconds: z.number().int().min(0).max(30 * 24 * 3600).default(0),
  })
  .strict();
export type ConditionConfig = z.infer<typeof ConditionConfig>;

/** The longest signature tolerance a webhook may have: accepted signatures are kept for twice it. */
export const MAX_WEBHOOK_TOLERANCE_SECONDS = 3600;

/** Webhook limits: signature tolerance, body size, and deliveries per minute. */
export const WebhookConfig = z
  .object({
    toleranceSeconds: z.number().int().min(10).max(MAX_WEBHOOK_TOLERANCE_SECONDS).default(300),
    maxBodyBytes: z.number().int().min(1).max(1024 * 1024).default(64 * 1024),
    rateLimitPerMinute: z.number().int().min(1).max(10_000).default(60),
  })
  .strict();
export type WebhookConfig = z.infer<typeof WebhookConfig>;

/** What a firing does: start a plan or call a tool; `{{payload.x}}` strings are filled from the firing. */
export const TriggerAction = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('plan'), planId: z.string().min(1).max(64), input: z.record(z.string(), z.unknown()).default({ payload: '{{payload}}' }) }).strict(),
  z.object({ kind: z.literal('tool'), tool: z.string().min(1).max(200), args: z.record(z.string(), z.unknown()).default({}) }).strict(),
]);
export type TriggerAction = z.infer<typeof TriggerAction>;

export const TRIGGER_TYPES = ['schedule', 'event', 'condition', 'webhook'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

/** The config schema of each trigger type. */
export const CONFIG_SCHEMAS = {
  schedule: ScheduleConfig,
  event: EventConfig,
  condition: ConditionConfig,
  webhook: WebhookConfig,
} as const;

const common = {
  name: z.string().min(1).max(200),
  description: z.string().max(4000).optional(),
  action: TriggerAction,
  enabled: z.boolean().default(true),
};

/** Body of POST /api/v1/triggers. */
export const CreateTriggerBody = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('schedule'), config: ScheduleConfig }).strict(),
  z.object({ ...common, type: z.literal('event'), config: EventConfig }).strict(),
  z.object({ ...common, type: z.literal('condition'), config: ConditionConfig }).strict(),
  z.object({ ...common, type: z.literal('webhook'), config: WebhookConfig.default(WebhookConfig.parse({})) }).strict(),
]);
export type CreateTriggerBody = z.infer<typeof CreateTriggerBody>;

/** Body of PATCH /api/v1/triggers/:id; `config` is a patch of the stored config (config-patch.ts), checked as a whole against the trigger's type (which cannot change). */
export const UpdateTriggerBody = z
  .object({
    name: common.name.optional(),
    description: z.string().max(4000).nullable().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    action: TriggerAction.optional(),
  })
  .strict();
export type UpdateTriggerBody = z.infer<typeof UpdateTriggerBody>;

/** Query of GET /api/v1/triggers. */
export const ListTriggersQuery = z.object({
  type: z.enum(TRIGGER_TYPES).optional(),
  enabled: QueryFlag.optional(),
});
export type ListTriggersQuery = z.infer<typeof ListTriggersQuery>;

/** Body of POST /api/v1/triggers/:id/execute. */
export const ExecuteTriggerBody = z.object({ payload: z.unknown().optional() }).strict();

/** Body of POST /api/v1/triggers/:id/backfill (schedule triggers). */
/** The longest range one backfill covers. */
export const MAX_BACKFILL_DAYS = 31;
const Instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** A past range of at most MAX_BACKFILL_DAYS (the service also bounds its firings); ISO 8601 instants. */
export const BackfillBody = z
  .object({ start: Instant, end: Instant, overlap: z.enum(OVERLAP_POLICIES).default('allow_all') })
  .strict()
  // zod runs these on a value whose fields failed too (then not Dates: their own issues say why).
  .refine((b) => !(b.start instanceof Date && b.end instanceof Date) || b.start < b.end, 'start must be before end')
  .refine((b) => !(b.start instanceof Date && b.end instanceof Date) || b.end.getTime() - b.start.getTime() <= MAX_BACKFILL_DAYS * 86_400_000, {
    message: `a backfill covers at most ${MAX_BACKFILL_DAYS} days`,
    path: ['end'],
  });
export type BackfillBody = z.infer<typeof BackfillBody>;

/** Query of GET /api/v1/triggers/:id/history: newest first, `before` is the cursor from the last page. */
export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().min(1).max(300).optional(),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

/** Route params naming a trigger. */
export const TriggerIdParams = z.object({ id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/) });
