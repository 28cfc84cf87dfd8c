import { type Client, isGrpcServiceError, ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleOptions, ServiceError } from '@temporalio/client';
import { AppError } from '../../platform/errors';
import { CURRENT_TRIGGER_BEHAVIOURS, type ConditionCheckInput, type TriggerRunInput } from '../../workflows/trigger-types';
import { ConditionConfig, ScheduleConfig } from './trigger-schemas';

/** Trigger types that own a Temporal Schedule (`trigger-<id>`). */
export const SCHEDULED_TYPES: ReadonlySet<string> = new Set(['schedule', 'condition']);
export const SCHEDULE_PREFIX = 'trigger-';

/** The schedule id of a trigger. */
export function scheduleIdOf(triggerId: string): string {
  return `${SCHEDULE_PREFIX}${triggerId}`;
}

/** gRPC status INVALID_ARGUMENT. */
const GRPC_INVALID_ARGUMENT = 3;

const OVERLAP = { skip: 'SKIP', buffer_one: 'BUFFER_ONE', buffer_all: 'BUFFER_ALL', cancel_other: 'CANCEL_OTHER', terminate_other: 'TERMINATE_OTHER', allow_all: 'ALLOW_ALL' } as const;

/** The overlap policy name Temporal uses for one of ours. */
export function temporalOverlap(policy: keyof typeof OVERLAP) {
  return OVERLAP[policy];
}

export interface ScheduledTrigger {
  id: string;
  name: string;
  type: string;
  config: unknown;
  isEnabled: boolean;
}

/** The full schedule of a schedule or condition trigger (paused when the trigger is disabled). */
export function scheduleOptionsFor(trigger: ScheduledTrigger, taskQueue: string): ScheduleOptions {
  const scheduleId = scheduleIdOf(trigger.id);
  const state = { paused: !trigger.isEnabled, note: trigger.isEnabled ? 'enabled' : 'disabled' };
  if (trigger.type === 'condition') {
    const config = ConditionConfig.parse(trigger.config);
    const args: [ConditionCheckInput] = [{ triggerId: trigger.id }];
    return {
      scheduleId,
      spec: { intervals: [{ every: `${config.intervalSeconds}s` }] },
      action: { type: 'startWorkflow', workflowType: 'conditionCheckWorkflow', workflowId: `${scheduleId}-check`, taskQueue, args, staticSummary: `Condition check: ${trigger.name}` },
      policies: { overlap: 'SKIP', catchupWindow: '10s', pauseOnFailure: false },
      state,
    };
  }
  const config = ScheduleConfig.parse(trigger.config);
  const args: [TriggerRunInput] = [{ triggerId: trigger.id, source: 'schedule', behaviours: CURRENT_TRIGGER_BEHAVIOURS }];
  return {
    scheduleId,
    spec: {
      ...(config.cron !== undefined ? { cronExpressions: [config.cron] } : { intervals: [{ every: `${config.intervalSeconds}s` }] }),
      timezone: config.timezone,
      jitter: `${config.jitterSeconds}s`,
    },
    action: { type: 'startWorkflow', workflowType: 'triggerRunWorkflow', workflowId: scheduleId, taskQueue, args, staticSummary: `Trigger: ${trigger.name}` },
    policies: { overlap: temporalOverlap(config.overlap), catchupWindow: `${config.catchupWindowSeconds}s`, pauseOnFailure: config.pauseOnFailure },
    state,
  };
}

/**
 * Temporal's rejection of a spec (bad cron, bad interval) becomes a 422 carrying Temporal's reason.
 * The client reports "Invalid schedule spec" answers as a TypeError with the server's message.
 */
export function asScheduleError(error: unknown): unknown {
  if (error instanceof TypeError) {
    return new AppError('UNPROCESSABLE', `invalid schedule: ${error.message}`, { reason: error.message });
  }
  const grpc = error instanceof ServiceError && isGrpcServiceError(error.cause) ? error.cause : isGrpcServiceError(error) ? error : undefined;
  if (grpc?.code === GRPC_INVALID_ARGUMENT) {
    return new AppError('UNPROCESSABLE', `Temporal rejected the schedule: ${grpc.details || grpc.message}`, { reason: grpc.details || grpc.message });
  }
  return error;
}

/** Create / replace / remove the Temporal Schedule of a trigger; each step is idempotent. */
export function createTriggerSchedules({ temporal, taskQueue }: { temporal: Pick<Client, 'schedule'>; taskQueue: string }) {
  return {
    /** Creates the schedule; an existing one is replaced (update) so the result always matches `trigger`. */
    async put(trigger: ScheduledTrigger): Promise<void> {
      const options = scheduleOptionsFor(trigger, taskQueue);
      try {
        await temporal.schedule.create(options);
      } catch (error) {
        if (!(error instanceof ScheduleAlreadyRunning)) throw asScheduleError(error);
        const { scheduleId: _id, ...update } = options;
        await temporal.schedule
          .getHandle(options.scheduleId)
          .update(() => ({ ...update, state: { paused: update.state?.paused, note: update.state?.note } }))
          .catch((e: unknown) => {
            throw asScheduleError(e);
          });
      }
    },

    /** Deletes the schedule; an absent one is fine. */
    async remove(triggerId: string): Promise<void> {
      try {
        await temporal.schedule.getHandle(scheduleIdOf(triggerId)).delete();
      } catch (error) {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      }
    },

    /** Pauses or unpauses the schedule (with a note saying why). */
    async setPaused(triggerId: string, paused: boolean): Promise<void> {
      const handle = temporal.schedule.getHandle(scheduleIdOf(triggerId));
      if (paused) await handle.pause('disabled');
      else await handle.unpause('enabled');
    },
  };
}
export type TriggerSchedules = ReturnType<typeof createTriggerSchedules>;
