import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createPlanService } from '../activities/plans/plan-service';
import { stopChild } from '../platform/local/temporal-dev-server';
import { createOwnPilotWorker } from '../workers/create-worker';
import { openTestStack, type TestStack } from './support/test-stack';
import { startOwnTemporal } from './support/own-temporal';
import { eventually } from './support/wait';
import { killHard, spawnWorker } from './support/worker-process';

describe('plans survive process crashes and restarts', () => {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c, 5000)));
    await stack.close();
  });

  test('a worker killed with SIGKILL mid-plan: a new worker finishes it, completed steps do not run again, the step in flight re-runs with the same idempotency key', async () => {
    const service = createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools });
    const plan = await service.createPlan(
      {
        name: 'crash',
        concurrency: 4, onFailure: 'fail', continueAsNewAfter: 500, maxConcurrentRuns: 10,
        steps: [
          { id: 'a', kind: 'tool', tool: 'core.echo', args: { n: 1 }, dependsOn: [] },
          { id: 'b', kind: 'tool', tool: 'core.echo', args: { n: 2 }, dependsOn: ['a'] },
          { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 4000 }, dependsOn: ['b'] },
          { id: 'c', kind: 'tool', tool: 'core.echo', args: { n: 3 }, dependsOn: ['slow'] },
        ],
      },
      'admin',
    );
    const first = spawnWorker(stack.taskQueue);
    children.push(first);
    const { runId } = await service.executePlan(plan.id, {}, 'admin');
    const attempts = (stepId: string) =>
      stack.prisma.planHistory.findMany({ where: { runId, stepId, event: 'plan.step_attempt' }, orderBy: { id: 'asc' } });
    await eventually(() => attempts('slow'), (rows) => rows.length === 1, 60_000);
    await killHard(first);

    children.push(spawnWorker(stack.taskQueue));
    const run = await eventually(() => service.getRun(runId), (r) => r.status === 'completed' && r.source === 'database', 90_000);
    expect(Object.values(run.steps).every((s) => s.status === 'completed')).toBe(true);
    expect((await attempts('a')).length).toBe(1);
    expect((await attempts('b')).length).toBe(1);
    expect((await attempts('c')).length).toBe(1);
    const slow = (await attempts('slow')).map((r) => r.details as { attempt: number; idempotencyKey: string });
    expect(slow).toEqual([
      { attempt: 1, idempotencyKey: `${runId}/slow/0` },
      { attempt: 2, idempotencyKey: `${runId}/slow/0` },
    ]);
  });

  test('a paused run survives a restart of the (file-backed) Temporal server and of its worker, then resumes', async () => {
    const server = await startOwnTemporal();
    const startWorker = async () => {
      const connection = await NativeConnection.connect({ address: server.address });
      const client = await connect();
      const plans = createPlanService({ prisma: stack.prisma, temporal: client, taskQueue: 'restart', tools: stack.tools });
      const worker = await createOwnPilotWorker({ connection, namespace: 'default', taskQueue: 'restart', activities: createActivities({ prisma: stack.prisma, sql: stack.pool, tools: stack.tools, acl: stack.acl, events: stack.bus, plans }) });
      const done = worker.run();
      return { stop: async () => { worker.shutdown(); await done; await connection.close(); await client.connection.close(); } };
    };
    const connect = async () => new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
    try {
      let worker = await startWorker();
      let client = await connect();
      let service = createPlanService({ prisma: stack.prisma, temporal: client, taskQueue: 'restart', tools: stack.tools });
      const plan = await service.createPlan(
        {
          name: 'restartable', concurrency: 4, onFailure: 'fail', continueAsNewAfter: 500, maxConcurrentRuns: 10,
          steps: [
            { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 800 }, dependsOn: [] },
            { id: 'after', kind: 'tool', tool: 'core.echo', args: { ok: true }, dependsOn: ['slow'] },
          ],
        },
        'admin',
      );
      const { runId } = await service.executePlan(plan.id, {}, 'admin');
      await eventually(() => service.getRun(runId), (r) => r.steps.slow?.status === 'running');
      await service.pausePlan(runId, 'admin');
      await eventually(() => service.getRun(runId), (r) => r.status === 'paused' && r.steps.slow?.status === 'completed');

      await worker.stop();
      await client.connection.close();
      await server.stop();
      await server.start();
      worker = await startWorker();
      client = await connect();
      service = createPlanService({ prisma: stack.prisma, temporal: client, taskQueue: 'restart', tools: stack.tools });

      const paused = await eventually(() => service.getRun(runId), (r) => r.source === 'workflow');
      expect(paused).toMatchObject({ status: 'paused', steps: { slow: { status: 'completed' }, after: { status: 'pending' } } });
      await service.resumePlan(runId, 'admin');
      const done = await eventually(() => service.getRun(runId), (r) => r.status === 'completed' && r.source === 'database');
      expect(done.steps.after).toMatchObject({ status: 'completed', output: { ok: true } });
      await worker.stop();
      await client.connection.close();
    } finally {
      await server.close();
    }
  });
});
