import { Router } from 'express';
import type { PlanService } from '../../activities/plans/plan-service';
import { CreatePlanBody, ExecutePlanBody, PlanIdParams } from '../../activities/plans/plan-schemas';
import { parse, principalOf } from '../validate';
import { z } from 'zod';

const RunIdParams = z.object({ runId: z.string().min(1).max(200) });

/** /api/v1/plans: create, read and execute plans, and read runs. */
export function plansRouter(plans: PlanService): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const plan = await plans.createPlan(parse(CreatePlanBody, req.body), principalOf(req));
    res.status(201).json(plan);
  });
  router.get('/runs/:runId', async (req, res) => {
    res.json(await plans.getRun(parse(RunIdParams, req.params).runId));
  });
  router.get('/:id', async (req, res) => {
    res.json(await plans.getPlan(parse(PlanIdParams, req.params).id));
  });
  router.post('/:id/execute', async (req, res) => {
    const { id } = parse(PlanIdParams, req.params);
    const { input } = parse(ExecutePlanBody, req.body ?? {});
    res.status(202).json(await plans.executePlan(id, input, principalOf(req)));
  });
  return router;
}
