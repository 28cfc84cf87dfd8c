import { Router } from 'express';
import type { EventBus } from '../../activities/events/event-bus';
import { EmitEventBody, ListSubscriptionsQuery } from '../../activities/events/event-api-schemas';
import { EventHistoryQuery } from '../../activities/events/event-history-schemas';
import { userEventHistory } from '../../activities/events/event-visibility';
import { AppError } from '../../platform/errors';
import { parse, principalOf } from '../validate';

/**
 * /api/v1/events: history (event_log), emit, subscriptions and delivery metrics. A plugin
 * principal emits only `plugin.<id>.*`, and only while `pluginMayEmit` grants it (never without it).
 */
export function eventsRouter(
  events: Pick<EventBus, 'getEventHistory' | 'emitAsync' | 'listSubscriptions' | 'metrics'>,
  pluginMayEmit?: (pluginId: string) => Promise<boolean>,
): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const query = parse(EventHistoryQuery, req.query);
    const principal = principalOf(req);
    // a plugin principal reads only its own namespace (other plugins' events may carry their data)
    if (principal.startsWith('plugin:') && !(query.type ?? '').startsWith(`plugin.${principal.slice('plugin:'.length)}.`)) {
      throw new AppError('FORBIDDEN', `${principal} may only read plugin.${principal.slice('plugin:'.length)}.* events (pass type=)`);
    }
    // a user reads other principals' events, but not their resource events (they carry row contents)
    const scope = principal.startsWith('user:') ? userEventHistory(principal, query) : { query, visible: () => true };
    const page = await events.getEventHistory(scope.query);
    res.json({ items: page.filter(scope.visible), nextOffset: page.length === query.limit ? query.offset + page.length : null });
  });
  router.post('/', async (req, res) => {
    const body = parse(EmitEventBody, req.body);
    const principal = principalOf(req);
    // a plugin principal speaks only in its own namespace
    if (principal.startsWith('plugin:') && !body.type.startsWith(`plugin.${principal.slice('plugin:'.length)}.`)) {
      throw new AppError('FORBIDDEN', `${principal} may only emit plugin.${principal.slice('plugin:'.length)}.*`, { type: body.type });
    }
    if (principal.startsWith('plugin:') && !(await pluginMayEmit?.(principal.slice('plugin:'.length)))) {
      throw new AppError('FORBIDDEN', `${principal} may not emit: it is not enabled with the 'events.emit' permission`, { type: body.type });
    }
    const event = await events.emitAsync(body.type, body.data ?? {}, principal, { until: 'committed' });
    res.status(201).json(event);
  });
  router.get('/subscriptions', (req, res) => {
    const principal = principalOf(req);
    const { subscriberId } = parse(ListSubscriptionsQuery, req.query);
    res.json({ subscriptions: events.listSubscriptions(principal.startsWith('plugin:') ? principal : subscriberId) });
  });
  router.get('/metrics', (req, res) => {
    if (principalOf(req).startsWith('plugin:')) throw new AppError('FORBIDDEN', 'bus metrics are for admins and users');
    res.json(events.metrics());
  });
  return router;
}
