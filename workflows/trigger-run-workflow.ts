import { ApplicationFailure, proxyActivities, proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TriggerActivities } from '../activities/triggers/trigger-activities';
import { behavioursOf } from './behaviours';
import { OwnPilotKind, OwnPilotTriggerId } from './search-attributes';
import { TRIGGER_BEHAVIOURS, type TriggerBehaviour, type TriggerRunInput, type TriggerRunResult } from './trigger-types';

const ACTIVITY_PRESETS = {
  bookkeeping: { startToCloseTimeout: '30 seconds', retry: { initialInterval: '500 milliseconds', maximumAttempts: 10 } },
  action: { startToCloseTimeout: '5 minutes', retry: { initialInterval: '1 second', maximumAttempts: 3 } },
  // The tool action heartbeats every second: a lost worker is noticed within seconds, not at the 5-minute deadline.
  heartbeatingAction: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '5 seconds', retry: { initialInterval: '1 second', maximumAttempts: 3 } },
} as const;


// Bookkeeping runs as local activities: two fewer task round trips between firing and action.
const { beginTriggerRun, finishTriggerRun } = proxyLocalActivities<TriggerActivities>(ACTIVITY_PRESETS.bookkeeping);
const { startTriggerPlan, callTriggerTool } = proxyActivities<TriggerActivities>(ACTIVITY_PRESETS.action);
const heartbeating = proxyActivities<TriggerActivities>(ACTIVITY_PRESETS.heartbeatingAction);

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? error.cause.message : error.message;
  return String(error);
}

/**
 * One firing of a trigger: records a trigger_history row, takes the action (starts the plan as
 * a linked workflow, or calls the tool), records the outcome and emits trigger.executed or
 * trigger.failed. A failed action fails this run (non-retryable), so a schedule's
 * pause-on-failure sees it, and never causes a retry loop.
 */
export async function triggerRunWorkflow(input: TriggerRunInput): Promise<TriggerRunResult> {
  upsertSearchAttributes([
    { key: OwnPilotTriggerId, value: input.triggerId },
    { key: OwnPilotKind, value: 'trigger' },
  ]);
  const { workflowId } = workflowInfo();
  const begun = await beginTriggerRun({ ...input, workflowId });
  if (begun === null) return { status: 'skipped' };

  let planWorkflowId: string | undefined;
  let output: unknown;
  try {
    if (begun.action.kind === 'plan') {
      planWorkflowId = await startTriggerPlan({ historyId: begun.historyId, triggerId: input.triggerId, planId: begun.action.planId, input: begun.action.input });
    } else {
      // Every attempt uses the firing id as idempotency key, so a retry after a lost worker does not repeat the side effect.
      const call = behavioursOf<TriggerBehaviour>(input.behaviours)(TRIGGER_BEHAVIOURS.toolHeartbeat) ? heartbeating.callTriggerTool : callTriggerTool;
      output = await call({ triggerId: input.triggerId, tool: begun.action.tool, args: begun.action.args, idempotencyKey: workflowId });
    }
  } catch (error) {
    const message = messageOf(error);
    await finishTriggerRun({ historyId: begun.historyId, triggerId: input.triggerId, status: 'failed', error: message });
    throw ApplicationFailure.create({ type: 'TriggerActionFailed', message, nonRetryable: true });
  }
  await finishTriggerRun({ historyId: begun.historyId, triggerId: input.triggerId, status: 'succeeded', planWorkflowId });
  return { status: 'succeeded', historyId: begun.historyId, planWorkflowId, output };
}
