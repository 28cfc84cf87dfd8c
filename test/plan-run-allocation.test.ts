import { analyzeQuery, loadSqlParser } from '../activities/acl/query-analyzer';
import { ADMIN_QUERY_ROLE } from '../activities/acl/query-roles';
import { createRunAllocator } from '../activities/plans/plan-runs';
import { createPlanService } from '../activities/plans/plan-service';
import { CreatePlanBody } from '../activities/plans/plan-schemas';
import { openTestStack, type TestStack } from './support/test-stack';

// The allocator remembers definitions between starts; another process (here: the plan service)
// edits the plan meanwhile. Every start must still be checked against, and run, the current version.
describe('run allocation (one round trip, remembered definitions)', () => {
  let stack: TestStack;
  let plans: ReturnType<typeof createPlanService>;
  beforeAll(async () => {
    stack = await openTestStack();
    plans = createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools });
  });
  afterAll(() => stack.close());

  const newPlan = (body: Record<string, unknown> = {}) =>
    plans.createPlan(CreatePlanBody.parse({ name: 'alloc', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }], ...body }), 'admin');
  const runsOf = (planId: string) => stack.prisma.planRun.findMany({ where: { planId }, orderBy: { runNumber: 'asc' } });
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: { code?: string; details?: unknown }) => ({ code: error.code, details: error.details }));

  test('an edit made elsewhere is seen: a relaxed schema accepts, a tightened one refuses with nothing written, a rename shows', async () => {
    const allocate = createRunAllocator({ prisma: stack.prisma });
    const plan = await newPlan({ inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } });
    const first = await allocate({ planId: plan.id, input: { n: 1 }, startedBy: 'admin', enforceLimit: true });
    expect(first.workflowInput).toMatchObject({ runId: `plan-${plan.id}-1`, version: 1 });

    // Relaxed after the allocator remembered version 1: input without n is now fine.
    await plans.updatePlan(plan.id, { inputSchema: { type: 'object' } });
    const relaxed = await allocate({ planId: plan.id, input: {}, startedBy: 'admin', enforceLimit: true });
    expect(relaxed.workflowInput).toMatchObject({ runId: `plan-${plan.id}-2`, version: 2 });

    // Tightened after it remembered version 2: refused, no row, no run number spent.
    await plans.updatePlan(plan.id, { inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } });
    expect(await refusal(allocate({ planId: plan.id, input: {}, startedBy: 'admin', enforceLimit: true }))).toMatchObject({ code: 'UNPROCESSABLE' });
    expect((await runsOf(plan.id)).map((r) => [r.runNumber, r.version])).toEqual([[1, 1], [2, 2]]);

    // A rename keeps the version; the run still gets the current name.
    await plans.updatePlan(plan.id, { name: 'renamed' });
    const renamed = await allocate({ planId: plan.id, input: { n: 2 }, startedBy: 'admin', enforceLimit: true });
    expect(renamed.workflowInput).toMatchObject({ runId: `plan-${plan.id}-3`, version: 3, planName: 'renamed' });
    expect((await stack.prisma.plan.findUniqueOrThrow({ where: { id: plan.id } })).runCount).toBe(3);
  });

  test('the run limit, a deleted plan and start keys keep their answers', async () => {
    const allocate = createRunAllocator({ prisma: stack.prisma });
    const limited = await newPlan({ maxConcurrentRuns: 1 });
    await allocate({ planId: limited.id, input: {}, startedBy: 'admin', enforceLimit: true });
    expect(await refusal(allocate({ planId: limited.id, input: {}, startedBy: 'admin', enforceLimit: true }))).toEqual({
      code: 'CONFLICT', details: { reason: 'RUN_LIMIT', active: 1, maxConcurrentRuns: 1 },
    });
    // Sub-plan runs are not limited.
    const child = await allocate({ planId: limited.id, input: {}, startedBy: 'admin', enforceLimit: false, parentRunId: 'parent-run' });
    expect(child.workflowInput.runId).toBe(`plan-${limited.id}-2`);

    // Deleted (here directly, runs and all) after the allocator remembered it.
    await stack.prisma.plan.delete({ where: { id: limited.id } });
    expect(await refusal(allocate({ planId: limited.id, input: {}, startedBy: 'admin', enforceLimit: true }))).toMatchObject({ code: 'NOT_FOUND' });

    // One start key: the same run again, from either allocator, also when two race; another plan is refused.
    const keyed = await newPlan();
    const other = createRunAllocator({ prisma: stack.prisma });
    const raced = await Promise.all([
      allocate({ planId: keyed.id, input: {}, startedBy: 'admin', startKey: `k-${keyed.id}`, enforceLimit: true }),
      other({ planId: keyed.id, input: {}, startedBy: 'admin', startKey: `k-${keyed.id}`, enforceLimit: true }),
    ]);
    expect(raced[0].workflowInput.runId).toBe(raced[1].workflowInput.runId);
    expect(raced.map((r) => r.existing).sort()).toEqual([false, true]);
    expect(await runsOf(keyed.id)).toHaveLength(1);
    const elsewhere = await newPlan();
    expect(await refusal(allocate({ planId: elsewhere.id, input: {}, startedBy: 'admin', startKey: `k-${keyed.id}`, enforceLimit: true }))).toMatchObject({ code: 'CONFLICT' });
    expect(await runsOf(elsewhere.id)).toHaveLength(0);
  });

  test('with usableBy only the creator and admin start runs, also on a remembered plan and with a start key already used', async () => {
    const allocate = createRunAllocator({ prisma: stack.prisma });
    const plan = await plans.createPlan(CreatePlanBody.parse({ name: 'alice only', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }), 'user:alice');
    const start = (startedBy: string, startKey?: string) => allocate({ planId: plan.id, input: {}, startedBy, startKey, usableBy: startedBy, enforceLimit: true });
    // Refused before the allocator remembers the plan, and after.
    expect(await refusal(start('user:bob'))).toMatchObject({ code: 'FORBIDDEN' });
    const mine = await start('user:alice', `k-${plan.id}`);
    expect(await refusal(start('user:bob'))).toMatchObject({ code: 'FORBIDDEN' });
    // Alice's start key does not hand bob her run.
    expect(await refusal(start('user:bob', `k-${plan.id}`))).toMatchObject({ code: 'FORBIDDEN' });
    expect((await start('admin')).workflowInput.runId).toBe(`plan-${plan.id}-2`);
    expect((await runsOf(plan.id)).map((r) => [r.id, r.startedBy])).toEqual([[mine.workflowInput.runId, 'user:alice'], [`plan-${plan.id}-2`, 'admin']]);
    // Without usableBy (trigger starts, checked when the trigger was saved) nobody is refused here.
    expect((await allocate({ planId: plan.id, input: {}, startedBy: 'trigger:t', enforceLimit: true })).existing).toBe(false);
  });

  test('user SQL cannot start runs through allocate_plan_run: the analyzer refuses it, and the query role may not execute it', async () => {
    const plan = await newPlan();
    const call = `SELECT * FROM allocate_plan_run('${plan.id}', 1, 'plan-${plan.id}-', '{}'::jsonb, 'x', NULL, NULL, false, ARRAY['pending'])`;
    await loadSqlParser();
    expect(() => analyzeQuery(call)).toThrow(/allocate_plan_run/);
    const client = await stack.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${ADMIN_QUERY_ROLE}`);
      const refused = await client.query(call).then(() => undefined, (error: { code?: string }) => error.code);
      expect(refused).toBe('42501'); // insufficient_privilege
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await runsOf(plan.id)).toHaveLength(0);
  });
});
