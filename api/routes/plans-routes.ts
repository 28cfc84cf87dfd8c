import { z } from 'zod';
import { CreatePlanBody, ExecutePlanBody, PlanIdParams } from '../../activities/plans/plan-schemas';
import { Timestamp, type RouteGroup } from '../openapi/route-spec';

const PlanRun = z.looseObject({
  id: z.string(), planId: z.string(), runNumber: z.number().int(), status: z.string(),
  input: z.unknown(), output: z.unknown(), error: z.string().nullable(), startedAt: Timestamp, finishedAt: Timestamp.nullable(),
});
const Plan = z.looseObject({
  id: z.string(), name: z.string(), description: z.string().nullable(), goal: z.string().nullable(), version: z.number().int(),
  definition: z.unknown(), runCount: z.number().int(), createdAt: Timestamp, updatedAt: Timestamp,
});
const PlanHistoryEntry = z.looseObject({ id: z.string(), stepId: z.string().nullable(), event: z.string(), status: z.string(), details: z.unknown(), createdAt: Timestamp });

/** OpenAPI description of plans-router.ts. */
export const plansRoutes: RouteGroup = {
  prefix: '/api/v1/plans',
  tag: 'plans',
  description: 'Plans and their runs (Temporal workflows `plan-<planId>-<n>`)',
  routes: [
    { method: 'post', path: '/', summary: 'Create a plan', body: CreatePlanBody, errors: [422], responses: { 201: { description: 'Created (version 1)', schema: Plan } } },
    { method: 'get', path: '/runs/:runId', summary: 'A run with its history', params: z.object({ runId: z.string() }), errors: [404], responses: { 200: { description: 'The run', schema: PlanRun.extend({ history: z.array(PlanHistoryEntry) }) } } },
    { method: 'get', path: '/:id', summary: 'A plan with its latest runs', params: PlanIdParams, errors: [404], responses: { 200: { description: 'The plan', schema: Plan.extend({ runs: z.array(PlanRun) }) } } },
    {
      method: 'post', path: '/:id/execute', summary: 'Start a run', params: PlanIdParams, body: ExecutePlanBody, errors: [404, 409],
      responses: { 202: { description: 'Started; follow it with GET /runs/{runId}', schema: z.object({ runId: z.string(), workflowId: z.string(), status: z.literal('pending') }) } },
    },
  ],
};
