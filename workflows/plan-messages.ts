// Query and update definitions of the plan workflow, shared by the workflow and the service.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CheckpointRef, DecisionRequest, PlanRunState, StepState } from './plan-types';

/** Current status, per-step state, outputs, checkpoints and progress of a plan run. */
export const planStatusQuery = defineQuery<PlanRunState>('status');
/** Stops starting new steps (the ones in flight finish); rejected unless running. */
export const pauseUpdate = defineUpdate<PlanRunState, [{ by: string }]>('pause');
/** Starts scheduling steps again; rejected unless paused. */
export const resumeUpdate = defineUpdate<PlanRunState, [{ by: string }]>('resume');
/** Marks a named checkpoint at the current position. */
export const checkpointUpdate = defineUpdate<CheckpointRef, [{ name?: string; by: string }]>('checkpoint');
/** Cancels the tool and sub-plan steps in flight, compensates the steps finished after a checkpoint and pauses there (without one: rolls the whole run back). */
export const rollbackUpdate = defineUpdate<PlanRunState, [{ checkpointId?: string; by: string }]>('rollback');
/** Approves or rejects a step waiting for approval; rejected unless the step waits and the principal may decide (an approver, or admin as an override). */
export const decideUpdate = defineUpdate<StepState, [DecisionRequest]>('decide');
