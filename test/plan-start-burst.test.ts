import { createPlanService } from '../activities/plans/plan-service';
import { CreatePlanBody } from '../activities/plans/plan-schemas';
import { createPrisma } from '../platform/database';
import { createKeyedSerializer } from '../platform/keyed-serializer';
import { openTestStack, type TestStack } from './support/test-stack';

describe('keyed serializer', () => {
  test('runs one task at a time per key, in order; other keys run alongside; failures stay with their caller; idle keys are forgotten', async () => {
    const serializer = createKeyedSerializer();
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const task = (key: string, i: number, fail = false) => serializer.run(key, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`${key}${i}:start`);
      await Promise.resolve();
      log.push(`${key}${i}:end`);
      running--;
      if (fail) throw new Error(`${key}${i} failed`);
      return `${key}${i}`;
    });
    const results = await Promise.allSettled([task('a', 1), task('a', 2, true), task('a', 3), task('b', 1)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['a1', 'a2 failed', 'a3', 'b1']);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a1:start', 'a1:end', 'a2:start', 'a2:end', 'a3:start', 'a3:end']);
    expect(maxRunning).toBe(2); // a and b overlapped, never two a's
    await Promise.resolve();
    await Promise.resolve();
    expect(serializer.size).toBe(0);
  });
});

describe('a burst of starts of one plan', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  test('80 concurrent executePlan calls over a 2-connection pool all start a run (none fails to get a connection)', async () => {
    const prisma = createPrisma(stack.info.databaseUrl, 2);
    try {
      const plans = createPlanService({ prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools });
      const plan = await plans.createPlan(CreatePlanBody.parse({ name: 'burst', maxConcurrentRuns: 100, steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }), 'admin');
      const results = await Promise.allSettled(Array.from({ length: 80 }, () => plans.executePlan(plan.id, {}, 'admin')));
      const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      expect(failures).toEqual([]);
      const runIds = results.map((r) => (r as PromiseFulfilledResult<{ runId: string }>).value.runId);
      expect(new Set(runIds).size).toBe(80);
      const rows = await stack.prisma.planRun.findMany({ where: { planId: plan.id }, select: { runNumber: true } });
      expect(rows.map((r) => r.runNumber).sort((x, y) => x - y)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      // No worker polls this queue: end the runs so they do not linger on the shared server.
      await Promise.all(runIds.map((id) => stack.client.workflow.getHandle(id).terminate('test over')));
    } finally {
      await prisma.$disconnect();
    }
  }, 120_000);
});
