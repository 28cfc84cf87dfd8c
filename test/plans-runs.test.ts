import { Client } from '@temporalio/client';
import { createPlanService } from '../activities/plans/plan-service';
import { everyToolAllowed, openPlanHarness, type PlanHarness } from './support/plan-harness';
import { eventually } from './support/wait';

describe('plan runs: graph, templates, conditions, waits, sub-plans, versions, limits', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());

  test('save-time validation answers 422 naming the problem and stores nothing', async () => {
    const cases: [unknown[], RegExp][] = [
      [[{ id: 'a', kind: 'tool', tool: 'core.echo', dependsOn: ['ghost'] }], /depends on 'ghost', which does not exist/],
      [[{ id: 'a', kind: 'tool', tool: 'core.echo', dependsOn: ['b'] }, { id: 'b', kind: 'tool', tool: 'core.echo', dependsOn: ['a'] }], /cycle: a -> b -> a|cycle: b -> a -> b/],
      [[{ id: 'a', kind: 'tool', tool: 'core.echo', args: { u: '{{ steps.zzz.output }}' } }], /unknown step 'zzz'/],
      [[{ id: 'a', kind: 'tool', tool: 'core.echo' }, { id: 'b', kind: 'tool', tool: 'core.echo', args: { u: '{{ steps.a.output }}' } }], /'a', which is not among its dependencies/],
      [[{ id: 'a', kind: 'sub_plan', planId: 'nope' }], /plan 'nope', which does not exist/],
      [[{ id: 'a', kind: 'tool', tool: 'core.echo', args: { v: '{{ input.n-1 }}' } }], /'n-1' would be read as one key; write 'n - 1' to subtract, or \['n-1'\] for such a key/],
    ];
    const before = await h.stack.prisma.plan.count();
    for (const [steps, message] of cases) {
      const res = await h.api.post('/api/v1/plans').send({ name: 'bad', steps }).expect(422);
      expect(res.body.error.code).toBe('UNPROCESSABLE');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.details.problems.length).toBeGreaterThan(0);
    }
    expect(await h.stack.prisma.plan.count()).toBe(before);
  });

  test('durations Temporal could not schedule are refused when the plan is saved (each left its runs stuck)', async () => {
    const tool = { id: 't', kind: 'tool', tool: 'core.echo' };
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ timeout: 0 }, /at least 1ms/],
      [{ timeout: '0s' }, /at least 1ms/],
      [{ timeout: '99999999999d' }, /at most 366 days/],
      [{ retry: { initialInterval: '10s', maximumInterval: '1s' } }, /maximumInterval must not be shorter than initialInterval/],
      [{ retry: { maximumInterval: '500ms' } }, /maximumInterval must not be shorter than initialInterval \(1s when unset\)/],
      [{ retry: { initialInterval: 0 } }, /at least 1ms/],
    ];
    const before = await h.stack.prisma.plan.count();
    for (const [extra, message] of refused) {
      const res = await h.api.post('/api/v1/plans').send({ name: 'stuck', steps: [{ ...tool, ...extra }] });
      expect({ extra, status: res.status, message: JSON.stringify(res.body.error.details) }).toEqual({ extra, status: 400, message: expect.stringMatching(message) });
    }
    expect(await h.stack.prisma.plan.count()).toBe(before);
    // What Temporal accepts still saves: a wait of 0, the longest durations, intervals in order.
    await h.api.post('/api/v1/plans').send({ name: 'fine', steps: [{ ...tool, timeout: '366d', retry: { initialInterval: '2s', maximumInterval: '2s' } }, { id: 'w', kind: 'wait', duration: 0 }] }).expect(201);
  });

  test('a run no worker has taken up is read from the database without a workflow query; a running one from the workflow', async () => {
    let queries = 0;
    const temporal = new Client({
      connection: h.stack.client.connection,
      namespace: h.stack.client.options.namespace,
      interceptors: { workflow: [{ query: (input, next) => ((queries += 1), next(input)) }] },
    });
    const id = await h.createPlan({ name: 'untouched', steps: [{ id: 'gate', kind: 'approval', approvers: ['admin'] }] });
    // Nothing polls this task queue: the query could only wait out its deadline.
    const unserved = createPlanService({ prisma: h.stack.prisma, temporal, taskQueue: `nobody-${h.stack.taskQueue}`, tools: h.stack.tools });
    const pending = await unserved.executePlan(id, {}, 'admin');
    expect(await unserved.getRun(pending.runId)).toMatchObject({ status: 'pending', source: 'database', steps: { gate: { status: 'pending' } } });
    expect(queries).toBe(0);
    await temporal.workflow.getHandle(pending.runId).terminate('test: never served');

    const served = createPlanService({ prisma: h.stack.prisma, temporal, taskQueue: h.stack.taskQueue, tools: h.stack.tools });
    const running = await served.executePlan(id, {}, 'admin');
    const waiting = await eventually(() => served.getRun(running.runId), (r) => r.steps.gate?.status === 'waiting_approval');
    expect(waiting.source).toBe('workflow');
    expect(queries).toBeGreaterThan(0);
    await served.cancelPlan(running.runId);
  });

  test('a closed run lists its steps in definition order, not the order PostgreSQL keeps the snapshot in', async () => {
    // JSONB orders keys shortest first: b, ab, first.
    const id = await h.createPlan({ name: 'order', steps: [
      { id: 'first', kind: 'tool', tool: 'core.test.fail' },
      { id: 'b', kind: 'tool', tool: 'core.echo', dependsOn: ['first'] },
      { id: 'ab', kind: 'tool', tool: 'core.echo', dependsOn: ['b'] },
    ] });
    const runId = await h.execute(id);
    const run = await h.waitFor(runId, (r) => r.status === 'failed' && r.source === 'database');
    expect(Object.keys(run.steps)).toEqual(['first', 'b', 'ab']);
    expect(run.steps.first.status).toBe('failed');
  });

  test('a run terminated outside OwnPilot (Temporal Web UI) is recorded as failed: it frees its slot, and its plan can be deleted', async () => {
    const id = await h.createPlan({ name: 'terminated', maxConcurrentRuns: 1, steps: [{ id: 'gate', kind: 'approval', approvers: ['admin'] }] });
    const waiting = async () => {
      const runId = await h.execute(id);
      await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
      await h.stack.client.workflow.getHandle(runId).terminate('operator pressed terminate');
      return runId;
    };
    // Seen by GET: the row is settled, with a history row saying what Temporal said.
    const first = await waiting();
    const run = await h.run(first);
    expect(run).toMatchObject({ status: 'failed', source: 'database', error: expect.stringMatching(/terminated outside OwnPilot/) });
    expect(run.history.at(-1)).toMatchObject({ event: 'plan.failed', status: 'failed', details: { temporalStatus: 'TERMINATED' } });
    // Not seen by anyone: the run limit and the plan's deletion settle it themselves.
    await waiting();
    const third = await waiting(); // started although the second still held the only slot in its row
    await h.api.post(`/api/v1/plans/runs/${third}/cancel`).expect(409);
    expect((await h.stack.prisma.planRun.findUniqueOrThrow({ where: { id: third } })).status).toBe('failed');
    await waiting();
    await h.api.delete(`/api/v1/plans/${id}`).expect(204);
  });

  test('CRUD and steps routes; an update makes a new version', async () => {
    const id = await h.createPlan({ name: 'crud', description: 'first', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo' }] });
    await h.api.post(`/api/v1/plans/${id}/steps`).send({ id: 'b', kind: 'tool', tool: 'core.echo', dependsOn: ['a'] }).expect(201);
    expect((await h.api.get(`/api/v1/plans/${id}/steps`).expect(200)).body.map((s: { id: string }) => s.id)).toEqual(['a', 'b']);
    const patched = await h.api.patch(`/api/v1/plans/${id}`).send({ description: 'second' }).expect(200);
    expect(patched.body).toMatchObject({ version: 2, description: 'second' });
    await h.api.delete(`/api/v1/plans/${id}/steps/a`).expect(422); // b still depends on a
    await h.api.delete(`/api/v1/plans/${id}/steps/b`).expect(200);
    expect(await h.stack.prisma.planVersion.count({ where: { planId: id } })).toBe(3);
    expect((await h.api.get('/api/v1/plans').query({ search: 'crud' }).expect(200)).body.some((p: { id: string }) => p.id === id)).toBe(true);
    await h.api.delete(`/api/v1/plans/${id}`).expect(204);
    await h.api.get(`/api/v1/plans/${id}`).expect(404);
  });

  test('templates pass outputs on; a condition chooses the branch; dependents of a skipped step are skipped', async () => {
    const id = await h.createPlan({
      name: 'branching',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      steps: [
        { id: 'fetch', kind: 'tool', tool: 'core.echo', args: { items: [{ url: 'https://x/{{ input.n }}' }], n: '{{ input.n }}' } },
        { id: 'check', kind: 'condition', expression: 'steps.fetch.output.n > 5', then: ['big'], else: ['small'], dependsOn: ['fetch'] },
        { id: 'big', kind: 'tool', tool: 'core.test.log', args: { url: '{{ steps.fetch.output.items[0].url }}' }, dependsOn: ['check', 'fetch'] },
        { id: 'small', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['check'] },
        { id: 'afterSmall', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['small'] },
        { id: 'pause', kind: 'wait', duration: '100ms', dependsOn: ['big'] },
      ],
    });
    await h.api.post(`/api/v1/plans/${id}/execute`).send({ input: { n: 'ten' } }).expect(422);
    const runId = await h.execute(id, { input: { n: 10 } });
    const run = await h.waitFor(runId, (r) => r.status === 'completed' && r.source === 'database');
    expect(run.steps.check.output).toEqual({ result: true });
    expect(run.steps.big).toMatchObject({ status: 'completed', output: { url: 'https://x/10' } });
    expect(run.steps.small.status).toBe('skipped');
    expect(run.steps.afterSmall.status).toBe('skipped');
    expect(run.steps.pause.status).toBe('completed');
    expect(run.progress).toBe(1);
    expect(run.source).toBe('database');
    expect(run.output.big).toEqual({ url: 'https://x/10' });
  });

  test('independent steps run in parallel, never more than the plan concurrency', async () => {
    const steps = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, kind: 'tool', tool: 'core.wait', args: { ms: 400 } }));
    const id = await h.createPlan({ name: 'parallel', concurrency: 2, steps });
    const runId = await h.execute(id);
    let max = 0;
    await eventually(
      async () => {
        const r = await h.run(runId);
        const running = Object.values(r.steps as Record<string, { status: string }>).filter((s) => s.status === 'running').length;
        max = Math.max(max, running);
        return r;
      },
      (r) => r.status === 'completed',
    );
    expect(max).toBe(2);
  });

  test('a sub_plan runs as a child workflow with its own run row', async () => {
    const child = await h.createPlan({ name: 'child', steps: [{ id: 'say', kind: 'tool', tool: 'core.echo', args: { v: '{{ input.v }}' } }] });
    const parent = await h.createPlan({
      name: 'parent',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.echo', args: { v: 42 } },
        { id: 'sub', kind: 'sub_plan', planId: child, input: { v: '{{ steps.a.output.v }}' }, dependsOn: ['a'] },
      ],
    });
    const runId = await h.execute(parent);
    const run = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(run.steps.sub.output).toEqual({ runId: `plan-${child}-1`, outputs: { say: { v: 42 } } });
    expect(await h.stack.prisma.planRun.findUnique({ where: { id: `plan-${child}-1` } })).toMatchObject({ parentRunId: runId, status: 'completed' });
  });

  test('a run keeps the version it started with; start keys are idempotent; maxConcurrentRuns answers 409', async () => {
    const id = await h.createPlan({
      name: 'versioned',
      maxConcurrentRuns: 1,
      steps: [
        { id: 'gate', kind: 'approval', approvers: ['user:alice'] },
        { id: 'v1', kind: 'tool', tool: 'core.echo', args: { version: 1 }, dependsOn: ['gate'] },
      ],
    });
    const first = await h.api.post(`/api/v1/plans/${id}/execute`).send({ startKey: `k-${id}` }).expect(202);
    const again = await h.api.post(`/api/v1/plans/${id}/execute`).send({ startKey: `k-${id}` }).expect(202);
    expect(again.body.runId).toBe(first.body.runId);
    const limited = await h.api.post(`/api/v1/plans/${id}/execute`).send({}).expect(409);
    expect(limited.body.error.details.reason).toBe('RUN_LIMIT');

    await h.waitFor(first.body.runId, (r) => r.steps.gate?.status === 'waiting_approval');
    expect((await h.api.delete(`/api/v1/plans/${id}`).expect(409)).body.error.code).toBe('INVALID_STATE');
    await h.api
      .put(`/api/v1/plans/${id}/steps`)
      .send([{ id: 'v2', kind: 'tool', tool: 'core.echo', args: { version: 2 } }])
      .expect(200);
    await (await h.as('user:bob')).post(`/api/v1/plans/runs/${first.body.runId}/steps/gate/approve`).send({}).expect(403); // not among the approvers (admin would override)
    const service = createPlanService({ prisma: h.stack.prisma, temporal: h.stack.client, taskQueue: h.stack.taskQueue, tools: everyToolAllowed });
    await service.decideStep(first.body.runId, 'gate', true, 'user:alice', 'ok');
    // the run's slot is free once its row says so (the workflow query can answer `completed` a moment earlier)
    const done = await h.waitFor(first.body.runId, (r) => r.status === 'completed' && r.source === 'database');
    expect(done.version).toBe(1);
    expect(done.steps.v1.output).toEqual({ version: 1 });
    const second = await h.execute(id);
    const done2 = await h.waitFor(second, (r) => r.status === 'completed');
    expect(done2).toMatchObject({ version: 2, steps: { v2: { output: { version: 2 } } } });
  });

  test('a long plan continues as new and still finishes every step once', async () => {
    const steps = Array.from({ length: 7 }, (_, i) => ({ id: `s${i}`, kind: 'tool', tool: 'core.test.log', args: { i }, ...(i > 0 ? { dependsOn: [`s${i - 1}`] } : {}) }));
    const id = await h.createPlan({ name: 'long', continueAsNewAfter: 2, steps });
    const runId = await h.execute(id);
    const run = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(run.state.completedSteps).toBe(7);
    expect(h.calls.filter((c) => c.idempotencyKey?.startsWith(`${runId}/`)).length).toBe(7);
    const history = await h.stack.client.workflow.getHandle(runId).fetchHistory();
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
    const completions = run.history.filter((r: { event: string }) => r.event === 'plan.step_completed');
    expect(completions.map((r: { stepId: string }) => r.stepId)).toEqual(steps.map((s) => s.id));
  });

  test('the run is readable in Temporal: search attributes, summary, activity summaries; history and events', async () => {
    const id = await h.createPlan({ name: 'Readable plan', steps: [{ id: 'hello', name: 'Say hello', kind: 'tool', tool: 'core.echo', args: { hi: 1 } }] });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.status === 'completed' && r.source === 'database');
    const handle = h.stack.client.workflow.getHandle(runId);
    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({ OwnPilotPlanId: [id], OwnPilotKind: ['plan'], OwnPilotStartedBy: ['admin'] });
    expect(await description.staticSummary()).toBe('Plan: Readable plan');
    const history = await handle.fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runToolStep');
    expect(JSON.stringify(scheduled?.userMetadata?.summary?.data ? Buffer.from(scheduled.userMetadata.summary.data).toString() : '')).toMatch(/Say hello/);

    const plans = (await h.api.get(`/api/v1/plans/${id}/history`).expect(200)).body;
    expect(plans[0].history.map((r: { event: string }) => r.event)).toEqual(['plan.started', 'plan.step_started', 'plan.step_attempt', 'plan.step_completed', 'plan.completed']);
    const types = await eventually(async () => h.events.filter((e) => (e.data as { runId: string }).runId === runId).map((e) => e.type), (t) => t.includes('plan.completed'));
    expect(types).toEqual(expect.arrayContaining(['plan.started', 'plan.step_started', 'plan.step_completed', 'plan.completed']));
    expect(types.filter((t) => t === 'plan.completed')).toHaveLength(1); // one event per transition
  });
});
