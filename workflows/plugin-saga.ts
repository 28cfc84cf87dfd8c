import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { PluginActivities } from '../activities/plugins/plugin-activities';
import type { PluginUpgradeActivities } from '../activities/plugins/plugin-upgrade-activities';

// What the plugin install and upgrade sagas share. Every step is a short database call in the
// worker that runs the workflow: local activities (recorded as markers in the history) save a
// server round trip per step.
const ACTIVITY_PRESETS = {
  step: { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5, initialInterval: '500 milliseconds' } },
  compensation: { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 10, initialInterval: '1 second' } },
  /** A step after which nothing is undone (dropping a table the upgrade left behind): retried until it succeeds. */
  forward: { startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', maximumInterval: '30 seconds' } },
} as const;

type SagaActivities = PluginActivities & PluginUpgradeActivities;
export const steps = proxyLocalActivities<SagaActivities>(ACTIVITY_PRESETS.step);
export const undo = proxyLocalActivities<SagaActivities>(ACTIVITY_PRESETS.compensation);
export const forward = proxyLocalActivities<SagaActivities>(ACTIVITY_PRESETS.forward);

/** The message a failed activity carries: its cause's, which is what the activity threw. */
export const reasonOf = (error: unknown): string =>
  error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);

/** The undo steps of a saga, registered as its steps complete. */
export function createCompensations() {
  const compensations: { what: string; run: () => Promise<unknown> }[] = [];
  return {
    add: (what: string, run: () => Promise<unknown>) => void compensations.push({ what, run }),
    /**
     * Runs every undo newest-first, even when the workflow is cancelled; a failing one is
     * recorded and does not stop the others. Then runs `then` with those failures, in the same scope.
     * Returns the failures as `<what>: <reason>`.
     */
    async run(then: (failed: string[]) => Promise<unknown>): Promise<string[]> {
      const failed: string[] = [];
      await CancellationScope.nonCancellable(async () => {
        for (const compensation of [...compensations].reverse()) {
          try {
            await compensation.run();
          } catch (undoError) {
            failed.push(`${compensation.what}: ${reasonOf(undoError)}`);
          }
        }
        await then(failed);
      });
      return failed;
    },
  };
}
