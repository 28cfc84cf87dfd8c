import { z } from 'zod';
import {
  CheckpointBody, CreatePlanBody, DecisionBody, ExecutePlanBody, LimitQuery, ListPlansQuery, PlanDefinition, PlanIdParams, PlanStep, PlanStepParams,
  RollbackBody, RunCheckpointParams, RunIdParams, RunStepParams, UpdatePlanBody,
} from '../../activities/plans/plan-schemas';
import { PendingApproval, PendingApprovalsQuery } from '../../activities/plans/pending-approvals';
import type { PlanRunStatus, StepStatus } from '../../workflows/plan-types';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const RUN_STATUSES = ['pending', 'running', 'paused', 'rolling_back', 'completed', 'failed', 'cancelled', 'rolled_back'] as const satisfies readonly PlanRunStatus[];
const STEP_STATUSES = ['pending', 'running', 'waiting_approval', 'completed', 'failed', 'skipped', 'cancelled', 'compensated', 'compensation_failed'] as const satisfies readonly StepStatus[];

/** A plan_runs row (without its state snapshot). */
const PlanRun = z.object({
  id: z.string().describe('The workflow id plan-<planId>-<n>'), planId: z.string(), runNumber: z.number().int(), version: z.number().int(), status: z.enum(RUN_STATUSES),
  input: z.unknown(), output: z.unknown(), error: z.string().nullable(), startedBy: z.string().nullable(), startKey: z.string().nullable(),
  via: z.string().nullable().describe('What the run was started through: trigger:<id> when a trigger\'s firing started it for its creator (startedBy); a sub-plan run has its root run\'s'),
  startedAt: Timestamp, finishedAt: Timestamp.nullable(), parentRunId: z.string().nullable().describe('Set on sub-plan runs'),
});
/** A plan as stored: its current definition and bookkeeping. */
const Plan = z.object({
  id: z.string(), name: z.string(), description: z.string().nullable(), goal: z.string().nullable(), version: z.number().int(), definition: PlanDefinition,
  maxConcurrentRuns: z.number().int(), runCount: z.number().int(), createdBy: z.string().nullable(), createdAt: Timestamp, updatedAt: Timestamp,
});
const PlanStepRow = z.object({
  planId: z.string(), stepId: z.string(), position: z.number().int(), name: z.string().nullable(), kind: z.enum(['tool', 'approval', 'wait', 'condition', 'sub_plan']),
  config: z.record(z.string(), z.unknown()).describe('The step\'s kind-specific fields'), dependsOn: z.array(z.string()),
});
const PlanDetail = Plan.extend({ steps: z.array(PlanStepRow), runs: z.array(PlanRun).describe('The latest 20 runs') });
const HistoryEntry = z.object({
  id: z.string(), planId: z.string(), runId: z.string(), stepId: z.string().nullable(), event: z.string(), status: z.string(), details: z.unknown(), sequence: z.number().int(), createdAt: Timestamp,
});
const StepState = z.object({
  status: z.enum(STEP_STATUSES), output: z.unknown().optional(), error: z.string().optional(), generation: z.number().int(), decidedBy: z.string().optional(),
});
const CheckpointRef = z.object({ id: z.string(), name: z.string().optional(), position: z.number().int().describe('Finished steps when it was taken') });
/** The workflow's own view of a run (its status query and update results). */
const RunState = z.object({
  planId: z.string(), runId: z.string(), version: z.number().int(), status: z.enum(RUN_STATUSES), steps: z.record(z.string(), StepState),
  order: z.array(z.string()).describe('Step ids in the order they finished'), completedSteps: z.number().int(), totalSteps: z.number().int(), progress: z.number(),
  checkpoints: z.array(CheckpointRef), compensations: z.array(z.object({ stepId: z.string(), status: z.enum(['completed', 'failed']), error: z.string().optional() })),
  error: z.string().optional(),
});
/** A plan_checkpoints row: every checkpoint the run recorded, those a rollback undid included. */
const StoredCheckpoint = z.object({ id: z.string(), name: z.string().nullable(), position: z.number().int().describe('Finished steps when it was taken'), createdAt: Timestamp });
const RunView = PlanRun.extend({
  progress: z.number(), steps: z.record(z.string(), StepState), state: RunState.nullable(), source: z.enum(['workflow', 'database']),
  checkpoints: z.array(StoredCheckpoint).describe('Oldest first; GET /runs/{runId}/checkpoints/{checkpointId} has the outputs at one'), history: z.array(HistoryEntry),
});
const CheckpointOutputs = StoredCheckpoint.extend({
  outputs: z.record(z.string(), z.unknown()).describe('Output of each step completed when the checkpoint was taken, by step id'),
});
const Started = z.object({ runId: z.string(), workflowId: z.string(), status: z.enum(RUN_STATUSES), existing: z.boolean() });

/** OpenAPI description of plans-router.ts. */
export const plansRoutes: RouteGroup = {
  prefix: '/api/v1/plans',
  tag: 'plans',
  description: 'Plans and their runs (Temporal workflows `plan-<planId>-<n>`): control, checkpoints, rollback, approvals, history',
  routes: [
    { method: 'post', path: '/', summary: 'Create a plan (version 1); 403 when a step or compensation names a tool its owner may not run', body: CreatePlanBody, errors: [403, 422], responses: { 201: { description: 'Created', schema: Plan } } },
    { method: 'get', path: '/', summary: 'The caller\'s plans, newest first (admin: all)', query: ListPlansQuery, responses: { 200: { description: 'Plans', schema: z.array(Plan) } } },
    { method: 'get', path: '/approvals', summary: 'Approval steps of active runs waiting for a decision the caller may make (named among the approvers, or `*` for the run\'s owner, starter and admin), oldest first; `all=true` (admin only, 403 otherwise): every waiting approval step, which admin may decide as an override', query: PendingApprovalsQuery, errors: [403], responses: { 200: { description: 'Waiting approvals', schema: z.object({ approvals: z.array(PendingApproval.extend({ requestedAt: Timestamp })) }) } } },
    { method: 'get', path: '/runs/:runId', summary: 'A run: live status from the workflow, or the stored snapshot', params: RunIdParams, errors: [403, 404], responses: { 200: { description: 'The run', schema: RunView } } },
    { method: 'get', path: '/runs/:runId/checkpoints/:checkpointId', summary: 'A checkpoint with the step outputs at it', params: RunCheckpointParams, errors: [403, 404], responses: { 200: { description: 'The checkpoint', schema: CheckpointOutputs } } },
    { method: 'post', path: '/runs/:runId/pause', summary: 'Pause a running run', params: RunIdParams, errors: [403, 404, 409], responses: { 200: { description: 'Paused', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/resume', summary: 'Resume a paused run', params: RunIdParams, errors: [403, 404, 409], responses: { 200: { description: 'Resumed', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/cancel', summary: 'Cancel a run (compensations run newest-first)', params: RunIdParams, errors: [403, 404, 409], responses: { 202: { description: 'Cancelling', schema: z.object({ status: z.literal('cancelling') }) } } },
    { method: 'post', path: '/runs/:runId/checkpoint', summary: 'Mark a named checkpoint', params: RunIdParams, body: CheckpointBody, errors: [403, 404, 409], responses: { 201: { description: 'The checkpoint', schema: CheckpointRef } } },
    { method: 'post', path: '/runs/:runId/rollback', summary: 'Roll back to a checkpoint, or the whole run', params: RunIdParams, body: RollbackBody, errors: [403, 404, 409], responses: { 200: { description: 'Rolled back', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/steps/:stepId/approve', summary: 'Approve a waiting approval step (as one of its approvers, or as admin: an override, recorded as such)', params: RunStepParams, body: DecisionBody, errors: [403, 404, 409], responses: { 200: { description: 'The step after the decision', schema: StepState } } },
    { method: 'post', path: '/runs/:runId/steps/:stepId/reject', summary: 'Reject a waiting approval step (as one of its approvers, or as admin: an override, recorded as such)', params: RunStepParams, body: DecisionBody, errors: [403, 404, 409], responses: { 200: { description: 'The step after the decision', schema: StepState } } },
    { method: 'get', path: '/:id', summary: 'A plan with its steps and latest runs', params: PlanIdParams, errors: [403, 404], responses: { 200: { description: 'The plan', schema: PlanDetail } } },
    { method: 'patch', path: '/:id', summary: 'Change a plan (a new version when steps or run settings change)', params: PlanIdParams, body: UpdatePlanBody, errors: [403, 404, 409, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'delete', path: '/:id', summary: 'Delete a plan with its runs and history', params: PlanIdParams, errors: [403, 404, 409], responses: { 204: { description: 'Deleted' } } },
    { method: 'get', path: '/:id/steps', summary: 'The plan\'s steps', params: PlanIdParams, errors: [403, 404], responses: { 200: { description: 'Steps', schema: z.array(PlanStep) } } },
    { method: 'put', path: '/:id/steps', summary: 'Replace the steps (a new version)', params: PlanIdParams, body: UpdatePlanBody.shape.steps.unwrap(), errors: [403, 404, 409, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'post', path: '/:id/steps', summary: 'Append a step (a new version)', params: PlanIdParams, body: PlanStep, errors: [403, 404, 409, 422], responses: { 201: { description: 'The plan', schema: Plan } } },
    { method: 'delete', path: '/:id/steps/:stepId', summary: 'Remove a step (a new version)', params: PlanStepParams, errors: [403, 404, 409, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'post', path: '/:id/execute', summary: 'Start a run (a start key makes it idempotent)', params: PlanIdParams, body: ExecutePlanBody, errors: [403, 404, 409], responses: { 202: { description: 'Started; follow it with GET /runs/{runId}', schema: Started } } },
    { method: 'get', path: '/:id/runs', summary: 'Runs of a plan, newest first', params: PlanIdParams, query: LimitQuery, errors: [403, 404], responses: { 200: { description: 'Runs', schema: z.array(PlanRun) } } },
    { method: 'get', path: '/:id/history', summary: 'Runs with their transitions', params: PlanIdParams, query: LimitQuery, errors: [403, 404], responses: { 200: { description: 'Runs with history', schema: z.array(PlanRun.extend({ history: z.array(HistoryEntry) })) } } },
  ],
};
