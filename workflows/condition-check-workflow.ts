import { ParentClosePolicy, proxyActivities, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TriggerActivities } from '../activities/triggers/trigger-activities';
import { OwnPilotKind, OwnPilotTriggerId } from './search-attributes';
import { triggerRunWorkflow } from './trigger-run-workflow';
import type { ConditionCheckInput, ConditionCheckResult } from './trigger-types';

const { checkTriggerCondition } = proxyActivities<TriggerActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/**
 * One evaluation of a condition trigger (started by its schedule): calls the tool, tests the
 * expression, and on a false→true edge outside the cooldown starts the trigger run as an
 * abandoned child `<this id>-fire`. The edge state lives in trigger_condition_state.
 */
export async function conditionCheckWorkflow(input: ConditionCheckInput): Promise<ConditionCheckResult> {
  upsertSearchAttributes([
    { key: OwnPilotTriggerId, value: input.triggerId },
    { key: OwnPilotKind, value: 'trigger-check' },
  ]);
  const { workflowId } = workflowInfo();
  const check = await checkTriggerCondition({ triggerId: input.triggerId, checkId: workflowId });
  if (!check.fire) return { fired: false, value: check.value };
  const runId = `${workflowId}-fire`;
  await startChild(triggerRunWorkflow, {
    workflowId: runId,
    args: [{ triggerId: input.triggerId, source: 'condition', payload: check.payload }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  return { fired: true, value: true, runId };
}
