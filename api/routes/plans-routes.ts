import { z } from 'zod';
import {
  CheckpointBody, CreatePlanBody, DecisionBody, ExecutePlanBody, LimitQuery, ListPlansQuery, PlanIdParams, PlanStep, PlanStepParams,
  RollbackBody, RunIdParams, RunStepParams, UpdatePlanBody,
} from '../../activities/plans/plan-schemas';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const PlanRun = z.looseObject({
  id: z.string(), planId: z.string(), runNumber: z.number().int(), version: z.number().int(), status: z.string(),
  input: z.unknown(), output: z.unknown(), error: z.string().nullable(), startedAt: Timestamp, finishedAt: Timestamp.nullable(),
});
const Plan = z.looseObject({ id: z.string(), name: z.string(), version: z.number().int(), definition: z.unknown(), createdAt: Timestamp, updatedAt: Timestamp });
const HistoryEntry = z.looseObject({ id: z.string(), runId: z.string(), stepId: z.string().nullable(), event: z.string(), status: z.string(), details: z.unknown(), createdAt: Timestamp });
const RunView = PlanRun.extend({
  progress: z.number(), steps: z.record(z.string(), z.unknown()), state: z.unknown(), source: z.enum(['workflow', 'database']),
  checkpoints: z.array(z.looseObject({ id: z.string(), name: z.string().nullable(), createdAt: Timestamp })), history: z.array(HistoryEntry),
});
const Started = z.object({ runId: z.string(), workflowId: z.string(), status: z.string(), existing: z.boolean().optional() });
const RunState = z.looseObject({}).describe('The run\'s state after the update (status, steps, progress)');

/** OpenAPI description of plans-router.ts. */
export const plansRoutes: RouteGroup = {
  prefix: '/api/v1/plans',
  tag: 'plans',
  description: 'Plans and their runs (Temporal workflows `plan-<planId>-<n>`): control, checkpoints, rollback, approvals, history',
  routes: [
    { method: 'post', path: '/', summary: 'Create a plan (version 1)', body: CreatePlanBody, errors: [422], responses: { 201: { description: 'Created', schema: Plan } } },
    { method: 'get', path: '/', summary: 'The caller\'s plans, newest first (admin: all)', query: ListPlansQuery, responses: { 200: { description: 'Plans', schema: z.array(Plan) } } },
    { method: 'get', path: '/runs/:runId', summary: 'A run: live status from the workflow, or the stored snapshot', params: RunIdParams, errors: [403, 404], responses: { 200: { description: 'The run', schema: RunView } } },
    { method: 'post', path: '/runs/:runId/pause', summary: 'Pause a running run', params: RunIdParams, errors: [403, 404, 409], responses: { 200: { description: 'Paused', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/resume', summary: 'Resume a paused run', params: RunIdParams, errors: [403, 404, 409], responses: { 200: { description: 'Resumed', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/cancel', summary: 'Cancel a run (compensations run newest-first)', params: RunIdParams, errors: [403, 404, 409], responses: { 202: { description: 'Cancelling', schema: z.object({ status: z.literal('cancelling') }) } } },
    { method: 'post', path: '/runs/:runId/checkpoint', summary: 'Mark a named checkpoint', params: RunIdParams, body: CheckpointBody, errors: [403, 404, 409], responses: { 201: { description: 'The checkpoint', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/rollback', summary: 'Roll back to a checkpoint, or the whole run', params: RunIdParams, body: RollbackBody, errors: [403, 404, 409], responses: { 200: { description: 'Rolled back', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/steps/:stepId/approve', summary: 'Approve a waiting approval step', params: RunStepParams, body: DecisionBody, errors: [403, 404, 409], responses: { 200: { description: 'Decided', schema: RunState } } },
    { method: 'post', path: '/runs/:runId/steps/:stepId/reject', summary: 'Reject a waiting approval step', params: RunStepParams, body: DecisionBody, errors: [403, 404, 409], responses: { 200: { description: 'Decided', schema: RunState } } },
    { method: 'get', path: '/:id', summary: 'A plan with its steps and latest runs', params: PlanIdParams, errors: [403, 404], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'patch', path: '/:id', summary: 'Change a plan (a new version when steps or run settings change)', params: PlanIdParams, body: UpdatePlanBody, errors: [403, 404, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'delete', path: '/:id', summary: 'Delete a plan with its runs and history', params: PlanIdParams, errors: [403, 404, 409], responses: { 204: { description: 'Deleted' } } },
    { method: 'get', path: '/:id/steps', summary: 'The plan\'s steps', params: PlanIdParams, errors: [403, 404], responses: { 200: { description: 'Steps', schema: z.array(z.looseObject({ id: z.string(), kind: z.string() })) } } },
    { method: 'put', path: '/:id/steps', summary: 'Replace the steps (a new version)', params: PlanIdParams, body: UpdatePlanBody.shape.steps.unwrap(), errors: [403, 404, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'post', path: '/:id/steps', summary: 'Append a step (a new version)', params: PlanIdParams, body: PlanStep, errors: [403, 404, 422], responses: { 201: { description: 'The plan', schema: Plan } } },
    { method: 'delete', path: '/:id/steps/:stepId', summary: 'Remove a step (a new version)', params: PlanStepParams, errors: [403, 404, 422], responses: { 200: { description: 'The plan', schema: Plan } } },
    { method: 'post', path: '/:id/execute', summary: 'Start a run (a start key makes it idempotent)', params: PlanIdParams, body: ExecutePlanBody, errors: [403, 404, 409], responses: { 202: { description: 'Started; follow it with GET /runs/{runId}', schema: Started } } },
    { method: 'get', path: '/:id/runs', summary: 'Runs of a plan, newest first', params: PlanIdParams, query: LimitQuery, errors: [403, 404], responses: { 200: { description: 'Runs', schema: z.array(PlanRun) } } },
    { method: 'get', path: '/:id/history', summary: 'Runs with their transitions', params: PlanIdParams, query: LimitQuery, errors: [403, 404], responses: { 200: { description: 'Runs with history', schema: z.array(PlanRun.extend({ history: z.array(HistoryEntry) })) } } },
  ],
};
