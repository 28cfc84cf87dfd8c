import { z } from 'zod';
import { EmitEventBody, EventStreamQuery, LastEventId, ListSubscriptionsQuery } from '../../activities/events/event-api-schemas';
import { EventHistoryQuery } from '../../activities/events/event-history-schemas';
import { EventAudience, EventCategory, EventCause } from '../../activities/events/event-types';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const Event = z.object({ id: z.string(), type: z.string(), category: EventCategory, source: z.string(), data: z.unknown().describe('The event payload (JSON)'), timestamp: Timestamp, cause: EventCause.optional().describe('The tool call the event was emitted in (requester, idempotency key); absent outside tool calls'), audience: EventAudience.optional().describe('Who besides admin may read it (a plan run\'s readers); absent: the type\'s own rule') });
const Subscription = z.object({ id: z.string(), subscriberId: z.string(), pattern: z.string(), createdAt: Timestamp });
const SubscriberMetrics = z.object({
  delivered: z.number().int(), failed: z.number().int(), timedOut: z.number().int(), rateDropped: z.number().int(), deferred: z.number().int(), overflowed: z.number().int(),
  queued: z.number().int(), ratePerSecond: z.number().nullable(), policy: z.enum(['drop', 'defer']),
});
const BusMetrics = z.object({
  instanceId: z.string(), emitted: z.number().int(), received: z.number().int(), ownEchoes: z.number().int(), duplicatesIgnored: z.number().int(), rejected: z.number().int(),
  subscriptions: z.number().int(),
  store: z.object({
    log: z.object({ written: z.number().int(), batches: z.number().int(), dropped: z.number().int(), failedAttempts: z.number().int(), buffered: z.number().int(), splits: z.number().int().describe('Batches split because PostgreSQL refused one of their events') }),
    oversized: z.number().int(), received: z.number().int(), listenerReconnects: z.number().int(), droppedAfterClose: z.number().int(), listening: z.boolean(),
    caughtUp: z.number().int().describe('Events read back from event_log after reconnects'),
    listenerPid: z.number().int().optional().describe('Backend pid of the listening connection (absent while disconnected)'),
  }).optional().describe('event_log writer and cross-process listener (absent on an in-process bus)'),
  subscribers: z.record(z.string(), SubscriberMetrics),
});

/** OpenAPI description of events-router.ts. */
export const eventsRoutes: RouteGroup = {
  prefix: '/api/v1/events',
  tag: 'events',
  description: 'Event bus: history, emit, subscriptions, delivery metrics',
  routes: [
    {
      method: 'get', path: '/', summary: 'Event history (event_log), newest first; plugins read only their namespace', query: EventHistoryQuery, errors: [403],
      responses: {
        200: {
          description: 'A page; nextCursor (pass it as `cursor`) and nextOffset are null on the last page',
          schema: z.object({ items: z.array(Event), nextCursor: z.string().nullable(), nextOffset: z.number().int().nullable() }),
        },
      },
    },
    {
      method: 'get', path: '/stream',
      summary: 'Live events as Server-Sent Events: those of event_log from `from` first (if given), then each event as the bus hears it, from every process; same visibility as the history',
      query: EventStreamQuery,
      headers: z.object({ 'last-event-id': LastEventId.optional().describe('Sent by a reconnecting reader: replay from 5 s before this event (events seen again share their `id` in data)') }),
      errors: [403, 429],
      responses: {
        200: {
          description: 'text/event-stream: `data:` frames hold one event each (JSON, as in the history), `id:` its timestamp; `event: overflow` ends a stream whose reader fell 5,000 events behind, `event: error` (an error body) one that failed or whose key no longer passes (revoked, or its plugin not enabled); reconnect with Last-Event-ID',
          contentType: 'text/event-stream',
        },
      },
    },
    { method: 'post', path: '/', summary: 'Emit an event (the caller becomes its source)', body: EmitEventBody, errors: [403], responses: { 201: { description: 'Committed to event_log', schema: Event } } },
    {
      method: 'get', path: '/subscriptions', summary: 'Active subscriptions on this process: all for admin, your own for anyone else (a plugin its subscriptions, your live streams)', query: ListSubscriptionsQuery,
      responses: { 200: { description: 'Subscriptions', schema: z.object({ subscriptions: z.array(Subscription) }) } },
    },
    {
      method: 'get', path: '/metrics', summary: 'Bus counters and per-subscriber delivery metrics of this process (not for plugins)', errors: [403],
      responses: { 200: { description: 'Counters', schema: BusMetrics } },
    },
  ],
};
