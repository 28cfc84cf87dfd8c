import { AppError } from '../../platform/errors';
import type { EventHistoryFilters } from './event-history-schemas';

/** Prefix of the events that carry one principal's private rows (emitted with that principal as source). */
const PRIVATE_PREFIX = 'resource.';

/** The part of the history filters visibility depends on (history pages and live streams share it). */
type EventFilters = Pick<EventHistoryFilters, 'type' | 'category' | 'source'>;

/**
 * What a user may read of the event history: everything except other principals' `resource.*`
 * events, which carry the contents of their rows. A query aimed at resource events is narrowed
 * to the user's own (FORBIDDEN when it names another source); `visible` drops the rest from a
 * broader page. Admin and plugin rules are not this function's business: it is for users.
 */
export function userEventHistory<Q extends EventFilters>(principal: string, query: Q) {
  const aimedAtResources = query.category === 'resource' || (query.type ?? '').startsWith(PRIVATE_PREFIX);
  if (aimedAtResources && query.source !== undefined && query.source !== principal) {
    throw new AppError('FORBIDDEN', `${principal} may read only its own resource events`, { source: query.source });
  }
  return {
    query: aimedAtResources ? { ...query, source: principal } : query,
    visible: (event: { type: string; source: string }) => !event.type.startsWith(PRIVATE_PREFIX) || event.source === principal,
  };
}

/**
 * What any principal may read, of the history or of the live stream: a plugin only its own
 * `plugin.<id>.*` namespace (other plugins' events may carry their data; FORBIDDEN unless `type`
 * says so), a user as `userEventHistory` says, an admin everything.
 */
export function eventScope<Q extends EventFilters>(principal: string, query: Q): { query: Q; visible: (event: { type: string; source: string }) => boolean } {
  if (principal.startsWith('plugin:')) {
    const namespace = `plugin.${principal.slice('plugin:'.length)}.`;
    if (!(query.type ?? '').startsWith(namespace)) throw new AppError('FORBIDDEN', `${principal} may only read ${namespace}* events (pass type=)`);
    return { query, visible: () => true };
  }
  return principal.startsWith('user:') ? userEventHistory(principal, query) : { query, visible: () => true };
}
