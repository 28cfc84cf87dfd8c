import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from '../platform/logger';
import type { Metrics } from '../platform/observability/metrics';

/** How an activity attempt ended, as a bounded label. */
function outcomeOf(error: unknown): 'failure' | 'cancelled' {
  return error instanceof Error && error.name === 'CancelledFailure' ? 'cancelled' : 'failure';
}

/**
 * A Temporal activity interceptor: counts and times every activity attempt by activity type and
 * outcome (plan steps, trigger runs and plugin install steps are activities), and logs each
 * attempt's end as JSON with workflow id, run id, activity type/id, attempt and the plan step id
 * when the activity runs one (never the arguments themselves).
 */
export function activityObservability(metrics: Pick<Metrics, 'counter' | 'histogram'>, logger: Logger): ActivityInterceptorsFactory {
  const attempts = metrics.counter('ownpilot_activity_executions_total', 'Activity attempts by activity type and outcome', ['activity', 'outcome']);
  const durations = metrics.histogram('ownpilot_activity_duration_seconds', 'Activity attempt duration by activity type and outcome', ['activity', 'outcome']);
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const { info } = ctx;
        const first = input.args[0] as { stepId?: unknown } | undefined;
        const log = logger.child({
          ...(typeof first?.stepId === 'string' ? { stepId: first.stepId } : {}),
          workflowId: info.workflowExecution?.workflowId,
          runId: info.workflowExecution?.runId,
          activity: info.activityType,
          activityId: info.activityId,
          attempt: info.attempt,
        });
        const started = process.hrtime.bigint();
        log.debug('activity started');
        const finish = (outcome: string) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          attempts.inc({ activity: info.activityType, outcome });
          durations.observe({ activity: info.activityType, outcome }, seconds);
          return Math.round(seconds * 1000);
        };
        try {
          const result = await next(input);
          log.info({ outcome: 'success', durationMs: finish('success') }, 'activity finished');
          return result;
        } catch (error) {
          const outcome = outcomeOf(error);
          log.warn({ outcome, durationMs: finish(outcome), error: error instanceof Error ? error.message : String(error) }, 'activity failed');
          throw error;
        }
      },
    },
  });
}
