import type { AclMetricsSink } from '../acl/acl-service';
import { principalKind } from '../auth/principal';
import type { Metrics } from '../../platform/observability/metrics';

/** The requester's kind as a bounded label ('admin' | 'user' | 'plugin' | 'unknown'). */
const kindOf = (requesterId: string): string => principalKind(requesterId) ?? 'unknown';

/** ACL statement and denial counters by requester kind (the ACL reports through its `metrics` dep). */
export function createAclMetrics(metrics: Pick<Metrics, 'counter'>): AclMetricsSink {
  const queries = metrics.counter('ownpilot_db_queries_total', 'Statements run through the database ACL by requester kind and outcome', ['requester_kind', 'outcome']);
  const denials = metrics.counter('ownpilot_acl_denials_total', 'Database ACL denials by requester kind and action', ['requester_kind', 'action']);
  return {
    query: (requesterId, outcome) => queries.inc({ requester_kind: kindOf(requesterId), outcome }),
    denied: (requesterId, action) => denials.inc({ requester_kind: kindOf(requesterId), action }),
  };
}
