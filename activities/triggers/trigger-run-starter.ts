import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { CURRENT_TRIGGER_BEHAVIOURS, type TriggerRunInput } from '../../workflows/trigger-types';

export interface TriggerRunStarterDeps {
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
}

/** The workflow id of one firing: `trigger-<triggerId>-<suffix>`. */
export function triggerRunWorkflowId(triggerId: string, suffix: string): string {
  return `trigger-${triggerId}-${suffix}`;
}

/** Starts trigger-run workflows; a given id starts at most once, ever (REJECT_DUPLICATE). */
export function createTriggerRunStarter({ temporal, taskQueue }: TriggerRunStarterDeps) {
  return {
    /** Starts `trigger-<id>-<suffix>`; `started` is false when that firing already exists (not an error). */
    async start(suffix: string, input: TriggerRunInput): Promise<{ runId: string; started: boolean }> {
      const runId = triggerRunWorkflowId(input.triggerId, suffix);
      try {
        await temporal.workflow.start('triggerRunWorkflow', {
          taskQueue,
          workflowId: runId,
          args: [{ ...input, behaviours: CURRENT_TRIGGER_BEHAVIOURS }],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: `Trigger ${input.triggerId} (${input.source})`,
        });
        return { runId, started: true };
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { runId, started: false };
        throw error;
      }
    },
  };
}
export type TriggerRunStarter = ReturnType<typeof createTriggerRunStarter>;
