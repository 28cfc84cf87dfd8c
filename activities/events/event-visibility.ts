import { AppError } from '../../platform/errors';
import type { EventHistoryFilters } from './event-history-schemas';

/** Prefix of the events that carry one principal's private rows (emitted with that principal as source). */
const PRIVATE_PREFIX = 'resource.';

/** The part of the history filters visibility depends on (history pages and live streams share it). */
type EventFilters = Pick<EventHistoryFilters, 'type' | 'category' | 'source'>;

/**
 * Whether `principal` may read `event`, wherever it would reach them (history, live stream, the
 * payload of a trigger they created): a plugin only its own `plugin.<id>.*` namespace (other
 * plugins' events may carry their data), a user everything but other principals' `resource.*`
 * events (they carry the contents of their rows), admin everything, anyone else nothing.
 */
export function mayReadEvent(principal: string, event: { type: string; source: string }): boolean {
  if (principal.startsWith('plugin:')) return event.type.startsWith(`plugin.${principal.slice('plugin:'.length)}.`);
  if (principal.startsWith('user:')) return !event.type.startsWith(PRIVATE_PREFIX) || event.source === principal;
  return principal === 'admin';
}

/**
 * A history or stream query as `principal` may ask it, and the filter for what it returns
 * (`mayReadEvent`). A plugin must aim `type` at its own namespace (FORBIDDEN otherwise); a user's
 * query aimed at resource events is narrowed to their own (FORBIDDEN when it names another source).
 */
export function eventScope<Q extends EventFilters>(principal: string, query: Q): { query: Q; visible: (event: { type: string; source: string }) => boolean } {
  const visible = (event: { type: string; source: string }) => mayReadEvent(principal, event);
  if (principal.startsWith('plugin:')) {
    const namespace = `plugin.${principal.slice('plugin:'.length)}.`;
    if (!(query.type ?? '').startsWith(namespace)) throw new AppError('FORBIDDEN', `${principal} may only read ${namespace}* events (pass type=)`);
    return { query, visible };
  }
  const aimedAtResources = query.category === 'resource' || (query.type ?? '').startsWith(PRIVATE_PREFIX);
  if (!principal.startsWith('user:') || !aimedAtResources) return { query, visible };
  if (query.source !== undefined && query.source !== principal) {
    throw new AppError('FORBIDDEN', `${principal} may read only its own resource events`, { source: query.source });
  }
  return { query: { ...query, source: principal }, visible };
}
