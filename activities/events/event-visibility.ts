import { AppError } from '../../platform/errors';
import type { EventHistoryFilters } from './event-history-schemas';
import type { OwnPilotEvent } from './event-types';

/** Prefix of the events that carry one principal's private rows (emitted with that principal as source). */
const PRIVATE_PREFIX = 'resource.';

/** The part of the history filters visibility depends on (history pages and live streams share it). */
type EventFilters = Pick<EventHistoryFilters, 'type' | 'category' | 'source'>;

/** What visibility reads of an event. */
type Visible = Pick<OwnPilotEvent, 'type' | 'source' | 'audience'>;

/**
 * Whether `principal` may read `event`, wherever it would reach them (history, live stream, the
 * payload of a trigger they created): admin everything; an event with an audience only the
 * principals it names (a plan run's events: its readers); otherwise a plugin only its own
 * `plugin.<id>.*` namespace (other plugins' events may carry their data), a user everything but
 * other principals' `resource.*` events (they carry the contents of their rows), anyone else nothing.
 */
export function mayReadEvent(principal: string, event: Visible): boolean {
  if (principal === 'admin') return true;
  if (event.audience !== undefined && !event.audience.includes(principal)) return false;
  if (principal.startsWith('plugin:')) return event.type.startsWith(`plugin.${principal.slice('plugin:'.length)}.`);
  if (principal.startsWith('user:')) return !event.type.startsWith(PRIVATE_PREFIX) || event.source === principal;
  return false;
}

/**
 * A history or stream query as `principal` may ask it, and the filter for what it returns
 * (`mayReadEvent`). A plugin must aim `type` at its own namespace (FORBIDDEN otherwise); a user's
 * query aimed at resource events is narrowed to their own (FORBIDDEN when it names another source).
 * `reader` is the principal the event_log query filters by (undefined for admin), so that pages are
 * not emptied by events the reader may not see; `visible` checks each event again on its way out.
 */
export function eventScope<Q extends EventFilters>(principal: string, query: Q): { query: Q; reader: string | undefined; visible: (event: Visible) => boolean } {
  const visible = (event: Visible) => mayReadEvent(principal, event);
  const reader = principal === 'admin' ? undefined : principal;
  if (principal.startsWith('plugin:')) {
    const namespace = `plugin.${principal.slice('plugin:'.length)}.`;
    if (!(query.type ?? '').startsWith(namespace)) throw new AppError('FORBIDDEN', `${principal} may only read ${namespace}* events (pass type=)`);
    return { query, reader, visible };
  }
  const aimedAtResources = query.category === 'resource' || (query.type ?? '').startsWith(PRIVATE_PREFIX);
  if (!principal.startsWith('user:') || !aimedAtResources) return { query, reader, visible };
  if (query.source !== undefined && query.source !== principal) {
    throw new AppError('FORBIDDEN', `${principal} may read only its own resource events`, { source: query.source });
  }
  return { query: { ...query, source: principal }, reader, visible };
}
