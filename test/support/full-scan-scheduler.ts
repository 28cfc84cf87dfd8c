import type { PlanStep } from '../../activities/plans/plan-schemas';
import type { StepStatus } from '../../workflows/plan-types';
import { isFinished, type ReadySteps } from '../../workflows/ready-steps';

/**
 * The scheduling the plan workflow did before its index of ready steps (workflows/ready-steps.ts):
 * each pass scans every step for the pending ones whose dependencies all finished, in definition
 * order. The reference the index must match (test/ready-steps.test.ts) and its baseline in the bench.
 */
export function fullScanScheduler(steps: readonly PlanStep[], statusOf: (id: string) => StepStatus): ReadySteps {
  return {
    finished: () => undefined,
    reset: () => undefined,
    requeued: () => undefined,
    pass(actions) {
      let skipped = false;
      for (const step of steps.filter((s) => statusOf(s.id) === 'pending' && s.dependsOn.every((d) => isFinished(statusOf(d))))) {
        if (actions.blocked(step)) {
          actions.skip(step);
          skipped = true;
        } else if (actions.room() > 0) {
          actions.start(step);
        }
      }
      return skipped;
    },
  };
}
