import { createPlanService } from '../activities/plans/plan-service';
import { UpdatePlanBody } from '../activities/plans/plan-schemas';
import { holdRead } from './support/gates';
import { openPlanHarness, type PlanHarness } from './support/plan-harness';

describe('plan edits at once', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());

  /** A plan service whose first read of a plan answers, then waits until `open()`. */
  const heldService = () => {
    const { prisma, at, open } = holdRead(h.stack.prisma, 'plan', 'findUnique');
    return { plans: createPlanService({ prisma, temporal: h.stack.client, taskQueue: h.stack.taskQueue, tools: h.stack.tools }), at, open };
  };
  const step = (id: string) => ({ id, kind: 'tool', tool: 'core.echo' });

  test('a definition change made on a version another edit replaced meanwhile is refused (409), and the other edit stands', async () => {
    const id = await h.createPlan({ name: 'edited twice', steps: [step('a')] });
    const held = heldService();
    const stale = held.plans.updatePlan(id, UpdatePlanBody.parse({ steps: [step('a'), step('b')] })).then(() => 'ok', (error: { code?: string }) => error.code);
    await held.at;
    await h.api.patch(`/api/v1/plans/${id}`).send({ steps: [step('a'), step('c')] }).expect(200);
    held.open();
    expect(await stale).toBe('CONFLICT');
    const plan = (await h.api.get(`/api/v1/plans/${id}`).expect(200)).body;
    expect({ version: plan.version, steps: plan.steps.map((s: { stepId: string }) => s.stepId) }).toEqual({ version: 2, steps: ['a', 'c'] });
    expect(await h.stack.prisma.planVersion.count({ where: { planId: id } })).toBe(2);
  });

  test('a rename made while another edit changed the steps keeps those steps', async () => {
    const id = await h.createPlan({ name: 'renamed', steps: [step('a')] });
    const held = heldService();
    const renaming = held.plans.updatePlan(id, UpdatePlanBody.parse({ name: 'renamed again' }));
    await held.at;
    await h.api.patch(`/api/v1/plans/${id}`).send({ steps: [step('a'), step('c')] }).expect(200);
    held.open();
    await renaming;
    const plan = (await h.api.get(`/api/v1/plans/${id}`).expect(200)).body;
    expect({ name: plan.name, version: plan.version, steps: plan.steps.map((s: { stepId: string }) => s.stepId) }).toEqual({ name: 'renamed again', version: 2, steps: ['a', 'c'] });
    // The next edit gets version 3, not a clash with version 2.
    await h.api.patch(`/api/v1/plans/${id}`).send({ steps: [step('a')] }).expect(200);
  });
});
