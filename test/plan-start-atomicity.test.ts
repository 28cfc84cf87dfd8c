import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { createPlanService } from '../activities/plans/plan-service';
import { gate } from './support/gates';
import { openPlanHarness, type PlanHarness } from './support/plan-harness';

describe('plan runs: a start or a delete never leaves a workflow without its row', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());

  /** A client over the stack's connection whose workflow starts reach Temporal and then report a lost answer. */
  const lostAnswerClient = () =>
    new Client({
      connection: h.stack.client.connection,
      namespace: h.stack.client.options.namespace,
      interceptors: {
        workflow: [
          {
            start: async (input, next) => {
              await next(input);
              throw new Error('14 UNAVAILABLE: connection reset before the answer');
            },
          },
        ],
      },
    });

  test('a start Temporal accepted but whose answer was lost keeps its run: a retry with the start key gets that run, never a second one', async () => {
    const planId = await h.createPlan({ name: 'lost answer', steps: [{ id: 'gate', kind: 'approval', approvers: ['admin'] }] });
    const flaky = createPlanService({ prisma: h.stack.prisma, temporal: lostAnswerClient(), taskQueue: h.stack.taskQueue, tools: h.stack.tools });
    const first = await flaky.executePlan(planId, {}, 'admin', { startKey: `lost-${planId}` });
    expect(await h.stack.prisma.planRun.findUnique({ where: { id: first.runId } })).not.toBeNull();
    expect((await h.stack.client.workflow.getHandle(first.runId).describe()).status.name).toBe('RUNNING');

    const retry = await h.api.post(`/api/v1/plans/${planId}/execute`).send({ input: {}, startKey: `lost-${planId}` }).expect(202);
    expect(retry.body.runId).toBe(first.runId);
    expect(await h.stack.prisma.planRun.count({ where: { planId } })).toBe(1);
    await h.api.post(`/api/v1/plans/runs/${first.runId}/cancel`).expect(202);
  });

  test('a start Temporal refused removes its run row, so the start key can be used again', async () => {
    const planId = await h.createPlan({ name: 'refused start', steps: [{ id: 'gate', kind: 'approval', approvers: ['admin'] }] });
    const refusing = new Client({
      connection: h.stack.client.connection,
      namespace: h.stack.client.options.namespace,
      interceptors: { workflow: [{ start: async () => Promise.reject(new Error('14 UNAVAILABLE: no connection')) }] },
    });
    const broken = createPlanService({ prisma: h.stack.prisma, temporal: refusing, taskQueue: h.stack.taskQueue, tools: h.stack.tools });
    await expect(broken.executePlan(planId, {}, 'admin', { startKey: `refused-${planId}` })).rejects.toThrow(/no connection/);
    expect(await h.stack.prisma.planRun.count({ where: { planId } })).toBe(0);
    const retry = await h.api.post(`/api/v1/plans/${planId}/execute`).send({ input: {}, startKey: `refused-${planId}` }).expect(202);
    expect((await h.stack.client.workflow.getHandle(retry.body.runId).describe()).status.name).toBe('RUNNING');
    await h.api.post(`/api/v1/plans/runs/${retry.body.runId}/cancel`).expect(202);
  });

  test('a delete that checked for active runs before a start committed does not delete the plan under the started run', async () => {
    const planId = await h.createPlan({ name: 'delete racing execute', steps: [{ id: 'gate', kind: 'approval', approvers: ['admin'] }] });
    // The delete's check for active runs answers, then waits until a start has gone through.
    const held = gate();
    const planRun = new Proxy(h.stack.prisma.planRun, {
      get(target, prop) {
        if (prop !== 'count') return Reflect.get(target, prop) as unknown;
        return async (args: Parameters<typeof target.count>[0]) => {
          const active = await target.count(args);
          held.reached();
          await held.opened;
          return active;
        };
      },
    });
    const prisma = new Proxy(h.stack.prisma, { get: (target, prop) => (prop === 'planRun' ? planRun : (Reflect.get(target, prop) as unknown)) });
    const slow = createPlanService({ prisma, temporal: h.stack.client, taskQueue: h.stack.taskQueue, tools: h.stack.tools });
    const deleting = slow.deletePlan(planId).then(
      () => 'deleted',
      (error: { code?: string }) => error.code,
    );
    await held.at;
    const runId = await h.execute(planId);
    held.open();
    expect(await deleting).toBe('INVALID_STATE');
    expect(await h.stack.prisma.planRun.findUnique({ where: { id: runId } })).not.toBeNull();
    await h.api.post(`/api/v1/plans/runs/${runId}/cancel`).expect(202);
    await h.waitFor(runId, (r) => r.status === 'cancelled');
    await h.api.delete(`/api/v1/plans/${planId}`).expect(204);
    await expect(h.stack.client.workflow.getHandle(`plan-${planId}-2`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });
});
