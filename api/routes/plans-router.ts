import { Router } from 'express';
import type { PlanService } from '../../activities/plans/plan-service';
import {
  CheckpointBody,
  CreatePlanBody,
  DecisionBody,
  ExecutePlanBody,
  LimitQuery,
  ListPlansQuery,
  PlanIdParams,
  PlanStep,
  PlanStepParams,
  RollbackBody,
  RunIdParams,
  RunStepParams,
  UpdatePlanBody,
} from '../../activities/plans/plan-schemas';
import { parse, principalOf } from '../validate';

/** /api/v1/plans: plan CRUD and steps, execution, run control (pause, resume, cancel, checkpoints, rollback, approvals) and history. */
export function plansRouter(plans: PlanService): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    res.status(201).json(await plans.createPlan(parse(CreatePlanBody, req.body), principalOf(req)));
  });
  router.get('/', async (req, res) => {
    res.json(await plans.listPlans(parse(ListPlansQuery, req.query)));
  });

  // Runs first, so /runs/... never reads as a plan id.
  router.get('/runs/:runId', async (req, res) => {
    res.json(await plans.getRun(parse(RunIdParams, req.params).runId));
  });
  router.post('/runs/:runId/pause', async (req, res) => {
    res.json(await plans.pausePlan(parse(RunIdParams, req.params).runId, principalOf(req)));
  });
  router.post('/runs/:runId/resume', async (req, res) => {
    res.json(await plans.resumePlan(parse(RunIdParams, req.params).runId, principalOf(req)));
  });
  router.post('/runs/:runId/cancel', async (req, res) => {
    await plans.cancelPlan(parse(RunIdParams, req.params).runId);
    res.status(202).json({ status: 'cancelling' });
  });
  router.post('/runs/:runId/checkpoint', async (req, res) => {
    const { name } = parse(CheckpointBody, req.body ?? {});
    res.status(201).json(await plans.createCheckpoint(parse(RunIdParams, req.params).runId, name, principalOf(req)));
  });
  router.post('/runs/:runId/rollback', async (req, res) => {
    const { checkpointId } = parse(RollbackBody, req.body ?? {});
    res.json(await plans.rollbackToCheckpoint(parse(RunIdParams, req.params).runId, checkpointId, principalOf(req)));
  });
  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/runs/:runId/steps/:stepId/${decision}`, async (req, res) => {
      const { runId, stepId } = parse(RunStepParams, req.params);
      const { comment } = parse(DecisionBody, req.body ?? {});
      res.json(await plans.decideStep(runId, stepId, decision === 'approve', principalOf(req), comment));
    });
  }

  router.get('/:id', async (req, res) => {
    res.json(await plans.getPlan(parse(PlanIdParams, req.params).id));
  });
  router.patch('/:id', async (req, res) => {
    res.json(await plans.updatePlan(parse(PlanIdParams, req.params).id, parse(UpdatePlanBody, req.body)));
  });
  router.delete('/:id', async (req, res) => {
    await plans.deletePlan(parse(PlanIdParams, req.params).id);
    res.status(204).end();
  });
  router.get('/:id/steps', async (req, res) => {
    res.json((await plans.getPlan(parse(PlanIdParams, req.params).id)).definition.steps);
  });
  router.put('/:id/steps', async (req, res) => {
    const steps = parse(UpdatePlanBody.shape.steps.unwrap(), req.body);
    res.json(await plans.updatePlan(parse(PlanIdParams, req.params).id, { steps }));
  });
  router.post('/:id/steps', async (req, res) => {
    const { id } = parse(PlanIdParams, req.params);
    res.status(201).json(await plans.addStep(id, parse(PlanStep, req.body)));
  });
  router.delete('/:id/steps/:stepId', async (req, res) => {
    const { id, stepId } = parse(PlanStepParams, req.params);
    res.json(await plans.removeStep(id, stepId));
  });
  router.post('/:id/execute', async (req, res) => {
    const { id } = parse(PlanIdParams, req.params);
    const { input, startKey } = parse(ExecutePlanBody, req.body ?? {});
    res.status(202).json(await plans.executePlan(id, input, principalOf(req), { startKey }));
  });
  router.get('/:id/runs', async (req, res) => {
    res.json(await plans.listRuns(parse(PlanIdParams, req.params).id, parse(LimitQuery, req.query).limit));
  });
  router.get('/:id/history', async (req, res) => {
    res.json(await plans.getPlanHistory(parse(PlanIdParams, req.params).id, parse(LimitQuery, req.query).limit));
  });
  return router;
}
