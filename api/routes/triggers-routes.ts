import { z } from 'zod';
import {
  BackfillBody, ConditionConfig, CreateTriggerBody, EventConfig, ExecuteTriggerBody, HistoryQuery, ListTriggersQuery, ScheduleConfig,
  TRIGGER_TYPES, TriggerAction, TriggerIdParams, UpdateTriggerBody, WebhookConfig,
} from '../../activities/triggers/trigger-schemas';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../activities/triggers/webhook-signature';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

/** A trigger as the service shows it (trigger-service.ts `view`): never its secret. */
const Trigger = z.object({
  id: z.string(), name: z.string(), description: z.string().nullable(), type: z.enum(TRIGGER_TYPES),
  config: z.union([ScheduleConfig, EventConfig, ConditionConfig, WebhookConfig]).describe('The stored config of the trigger\'s type'),
  action: TriggerAction, isEnabled: z.boolean(), createdBy: z.string().nullable(), createdAt: Timestamp, updatedAt: Timestamp,
});
const CreatedTrigger = Trigger.extend({ webhookSecret: z.string().optional().describe('Webhook triggers only: the signing secret, shown this once') });
const ScheduleState = z.union([
  z.object({
    scheduleId: z.string(), paused: z.boolean(), nextFireTimes: z.array(Timestamp),
    recentActions: z.array(z.object({ scheduledAt: Timestamp, takenAt: Timestamp, workflowId: z.string() })),
  }),
  z.object({ scheduleId: z.string(), missing: z.literal(true) }).describe('The schedule is missing in Temporal (reconcile recreates it)'),
]);
const TriggerWithSchedule = Trigger.extend({ schedule: ScheduleState.optional().describe('Schedule and condition triggers: their Temporal Schedule') });
const ReconcileResult = z.object({
  recreated: z.array(z.string()).describe('Missing schedules created again from their rows'),
  realigned: z.array(z.string()).describe('Schedules whose spec, policies or action differed from their rows, replaced'),
  repaired: z.array(z.string()).describe('Schedules whose paused state contradicted the enabled flag, fixed'),
  removed: z.array(z.string()).describe('Schedules without a trigger row, deleted'),
  failed: z.array(z.object({ scheduleId: z.string(), error: z.string() })),
});
const Fired = z.union([
  z.object({ triggerId: z.string(), via: z.literal('schedule'), scheduleId: z.string() }),
  z.object({ triggerId: z.string(), via: z.literal('workflow'), runId: z.string() }),
]);
const HistoryRow = z.object({
  id: z.string(), triggerId: z.string(), firedAt: Timestamp, triggerType: z.enum(TRIGGER_TYPES), payloadDigest: z.string().nullable(),
  status: z.enum(['running', 'succeeded', 'failed', 'skipped']), error: z.string().nullable().describe('The failure, or why the firing was skipped'),
  durationMs: z.number().int().nullable(), workflowId: z.string(), planWorkflowId: z.string().nullable(),
  causationChain: z.array(z.string()).describe('Triggers whose firings caused this one, oldest first'),
});

/** OpenAPI description of triggers-router.ts. */
export const triggersRoutes: RouteGroup = {
  prefix: '/api/v1/triggers',
  tag: 'triggers',
  description: 'Schedule, event, condition and webhook triggers; each firing is a trigger-run workflow',
  routes: [
    { method: 'post', path: '/', summary: 'Create a trigger (webhook triggers return their secret once); 422 when an event trigger would close a cycle', body: CreateTriggerBody, errors: [403, 409, 422], responses: { 201: { description: 'Created', schema: CreatedTrigger } } },
    { method: 'get', path: '/', summary: 'The caller\'s triggers (admin: all)', query: ListTriggersQuery, responses: { 200: { description: 'Triggers', schema: z.array(Trigger) } } },
    { method: 'post', path: '/reconcile', summary: 'Make Temporal Schedules match the triggers table (recreate, realign, fix pause, remove orphans)', auth: 'admin', responses: { 200: { description: 'What was fixed', schema: ReconcileResult } } },
    { method: 'get', path: '/:id', summary: 'One trigger with its schedule state', params: TriggerIdParams, errors: [403, 404], responses: { 200: { description: 'The trigger', schema: TriggerWithSchedule } } },
    { method: 'patch', path: '/:id', summary: 'Change a trigger: `config` changes the fields it names (null resets one to its default); 409 when the trigger changed meanwhile', params: TriggerIdParams, body: UpdateTriggerBody, errors: [403, 404, 409, 422], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    { method: 'delete', path: '/:id', summary: 'Delete a trigger and its schedule', params: TriggerIdParams, errors: [403, 404], responses: { 204: { description: 'Deleted' } } },
    { method: 'post', path: '/:id/enable', summary: 'Enable (unpause the schedule); 422 when an event trigger would close a cycle', params: TriggerIdParams, errors: [403, 404, 422], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    { method: 'post', path: '/:id/disable', summary: 'Disable (pause the schedule)', params: TriggerIdParams, errors: [403, 404], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    {
      method: 'post', path: '/:id/execute', summary: 'Fire now', params: TriggerIdParams, body: ExecuteTriggerBody, errors: [403, 404, 409],
      responses: { 202: { description: 'Fired', schema: Fired } },
    },
    { method: 'post', path: '/:id/backfill', summary: 'Run a schedule over a past window; 409 when the trigger is disabled', params: TriggerIdParams, body: BackfillBody, errors: [403, 404, 409, 422], responses: { 202: { description: 'Backfill started', schema: z.object({ triggerId: z.string(), start: Timestamp, end: Timestamp }) } } },
    { method: 'post', path: '/:id/rotate-secret', summary: 'Replace a webhook trigger\'s secret (returned once)', params: TriggerIdParams, errors: [403, 404, 422], responses: { 200: { description: 'The new secret', schema: z.object({ triggerId: z.string(), webhookSecret: z.string() }) } } },
    {
      method: 'get', path: '/:id/history', summary: 'Firings, newest first', params: TriggerIdParams, query: HistoryQuery, errors: [403, 404],
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(HistoryRow), nextCursor: z.string().nullable() }) } },
    },
  ],
};

/** OpenAPI description of webhooks-router.ts: signed, not API-key authenticated. */
export const webhooksRoutes: RouteGroup = {
  prefix: '/api/v1/webhooks',
  tag: 'triggers',
  description: 'Schedule, event, condition and webhook triggers; each firing is a trigger-run workflow',
  routes: [
    {
      method: 'post', path: '/:id', summary: 'Deliver a webhook (HMAC-SHA256 over timestamp and raw body; replays rejected)', auth: 'webhook-signature',
      params: TriggerIdParams,
      headers: z.object({
        [SIGNATURE_HEADER]: z.string().describe('sha256=<hex HMAC of "<timestamp>.<raw body>"> with the trigger\'s secret'),
        [TIMESTAMP_HEADER]: z.string().describe('Unix seconds; must be recent'),
        [DELIVERY_HEADER]: z.string().optional().describe('Unique delivery id; a repeat, or another id with a signature already received, is a 409'),
      }),
      body: z.unknown().describe('Any content type; JSON bodies are parsed for the action'),
      errors: [404, 409, 413, 429],
      responses: { 202: { description: 'Accepted; the trigger run started', schema: z.object({ runId: z.string() }) } },
    },
  ],
};
