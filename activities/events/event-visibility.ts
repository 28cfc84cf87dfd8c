import { AppError } from '../../platform/errors';
import type { EventHistoryFilters } from './event-history-schemas';

/** Prefix of the events that carry one principal's private rows (emitted with that principal as source). */
const PRIVATE_PREFIX = 'resource.';

/**
 * What a user may read of the event history: everything except other principals' `resource.*`
 * events, which carry the contents of their rows. A query aimed at resource events is narrowed
 * to the user's own (FORBIDDEN when it names another source); `visible` drops the rest from a
 * broader page. Admin and plugin rules are not this function's business: it is for users.
 */
export function userEventHistory(principal: string, query: EventHistoryFilters) {
  const aimedAtResources = query.category === 'resource' || (query.type ?? '').startsWith(PRIVATE_PREFIX);
  if (aimedAtResources && query.source !== undefined && query.source !== principal) {
    throw new AppError('FORBIDDEN', `${principal} may read only its own resource events`, { source: query.source });
  }
  return {
    query: aimedAtResources ? { ...query, source: principal } : query,
    visible: (event: { type: string; source: string }) => !event.type.startsWith(PRIVATE_PREFIX) || event.source === principal,
  };
}
