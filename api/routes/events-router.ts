import { Router } from 'express';
import type { EventBus } from '../../activities/events/event-bus';
import { EmitEventBody, EventStreamQuery, LastEventId, ListSubscriptionsQuery } from '../../activities/events/event-api-schemas';
import { REPLAY_OVERLAP_MS, type EventStreams } from '../../activities/events/event-stream';
import { cursorAfter, EventHistoryQuery } from '../../activities/events/event-history-schemas';
import { assertMayEmit } from '../../activities/events/emit-rules';
import { eventScope } from '../../activities/events/event-visibility';
import { AppError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { keyCheckOf } from '../auth-middleware';
import { sendEventStream } from '../event-stream-response';
import { parse, principalOf } from '../validate';

/**
 * /api/v1/events: history (event_log), live stream, emit, subscriptions and delivery metrics. Who
 * reads what is `eventScope`'s rule; who emits what is `assertMayEmit`'s, the same as core.events.emit's.
 */
export function eventsRouter(
  events: Pick<EventBus, 'getEventHistory' | 'emitAsync' | 'listSubscriptions' | 'metrics'>,
  streams: Pick<EventStreams, 'open'>,
  logger: Logger,
  pluginMayEmit?: (pluginId: string) => Promise<boolean>,
): Router {
  const router = Router();
  router.get('/stream', async (req, res) => {
    const query = parse(EventStreamQuery, req.query);
    const lastEventId = req.header('last-event-id');
    if (lastEventId !== undefined && !LastEventId.safeParse(lastEventId).success) {
      throw new AppError('VALIDATION_FAILED', "Last-Event-ID must be the id of one of this stream's events (an ISO 8601 timestamp)", { lastEventId });
    }
    // A reconnecting reader resumes a little before its last event (late commits); it may see a few again.
    const from = lastEventId === undefined ? query.from : new Date(Date.parse(lastEventId) - REPLAY_OVERLAP_MS);
    await sendEventStream(req, res, streams.open(principalOf(req), { ...query, from }, keyCheckOf(req)), logger);
  });
  router.get('/', async (req, res) => {
    const query = parse(EventHistoryQuery, req.query);
    const scope = eventScope(principalOf(req), query);
    const page = await events.getEventHistory(scope.query, scope.reader);
    const last = page.length === query.limit ? page.at(-1) : undefined;
    res.json({ items: page.filter(scope.visible), nextCursor: last ? cursorAfter(query.order, last) : null, nextOffset: last ? query.offset + page.length : null });
  });
  router.post('/', async (req, res) => {
    const body = parse(EmitEventBody, req.body);
    const principal = principalOf(req);
    await assertMayEmit(principal, body.type, body.data, pluginMayEmit);
    const event = await events.emitAsync(body.type, body.data ?? {}, principal, { until: 'committed' });
    res.status(201).json(event);
  });
  router.get('/subscriptions', (req, res) => {
    const principal = principalOf(req);
    const { subscriberId } = parse(ListSubscriptionsQuery, req.query);
    // Admin sees every subscriber; anyone else their own: a plugin its subscriptions, anyone their live streams.
    const own = (s: { subscriberId: string }) => principal === 'admin' || s.subscriberId === principal || s.subscriberId.startsWith(`stream:${principal}:`);
    res.json({ subscriptions: events.listSubscriptions(subscriberId).filter(own) });
  });
  router.get('/metrics', (req, res) => {
    if (principalOf(req).startsWith('plugin:')) throw new AppError('FORBIDDEN', 'bus metrics are for admins and users');
    res.json(events.metrics());
  });
  return router;
}
