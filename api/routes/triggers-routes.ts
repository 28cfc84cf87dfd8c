import { z } from 'zod';
import {
  BackfillBody, CreateTriggerBody, ExecuteTriggerBody, HistoryQuery, ListTriggersQuery, TriggerIdParams, UpdateTriggerBody,
} from '../../activities/triggers/trigger-schemas';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../activities/triggers/webhook-signature';
import type { RouteGroup } from '../openapi/route-spec';

const Trigger = z.looseObject({ id: z.string(), name: z.string(), type: z.enum(['schedule', 'event', 'condition', 'webhook']), isEnabled: z.boolean(), config: z.unknown() });

/** OpenAPI description of triggers-router.ts. */
export const triggersRoutes: RouteGroup = {
  prefix: '/api/v1/triggers',
  tag: 'triggers',
  description: 'Schedule, event, condition and webhook triggers; each firing is a trigger-run workflow',
  routes: [
    { method: 'post', path: '/', summary: 'Create a trigger (webhook triggers return their secret once)', body: CreateTriggerBody, errors: [403, 409, 422], responses: { 201: { description: 'Created', schema: Trigger } } },
    { method: 'get', path: '/', summary: 'The caller\'s triggers (admin: all)', query: ListTriggersQuery, responses: { 200: { description: 'Triggers', schema: z.array(Trigger) } } },
    { method: 'post', path: '/reconcile', summary: 'Recreate missing Temporal Schedules from the table', auth: 'admin', responses: { 200: { description: 'What was fixed', schema: z.looseObject({}) } } },
    { method: 'get', path: '/:id', summary: 'One trigger with its schedule state', params: TriggerIdParams, errors: [403, 404], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    { method: 'patch', path: '/:id', summary: 'Change a trigger', params: TriggerIdParams, body: UpdateTriggerBody, errors: [403, 404, 422], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    { method: 'delete', path: '/:id', summary: 'Delete a trigger and its schedule', params: TriggerIdParams, errors: [403, 404], responses: { 204: { description: 'Deleted' } } },
    { method: 'post', path: '/:id/enable', summary: 'Enable (unpause the schedule)', params: TriggerIdParams, errors: [403, 404], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    { method: 'post', path: '/:id/disable', summary: 'Disable (pause the schedule)', params: TriggerIdParams, errors: [403, 404], responses: { 200: { description: 'The trigger', schema: Trigger } } },
    {
      method: 'post', path: '/:id/execute', summary: 'Fire now', params: TriggerIdParams, body: ExecuteTriggerBody, errors: [403, 404, 409],
      responses: { 202: { description: 'Fired', schema: z.looseObject({ triggerId: z.string(), via: z.enum(['schedule', 'workflow']) }) } },
    },
    { method: 'post', path: '/:id/backfill', summary: 'Run a schedule over a past window', params: TriggerIdParams, body: BackfillBody, errors: [403, 404, 422], responses: { 202: { description: 'Backfill started', schema: z.looseObject({ triggerId: z.string() }) } } },
    { method: 'post', path: '/:id/rotate-secret', summary: 'Replace a webhook trigger\'s secret (returned once)', params: TriggerIdParams, errors: [403, 404, 422], responses: { 200: { description: 'The new secret', schema: z.object({ triggerId: z.string(), webhookSecret: z.string() }) } } },
    {
      method: 'get', path: '/:id/history', summary: 'Firings, newest first', params: TriggerIdParams, query: HistoryQuery, errors: [403, 404],
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(z.looseObject({ id: z.string() })), nextCursor: z.string().nullable() }) } },
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
        [DELIVERY_HEADER]: z.string().optional().describe('Unique delivery id; a repeat is a 409'),
      }),
      body: z.unknown().describe('Any content type; JSON bodies are parsed for the action'),
      errors: [404, 409, 413, 429],
      responses: { 202: { description: 'Accepted; the trigger run started', schema: z.object({ runId: z.string() }) } },
    },
  ],
};
