import request from 'supertest';
import { type createApp } from '../api/app';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';
import { pollingWorkers } from '../platform/task-queue-pollers';

describe('walking skeleton: API → plan workflow → tool activities → plan_history', () => {
  let stack: TestStack;
  let app: ReturnType<typeof createApp>;
  let api: ReturnType<typeof authed>;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    app = stackApp(stack);
    api = authed(app, await createTestKey(testKeyService(stack.prisma), 'user:skeleton'));
  });
  afterAll(() => stack.close());

  test('a two-step plan runs as a workflow and records every transition', async () => {
    const created = await api.post('/api/v1/plans')
      .send({
        name: 'skeleton',
        steps: [
          { id: 'hello', kind: 'tool', tool: 'core.echo', args: { greeting: 'hi' } },
          { id: 'sum', kind: 'tool', tool: 'core.math', args: { op: 'add', values: [1, 2, 3.5] }, dependsOn: ['hello'] },
        ],
      })
      .expect(201);
    const planId: string = created.body.id;

    const started = await api.post(`/api/v1/plans/${planId}/execute`).send({}).expect(202);
    expect(started.body.runId).toBe(`plan-${planId}-1`);

    const run = await eventually(
      async () => (await api.get(`/api/v1/plans/runs/${started.body.runId}`).expect(200)).body,
      // The status can come from the workflow query a moment before the final history row lands.
      (body) => (body.status === 'completed' || body.status === 'failed') &&
        body.history.some((h: { event: string }) => h.event === 'plan.completed' || h.event === 'plan.failed'),
    );
    expect(run.status).toBe('completed');
    // History is ordered by the workflow's own sequence, not by text id or clock.
    expect(run.history.map((h: { event: string }) => h.event)).toEqual([
      'plan.started',
      'plan.step_started', 'plan.step_attempt', 'plan.step_completed',
      'plan.step_started', 'plan.step_attempt', 'plan.step_completed',
      'plan.completed',
    ]);
    const sum = run.history.find((h: { stepId: string; event: string }) => h.stepId === 'sum' && h.event === 'plan.step_completed');
    expect(sum.details.output).toEqual({ result: 6.5 });

    const handle = stack.client.workflow.getHandle(started.body.runId);
    const description = await handle.describe();
    expect(description.type).toBe('planWorkflow');
    expect(description.searchAttributes.OwnPilotPlanId).toEqual([planId]);
    expect(await handle.query('status')).toMatchObject({ status: 'completed', completedSteps: 2, totalSteps: 2, progress: 1 });

    const plan = await api.get(`/api/v1/plans/${planId}`).expect(200);
    expect(plan.body.runs[0]).toMatchObject({ id: started.body.runId, status: 'completed' });
  });

  test('a failing step fails the run with the reason', async () => {
    const created = await api.post('/api/v1/plans')
      .send({ name: 'div', steps: [{ id: 'div', kind: 'tool', tool: 'core.math', args: { op: 'div', values: [1, 0] } }] })
      .expect(201);
    const started = await api.post(`/api/v1/plans/${created.body.id}/execute`).send({}).expect(202);
    const run = await eventually(
      async () => (await api.get(`/api/v1/plans/runs/${started.body.runId}`)).body,
      (body) => body.status === 'failed',
      60_000,
    );
    expect(run.error).toMatch(/Infinity/);
  });

  test('bad input is a 400/422 in the standard error shape and writes nothing', async () => {
    const before = await stack.prisma.plan.count();
    const bad = await api.post('/api/v1/plans').send({ name: '', steps: [] }).expect(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(bad.body.error.details.issues.length).toBeGreaterThanOrEqual(2);
    const unknown = await api.post('/api/v1/plans')
      .send({ name: 'x', steps: [{ id: 'a', kind: 'tool', tool: 'core.nope', args: {} }] })
      .expect(422);
    expect(unknown.body.error.details.unknownTools).toEqual([{ stepId: 'a', tool: 'core.nope' }]);
    await api.post('/api/v1/plans').set('content-type', 'application/json').send('{oops').expect(400);
    await api.post('/api/v1/plans/nope/execute').send({}).expect(404);
    expect(await stack.prisma.plan.count()).toBe(before);
  });

  test('/health is 200 when both answer and 503 naming the one that does not', async () => {
    const ok = await request(app).get('/health').expect(200);
    expect(ok.body).toMatchObject({ postgres: { ok: true }, temporal: { ok: true } });
    const broken = stackApp(stack, { health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: () => Promise.reject(new Error('connection refused')) } });
    const down = await request(broken).get('/health').expect(503);
    expect(down.body).toMatchObject({ status: 'degraded', postgres: { ok: true }, temporal: { ok: false, error: 'connection refused' } });
  });

  test('/health counts the workers polling the task queue: none is degraded, still 200 (the API serves without them)', async () => {
    const watching = (taskQueue: string) => stackApp(stack, {
      health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: async () => undefined, workers: async () => (await pollingWorkers(stack.client, taskQueue)).length },
    });
    // This test's worker polls stack.taskQueue (its identity is this process's `<pid>@<host>`).
    expect((await pollingWorkers(stack.client, stack.taskQueue)).some((id) => id.startsWith(`${process.pid}@`))).toBe(true);
    const served = await request(watching(stack.taskQueue)).get('/health').expect(200);
    expect(served.body).toMatchObject({ status: 'ok', workers: { ok: true, polling: 1 } });
    const unserved = await request(watching(`nobody-${stack.taskQueue}`)).get('/health').expect(200);
    expect(unserved.body).toEqual({
      status: 'degraded', postgres: { ok: true }, temporal: { ok: true },
      workers: { ok: false, polling: 0, error: 'no worker polls the task queue: plan runs and triggers wait until one does' },
    });
  });
});
