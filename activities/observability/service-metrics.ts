import type { AclMetricsSink } from '../acl/acl-service';
import { principalKind } from '../auth/principal';
import type { Metrics, Sample } from '../../platform/observability/metrics';

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

/** What the tool registry keeps per source (its `metrics.snapshot()`). */
interface ToolSourceCounters {
  count: number;
  byOutcome: Record<string, number>;
  totalMs: number;
  msByOutcome?: Record<string, number>;
}

/** Exports the tool registry's own per-source counters (read at scrape time). */
export function registerToolMetrics(metrics: Pick<Metrics, 'readCounter'>, tools: { snapshot(): Record<string, ToolSourceCounters> }): void {
  metrics.readCounter('ownpilot_tool_executions_total', 'Tool executions by source and outcome', ['source', 'outcome'], () =>
    Object.entries(tools.snapshot()).flatMap(([source, m]) => Object.entries(m.byOutcome).map(([outcome, n]): Sample => [{ source, outcome }, n])));
  metrics.readCounter('ownpilot_tool_execution_seconds_total', 'Total tool execution time by source and outcome (divide by ownpilot_tool_executions_total for the mean)', ['source', 'outcome'], () =>
    Object.entries(tools.snapshot()).flatMap(([source, m]): Sample[] =>
      m.msByOutcome ? Object.entries(m.msByOutcome).map(([outcome, ms]): Sample => [{ source, outcome }, ms / 1000]) : [[{ source }, m.totalMs / 1000]]));
}

/** What the event bus keeps per subscriber (its `metrics().subscribers`). */
interface SubscriberCounters {
  delivered: number;
  failed: number;
  timedOut: number;
  rateDropped: number;
  overflowed: number;
  queued: number;
}

/** Exports the event bus's own per-subscriber delivery counters and backlog (read at scrape time). */
export function registerEventBusMetrics(
  metrics: Pick<Metrics, 'readCounter' | 'readGauge'>,
  bus: { metrics(): { received: number; subscribers: Record<string, SubscriberCounters>; store?: { log: { written: number; dropped: number } } } },
): void {
  const per = (pick: (m: SubscriberCounters) => number) => (): Sample[] =>
    Object.entries(bus.metrics().subscribers).map(([subscriber, m]) => [{ subscriber }, pick(m)]);
  metrics.readCounter('ownpilot_events_delivered_total', 'Events handled by each subscriber', ['subscriber'], per((m) => m.delivered));
  metrics.readCounter('ownpilot_event_handler_failures_total', 'Deliveries whose handler threw or timed out, by subscriber', ['subscriber'], per((m) => m.failed + m.timedOut));
  metrics.readCounter('ownpilot_events_rate_limited_total', 'Deliveries dropped by a subscriber rate limit', ['subscriber'], per((m) => m.rateDropped));
  metrics.readCounter('ownpilot_events_overflowed_total', 'Deliveries dropped because a subscriber queue was full', ['subscriber'], per((m) => m.overflowed));
  metrics.readGauge('ownpilot_event_queue_depth', 'Deliveries waiting per subscriber', ['subscriber'], per((m) => m.queued));
  metrics.readCounter('ownpilot_events_received_total', 'Events received from other processes', [], () => [[{}, bus.metrics().received]]);
  metrics.readCounter('ownpilot_event_log_writes_total', 'Events written to event_log, or dropped after the write retries failed', ['outcome'], () => {
    const log = bus.metrics().store?.log;
    return log ? [[{ outcome: 'written' }, log.written], [{ outcome: 'dropped' }, log.dropped]] : [];
  });
}

/**
 * Counters derived from the events this process emits: per namespace, plus plugin lifecycle,
 * plan run/step outcomes and trigger firings by their event names. Hand `observe` to the bus.
 */
export function createEventMetrics(metrics: Pick<Metrics, 'counter' | 'histogram'>) {
  const emitted = metrics.counter('ownpilot_events_emitted_total', 'Events emitted by this process, by namespace', ['namespace']);
  const plugins = metrics.counter('ownpilot_plugin_lifecycle_total', 'Plugin lifecycle events (installed, install_failed, upgraded, upgrade_failed, uninstalled, enabled, disabled, ...)', ['event']);
  const plans = metrics.counter('ownpilot_plan_runs_total', 'Plan runs that ended, by outcome', ['outcome']);
  const steps = metrics.counter('ownpilot_plan_steps_total', 'Plan steps that ended, by outcome', ['outcome']);
  const planDurations = metrics.histogram('ownpilot_plan_run_duration_seconds', 'Plan run duration (allocation to end) by outcome', ['outcome']);
  const stepDurations = metrics.histogram('ownpilot_plan_step_duration_seconds', 'Plan step duration (recorded start to end) by outcome', ['outcome']);
  const triggers = metrics.counter('ownpilot_trigger_firings_total', 'Trigger events by outcome (fired, executed, failed)', ['outcome']);
  const triggerDurations = metrics.histogram('ownpilot_trigger_run_duration_seconds', 'Trigger run duration from firing to its end, by outcome', ['outcome']);
  const PLUGIN_LIFECYCLE = new Set(['installed', 'install_failed', 'upgraded', 'upgrade_failed', 'uninstalled', 'enabled', 'disabled', 'config_updated']);
  const PLAN_END = new Set(['completed', 'failed', 'cancelled', 'rolled_back']);
  const STEP_END: Record<string, string> = { step_completed: 'completed', step_failed: 'failed' };
  return {
    /** Counts one emitted event; never throws. */
    observe(event: { type: string; category: string; data: unknown }): void {
      emitted.inc({ namespace: event.category });
      const name = event.type.slice(event.category.length + 1);
      const durationMs = (event.data as { durationMs?: unknown } | null)?.durationMs;
      const seconds = typeof durationMs === 'number' && durationMs >= 0 ? durationMs / 1000 : undefined;
      if (event.category === 'plugin' && PLUGIN_LIFECYCLE.has(name)) plugins.inc({ event: name });
      if (event.category === 'trigger' && ['fired', 'executed', 'failed'].includes(name)) {
        triggers.inc({ outcome: name });
        if (name !== 'fired' && seconds !== undefined) triggerDurations.observe({ outcome: name }, seconds);
      }
      if (event.category === 'plan' && PLAN_END.has(name)) {
        plans.inc({ outcome: name });
        if (seconds !== undefined) planDurations.observe({ outcome: name }, seconds);
      }
      const stepOutcome = event.category === 'plan' ? STEP_END[name] : undefined;
      if (stepOutcome) {
        steps.inc({ outcome: stepOutcome });
        if (seconds !== undefined) stepDurations.observe({ outcome: stepOutcome }, seconds);
      }
    },
  };
}
