import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * Behaviours added after plan runs were first recorded, by patch id. Each guards code that
 * histories recorded before it do not have.
 */
export const PLAN_BEHAVIOURS = {
  workerLoss: 'redispatch-on-worker-loss',
  subPlanTimeout: 'sub-plan-timeout',
  subPlanRetry: 'sub-plan-retry',
  waitTimeout: 'wait-step-timeout',
  oneFinalWrite: 'one-final-write',
  cancelledFromOutside: 'step-cancelled-from-outside-fails',
} as const;
export type PlanBehaviour = (typeof PLAN_BEHAVIOURS)[keyof typeof PLAN_BEHAVIOURS];

/** Every behaviour today's code has: stamped into the input of each run it starts. */
export const CURRENT_PLAN_BEHAVIOURS: readonly PlanBehaviour[] = Object.values(PLAN_BEHAVIOURS);

/**
 * Whether this run has a behaviour. A run whose starter stamped it into the input has it from
 * its first step, with no marker in its history: `patched()` records a marker and upserts the
 * TemporalChangeVersion search attribute, a visibility write that cost Temporal about as much CPU
 * per run as the rest of a 3-step plan's overhead. Runs started before stamping ask `patched()`.
 * A stamped run replayed still calls `patched()` (which records nothing while replaying): it
 * consumes the marker a worker without stamping left when it ran the run, so a rolling upgrade
 * cannot fail it with a nondeterminism error.
 */
export function behavioursOf(stamped: readonly string[] | undefined): (behaviour: PlanBehaviour) => boolean {
  return (behaviour) => {
    if (stamped?.includes(behaviour) !== true) return patched(behaviour);
    if (workflowInfo().unsafe.isReplaying) patched(behaviour);
    return true;
  };
}
