import { Router, type Request } from 'express';
import { PendingApprovalsQuery } from '../../activities/plans/pending-approvals';
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
  RunCheckpointParams,
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
    res.json(await plans.listPlans(plans.visiblePlans(parse(ListPlansQuery, req.query), principalOf(req))));
  });

  // Runs and approvals first, so /runs/... and /approvals never read as a plan id.
  router.get('/approvals', async (req, res) => {
    res.json({ approvals: await plans.listPendingApprovals(principalOf(req), parse(PendingApprovalsQuery, req.query)) });
  });
  router.get('/runs/:runId', async (req, res) => {
    const { runId } = parse(RunIdParams, req.params);
    await plans.assertMayUseRun(runId, principalOf(req), 'read');
    res.json(await plans.getRun(runId));
  });
  router.get('/runs/:runId/checkpoints/:checkpointId', async (req, res) => {
    const { runId, checkpointId } = parse(RunCheckpointParams, req.params);
    await plans.assertMayUseRun(runId, principalOf(req), 'read');
    res.json(await plans.getCheckpoint(runId, checkpointId));
  });
  /** Parses the run id and checks the caller may control that run. */
  const controlled = async (req: Request) => {
    const { runId } = parse(RunIdParams, req.params);
    await plans.assertMayUseRun(runId, principalOf(req), 'control');
    return runId;
  };
  router.post('/runs/:runId/pause', async (req, res) => {
    res.json(await plans.pausePlan(await controlled(req), principalOf(req)));
  });
  router.post('/runs/:runId/resume', async (req, res) => {
    res.json(await plans.resumePlan(await controlled(req), principalOf(req)));
  });
  router.post('/runs/:runId/cancel', async (req, res) => {
    await plans.cancelPlan(await controlled(req));
    res.status(202).json({ status: 'cancelling' });
  });
  router.post('/runs/:runId/checkpoint', async (req, res) => {
    const { name } = parse(CheckpointBody, req.body ?? {});
    res.status(201).json(await plans.createCheckpoint(await controlled(req), name, principalOf(req)));
  });
  router.post('/runs/:runId/rollback', async (req, res) => {
    const { checkpointId } = parse(RollbackBody, req.body ?? {});
    res.json(await plans.rollbackToCheckpoint(await controlled(req), checkpointId, principalOf(req)));
  });
  for (const decision of ['approve', 'reject'] as const) {
    router.post(`/runs/:runId/steps/:stepId/${decision}`, async (req, res) => {
      const { runId, stepId } = parse(RunStepParams, req.params);
      const { comment } = parse(DecisionBody, req.body ?? {});
      // Whoever may not read the run learns nothing of its steps (which exist, which wait) from a refusal.
      await plans.assertMayUseRun(runId, principalOf(req), 'read');
      res.json(await plans.decideStep(runId, stepId, decision === 'approve', principalOf(req), comment));
    });
  }

  /** Parses the plan id and checks the caller may use that plan (its creator or admin). */
  const owned = async (req: Request) => {
    const { id } = parse(PlanIdParams, req.params);
    await plans.assertMayUsePlan(id, principalOf(req));
    return id;
  };
  router.get('/:id', async (req, res) => {
    res.json(await plans.getPlan(await owned(req)));
  });
  router.patch('/:id', async (req, res) => {
    res.json(await plans.updatePlan(await owned(req), parse(UpdatePlanBody, req.body)));
  });
  router.delete('/:id', async (req, res) => {
    await plans.deletePlan(await owned(req));
    res.status(204).end();
  });
  router.get('/:id/steps', async (req, res) => {
    res.json((await plans.getPlan(await owned(req))).definition.steps);
  });
  router.put('/:id/steps', async (req, res) => {
    const steps = parse(UpdatePlanBody.shape.steps.unwrap(), req.body);
    res.json(await plans.updatePlan(await owned(req), { steps }));
  });
  router.post('/:id/steps', async (req, res) => {
    const step = parse(PlanStep, req.body);
    res.status(201).json(await plans.addStep(await owned(req), step));
  });
  router.delete('/:id/steps/:stepId', async (req, res) => {
    const { id, stepId } = parse(PlanStepParams, req.params);
    await plans.assertMayUsePlan(id, principalOf(req));
    res.json(await plans.removeStep(id, stepId));
  });
  router.post('/:id/execute', async (req, res) => {
    const { input, startKey } = parse(ExecutePlanBody, req.body ?? {});
    const { id } = parse(PlanIdParams, req.params);
    // The start checks access itself, against the plan row it reads anyway (no extra round trip).
    res.status(202).json(await plans.executePlan(id, input, principalOf(req), { startKey, checkAccess: true }));
  });
  router.get('/:id/runs', async (req, res) => {
    res.json(await plans.listRuns(await owned(req), parse(LimitQuery, req.query).limit));
  });
  router.get('/:id/history', async (req, res) => {
    res.json(await plans.getPlanHistory(await owned(req), parse(LimitQuery, req.query).limit));
  });
  return router;
}
