import { ApplicationFailure, defineQuery, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PlanActivities } from '../activities/plans/plan-activities';
import type { PlanRunState, PlanTransition, PlanWorkflowInput } from './plan-types';
import { OwnPilotKind, OwnPilotPlanId, OwnPilotStartedBy } from './search-attributes';

const ACTIVITY_PRESETS = {
  toolStep: { startToCloseTimeout: '5 minutes', retry: { maximumAttempts: 3, initialInterval: '1 second' } },
  bookkeeping: { startToCloseTimeout: '30 seconds', retry: { initialInterval: '500 milliseconds' } },
} as const;

const { runToolStep } = proxyActivities<PlanActivities>(ACTIVITY_PRESETS.toolStep);
const { recordPlanTransition } = proxyActivities<PlanActivities>(ACTIVITY_PRESETS.bookkeeping);

/** Current status, per-step state and progress of a plan run. */
export const planStatusQuery = defineQuery<PlanRunState>('status');

/** Runs a plan's steps in order, each as an activity, recording every transition in plan_history. */
export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanRunState> {
  const { planId, runId } = input;
  upsertSearchAttributes([
    { key: OwnPilotPlanId, value: planId },
    { key: OwnPilotKind, value: 'plan' },
    { key: OwnPilotStartedBy, value: input.startedBy },
  ]);
  const state: PlanRunState = {
    status: 'running',
    steps: Object.fromEntries(input.steps.map((s) => [s.id, { status: 'pending' as const }])),
    completedSteps: 0,
    totalSteps: input.steps.length,
  };
  setHandler(planStatusQuery, () => state);

  let sequence = 0;
  const record = (t: Omit<PlanTransition, 'planId' | 'runId' | 'sequence'>) =>
    recordPlanTransition({ planId, runId, sequence: sequence++, ...t });

  await record({ event: 'plan.started', status: 'running', details: { version: input.version } });
  for (const step of input.steps) {
    const stepState = state.steps[step.id]!;
    stepState.status = 'running';
    await record({ stepId: step.id, event: 'plan.step_started', status: 'running', details: { tool: step.tool } });
    try {
      stepState.output = await runToolStep({
        runId,
        stepId: step.id,
        tool: step.tool,
        args: step.args,
        requesterId: input.startedBy,
        idempotencyKey: `${workflowInfo().workflowId}/${step.id}`,
      });
    } catch (error) {
      const message = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      stepState.status = 'failed';
      stepState.error = message;
      state.status = 'failed';
      await record({ stepId: step.id, event: 'plan.step_failed', status: 'failed', details: { error: message } });
      await record({ event: 'plan.failed', status: 'failed', details: { error: message, stepId: step.id } });
      throw ApplicationFailure.create({ type: 'PlanStepFailed', message: `step ${step.id} failed: ${message}`, nonRetryable: true });
    }
    stepState.status = 'completed';
    state.completedSteps++;
    await record({ stepId: step.id, event: 'plan.step_completed', status: 'completed', details: { output: stepState.output } });
  }
  state.status = 'completed';
  await record({ event: 'plan.completed', status: 'completed' });
  return state;
}
