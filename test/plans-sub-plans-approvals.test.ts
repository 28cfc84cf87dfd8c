import { openPlanHarness, type PlanHarness, type RunBody, undo } from './support/plan-harness';
import { eventually } from './support/wait';

// Sub-plans under cancel and failure, every approval timeout behaviour and decision error,
// and the idempotency key a retried tool step receives.
describe('plan runs: sub-plan cancel and failure, approval timeouts and decisions, step retries', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());
  const post = (path: string, body: object = {}) => h.api.post(`/api/v1/plans/runs/${path}`).send(body);
  /** Compensation calls of one run (by idempotency key), in the order they ran. */
  const undone = (runId: string) => h.calls.filter((c) => c.idempotencyKey?.startsWith(`${runId}/`) && c.idempotencyKey.endsWith('/compensate')).map((c) => c.args.undo);
  const ended = (runId: string, status: string) => h.waitFor(runId, (r) => r.status === status && r.source === 'database');

  test('cancelling a parent cancels its running sub-plan, whose compensations run before the parent’s', async () => {
    const child = await h.createPlan({
      name: 'child-cancelled',
      steps: [
        { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: undo('c1') },
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 120_000 }, dependsOn: ['c1'] },
      ],
    });
    const parent = await h.createPlan({
      name: 'parent-cancelled',
      steps: [
        { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
        { id: 'sub', kind: 'sub_plan', planId: child, dependsOn: ['p1'] },
      ],
    });
    const runId = await h.execute(parent);
    const childRunId = `plan-${child}-1`;
    await h.waitFor(childRunId, (r) => r.steps.slow?.status === 'running');
    await post(`${runId}/cancel`).expect(202);

    const childRun = await ended(childRunId, 'cancelled');
    expect(childRun.steps).toMatchObject({ c1: { status: 'compensated' }, slow: { status: 'cancelled' } });
    expect(childRun.history.map((r: { event: string }) => r.event)).toEqual(expect.arrayContaining(['plan.step_cancelled', 'plan.step_compensated', 'plan.cancelled']));
    const parentRun = await ended(runId, 'cancelled');
    expect(parentRun.steps).toMatchObject({ p1: { status: 'compensated' }, sub: { status: 'cancelled' } });
    expect([undone(childRunId), undone(runId)]).toEqual([['C1'], ['P1']]);
    const order = h.calls.map((c) => c.args.undo).filter((u) => u === 'C1' || u === 'P1');
    expect(order).toEqual(['C1', 'P1']); // the child finished rolling back before the parent began
    expect((await h.stack.client.workflow.getHandle(childRunId).describe()).status.name).toBe('CANCELLED');
    const cancelledRuns = () => h.events.filter((e) => e.type === 'plan.cancelled').map((e) => (e.data as { runId: string }).runId);
    await eventually(async () => cancelledRuns(), (ids) => ids.includes(runId) && ids.includes(childRunId));
  });

  test('a sub_plan step’s timeout cancels the child (its compensations run) and fails the step', async () => {
    const child = await h.createPlan({
      name: 'child-too-slow',
      steps: [
        { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'TC1' }, compensation: undo('c1') },
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 120_000 }, dependsOn: ['c1'] },
      ],
    });
    const parent = await h.createPlan({
      name: 'parent-with-timeout',
      steps: [
        { id: 'sub', kind: 'sub_plan', planId: child, timeout: '2s', onFailure: 'continue' },
        { id: 'after', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['sub'] },
      ],
    });
    const runId = await h.execute(parent);
    const run = await ended(runId, 'completed');
    const childRunId = `plan-${child}-1`;
    expect(run.steps).toMatchObject({ sub: { status: 'failed', error: `sub-plan ${childRunId} timed out after 2000 ms` }, after: { status: 'skipped' } });
    expect((await ended(childRunId, 'cancelled')).steps).toMatchObject({ c1: { status: 'compensated' }, slow: { status: 'cancelled' } });
    expect(undone(childRunId)).toEqual(['TC1']);
  });

  test('cancel also works on a paused run and on a run waiting for an approval: compensations run, the run ends cancelled', async () => {
    const id = await h.createPlan({
      name: 'cancel-while-waiting',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'WA' }, compensation: undo('a') },
        { id: 'gate', kind: 'approval', dependsOn: ['a'] },
      ],
    });
    const waiting = await h.execute(id);
    await h.waitFor(waiting, (r) => r.steps.gate?.status === 'waiting_approval');
    await post(`${waiting}/cancel`).expect(202);
    expect((await ended(waiting, 'cancelled')).steps).toMatchObject({ a: { status: 'compensated' }, gate: { status: 'cancelled' } });
    expect(undone(waiting)).toEqual(['WA']);

    const paused = await h.execute(id);
    await h.waitFor(paused, (r) => r.steps.gate?.status === 'waiting_approval');
    await post(`${paused}/pause`).expect(200);
    await post(`${paused}/cancel`).expect(202);
    expect((await ended(paused, 'cancelled')).steps.a.status).toBe('compensated');
    expect(undone(paused)).toEqual(['WA']);
    await post(`${paused}/resume`).expect(409);
  });

  describe('a failing sub-plan, by the sub_plan step’s onFailure', () => {
    let failingChild: string;
    let rollingChild: string;
    beforeAll(async () => {
      failingChild = await h.createPlan({
        name: 'child-fails',
        steps: [
          { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: undo('c1') },
          { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: { reason: 'child broke' }, dependsOn: ['c1'] },
        ],
      });
      rollingChild = await h.createPlan({
        name: 'child-rolls-back',
        onFailure: 'rollback',
        steps: [
          { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'RC1' }, compensation: undo('c1') },
          { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: { reason: 'child broke' }, dependsOn: ['c1'] },
        ],
      });
    });
    const parentOf = (child: string, onFailure: string) =>
      h.createPlan({
        name: `parent-${onFailure}`,
        steps: [
          { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
          { id: 'sub', kind: 'sub_plan', planId: child, dependsOn: ['p1'], onFailure, compensation: undo('sub') },
          { id: 'after', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['sub'] },
          { id: 'other', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['p1'] },
        ],
      });
    const childRunOf = async (parent: RunBody) => (await h.stack.prisma.planRun.findFirstOrThrow({ where: { parentRunId: parent.id } })).id;

    test('fail: the parent fails with the child’s error; nothing is compensated', async () => {
      const runId = await h.execute(await parentOf(failingChild, 'fail'));
      const run = await ended(runId, 'failed');
      expect(run.steps).toMatchObject({ p1: { status: 'completed' }, sub: { status: 'failed', error: expect.stringMatching(/child broke/) }, after: { status: 'pending' } });
      expect(run.error).toMatch(/step sub failed: .*child broke/);
      const childRun = await ended(await childRunOf({ ...run, id: runId }), 'failed');
      expect(childRun.steps).toMatchObject({ c1: { status: 'completed' }, bad: { status: 'failed' } });
      expect(undone(runId)).toEqual([]);
    });

    test('continue: the parent completes, skipping what depends on the sub-plan', async () => {
      const runId = await h.execute(await parentOf(failingChild, 'continue'));
      const run = await ended(runId, 'completed');
      expect(run.steps).toMatchObject({ p1: { status: 'completed' }, sub: { status: 'failed' }, after: { status: 'skipped' }, other: { status: 'completed' } });
      expect(undone(runId)).toEqual([]);
    });

    test('rollback: a child that rolled itself back fails the step; the parent compensates its completed steps and ends rolled_back', async () => {
      const runId = await h.execute(await parentOf(rollingChild, 'rollback'));
      const run = await ended(runId, 'rolled_back');
      const childRunId = await childRunOf({ ...run, id: runId });
      expect(run.steps.sub).toMatchObject({ status: 'failed', error: `sub-plan ${childRunId} ended rolled_back` });
      expect(run.steps.p1.status).toBe('compensated');
      expect(undone(runId)).toEqual(['P1']); // the failed sub step itself is not compensated
      expect((await ended(childRunId, 'rolled_back')).steps.c1.status).toBe('compensated');
      expect(undone(childRunId)).toEqual(['RC1']);
    });
  });

  test('approval timeouts: onTimeout approve continues, reject fails the step and its onFailure decides (fail, rollback)', async () => {
    const approveOnTimeout = await h.createPlan({
      name: 'timeout-approves',
      steps: [
        { id: 'gate', kind: 'approval', approvers: ['user:alice'], approvalTimeout: '300ms', onTimeout: 'approve' },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['gate'] },
      ],
    });
    const approved = await ended(await h.execute(approveOnTimeout), 'completed');
    expect(approved.steps).toMatchObject({ gate: { status: 'completed', decidedBy: 'timeout', output: { approved: true, by: 'timeout' } }, ship: { status: 'completed' } });
    expect(approved.history.map((r: { event: string }) => r.event)).toEqual(expect.arrayContaining(['plan.approval_required', 'plan.step_approved']));

    const rejectFails = await h.createPlan({
      name: 'timeout-rejects-fails',
      steps: [
        { id: 'gate', kind: 'approval', approvalTimeout: '300ms', onTimeout: 'reject' },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['gate'] },
      ],
    });
    const failed = await ended(await h.execute(rejectFails), 'failed');
    expect(failed.steps).toMatchObject({ gate: { status: 'failed', decidedBy: 'timeout', error: 'approval timed out' }, ship: { status: 'pending' } });
    expect(failed.history.map((r: { event: string }) => r.event)).toEqual(expect.arrayContaining(['plan.step_rejected', 'plan.failed']));

    const rejectRollsBack = await h.createPlan({
      name: 'timeout-rejects-rolls-back',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'gate', kind: 'approval', approvalTimeout: '300ms', dependsOn: ['a'], onFailure: 'rollback' }, // onTimeout defaults to reject
      ],
    });
    const rolledRunId = await h.execute(rejectRollsBack);
    const rolled = await ended(rolledRunId, 'rolled_back');
    expect(rolled.steps).toMatchObject({ a: { status: 'compensated' }, gate: { status: 'failed', error: 'approval timed out' } });
    expect(undone(rolledRunId)).toEqual(['A']);
  });

  test('decisions: a principal not among the approvers (nor admin, whose decision is an override) gets 403 (approve and reject), a step not waiting 409, a non-approval step 404', async () => {
    const id = await h.createPlan({
      name: 'decisions',
      steps: [
        { id: 'first', kind: 'approval', approvers: ['user:alice'] },
        { id: 'second', kind: 'approval', approvers: ['user:alice'], dependsOn: ['first'] },
        { id: 'work', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['second'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.first?.status === 'waiting_approval');
    const alice = await h.as('user:alice');
    const mallory = await h.as('user:mallory');
    expect((await mallory.post(`/api/v1/plans/runs/${runId}/steps/first/approve`).send({}).expect(403)).body.error.code).toBe('FORBIDDEN');
    expect((await mallory.post(`/api/v1/plans/runs/${runId}/steps/first/reject`).send({}).expect(403)).body.error.code).toBe('FORBIDDEN');
    // `second` exists but is not waiting yet
    expect((await alice.post(`/api/v1/plans/runs/${runId}/steps/second/approve`).send({}).expect(409)).body.error.code).toBe('INVALID_STATE');
    // a step of another kind is there but has nothing to decide; a step that is not there is not found
    expect((await alice.post(`/api/v1/plans/runs/${runId}/steps/work/approve`).send({}).expect(409)).body.error.message).toMatch(/'work' is a tool step, not an approval/);
    expect((await alice.post(`/api/v1/plans/runs/${runId}/steps/nope/approve`).send({}).expect(404)).body.error.message).toMatch(/step 'nope' does not exist in this run/);
    expect((await h.run(runId)).steps.first.status).toBe('waiting_approval'); // nothing above changed the run

    expect((await alice.post(`/api/v1/plans/runs/${runId}/steps/first/approve`).send({ comment: 'go' }).expect(200)).body).toMatchObject({ status: 'completed', decidedBy: 'user:alice' });
    await alice.post(`/api/v1/plans/runs/${runId}/steps/first/approve`).send({}).expect(409); // already decided
    await h.waitFor(runId, (r) => r.steps.second?.status === 'waiting_approval');
    await mallory.post(`/api/v1/plans/runs/${runId}/steps/second/reject`).send({}).expect(403);
    await alice.post(`/api/v1/plans/runs/${runId}/steps/second/reject`).send({ comment: 'no' }).expect(200);
    const run = await ended(runId, 'failed');
    expect(run.steps).toMatchObject({ first: { decidedBy: 'user:alice' }, second: { status: 'failed', decidedBy: 'user:alice', error: 'rejected by user:alice' }, work: { status: 'pending' } });
    await alice.post(`/api/v1/plans/runs/${runId}/steps/second/approve`).send({}).expect(409); // the run has ended
  });

  test('a wait until an instant (future or past), a tool step timeout with retries; GET /:id/runs lists the run', async () => {
    const until = new Date(Date.now() + 3000).toISOString();
    const id = await h.createPlan({
      name: 'timed',
      steps: [
        { id: 'later', kind: 'wait', until },
        { id: 'past', kind: 'wait', until: '2020-01-01T00:00:00Z' },
        { id: 'stuck', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, timeout: '500ms', retry: { maximumAttempts: 2, initialInterval: '100ms' }, onFailure: 'continue' },
      ],
    });
    const runId = await h.execute(id);
    const run = await ended(runId, 'completed');
    expect(run.steps).toMatchObject({ past: { status: 'completed', output: { waitedMs: 0 } }, later: { status: 'completed' }, stuck: { status: 'failed', error: expect.stringMatching(/time/i) } });
    const laterDone = run.history.find((r: { stepId?: string; event: string }) => r.stepId === 'later' && r.event === 'plan.step_completed');
    expect(Date.parse(laterDone.createdAt)).toBeGreaterThanOrEqual(Date.parse(until));
    expect(run.history.filter((r: { stepId?: string; event: string }) => r.stepId === 'stuck' && r.event === 'plan.step_attempt')).toHaveLength(2);
    // a checkpoint per finished step, in the database too, each answering the outputs so far
    const checkpoints = await h.stack.prisma.planCheckpoint.findMany({ where: { runId }, orderBy: { position: 'asc' } });
    expect(checkpoints.map((c) => c.position)).toEqual([1, 2, 3]);
    expect(checkpoints.map((c) => c.id)).toEqual(run.state.checkpoints.map((c: { id: string }) => c.id));
    const last = (await h.api.get(`/api/v1/plans/runs/${runId}/checkpoints/${checkpoints[2]!.id}`).expect(200)).body;
    expect(Object.keys(last.outputs).sort()).toEqual(['later', 'past']);
    const runs = (await h.api.get(`/api/v1/plans/${id}/runs`).expect(200)).body;
    expect(runs.map((r: { id: string }) => r.id)).toEqual([runId]);
  });

  test('maxConcurrentRuns holds under concurrent starts; a finished run frees its slot; one start key races to one run', async () => {
    const id = await h.createPlan({ name: 'limited', maxConcurrentRuns: 2, steps: [{ id: 'gate', kind: 'approval', approvers: ['*'] }] });
    const starts = await Promise.all(Array.from({ length: 6 }, () => h.api.post(`/api/v1/plans/${id}/execute`).send({})));
    expect(starts.map((r) => r.status).sort()).toEqual([202, 202, 409, 409, 409, 409]);
    expect(starts.filter((r) => r.status === 409).every((r) => r.body.error.details.reason === 'RUN_LIMIT')).toBe(true);
    const [first] = starts.filter((r) => r.status === 202).map((r) => r.body.runId as string);
    await h.waitFor(first!, (r) => r.steps.gate?.status === 'waiting_approval');
    await post(`${first}/steps/gate/approve`).expect(200);
    await ended(first!, 'completed');
    const keyed = await Promise.all(Array.from({ length: 3 }, () => h.api.post(`/api/v1/plans/${id}/execute`).send({ startKey: `race-${id}` })));
    expect(keyed.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(new Set(keyed.map((r) => r.body.runId)).size).toBe(1);
    await h.api.post(`/api/v1/plans/${id}/execute`).send({}).expect(409);
    expect(await h.stack.prisma.planRun.count({ where: { planId: id } })).toBe(3);
  });

  test('after continue-as-new, a rollback to a checkpoint taken before it compensates and resume re-runs from there', async () => {
    const id = await h.createPlan({
      name: 'long-rollback',
      continueAsNewAfter: 2,
      steps: [
        { id: 's0', kind: 'tool', tool: 'core.test.log', args: { id: 'S0' }, compensation: undo('s0') },
        { id: 's1', kind: 'tool', tool: 'core.test.log', args: { id: 'S1' }, compensation: undo('s1'), dependsOn: ['s0'] },
        { id: 's2', kind: 'tool', tool: 'core.wait', args: { ms: 1500 }, dependsOn: ['s1'] },
        { id: 's3', kind: 'tool', tool: 'core.test.log', args: { id: 'S3' }, dependsOn: ['s2'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.s2?.status === 'running');
    const history = await h.stack.client.workflow.getHandle(runId).fetchHistory();
    expect(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy(); // s2 runs in the continued execution
    await post(`${runId}/pause`).expect(200);
    const paused = await h.waitFor(runId, (r) => r.steps.s2.status === 'completed');
    const afterS0 = paused.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterS0.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['s0'], steps: { s1: { status: 'pending', generation: 1 }, s2: { status: 'pending', generation: 1 } } });
    expect(undone(runId)).toEqual(['S1']);
    await post(`${runId}/resume`).expect(200);
    const done = await ended(runId, 'completed');
    expect(done.state.completedSteps).toBe(4);
    expect(h.calls.filter((c) => c.args.id === 'S1' && c.idempotencyKey?.startsWith(`${runId}/`)).map((c) => c.idempotencyKey)).toEqual([`${runId}/s1/0`, `${runId}/s1/1`]);
    expect(h.calls.filter((c) => c.args.id === 'S0' && c.idempotencyKey?.startsWith(`${runId}/`))).toHaveLength(1);
  });

  test('a retried tool step receives the same idempotency key on every attempt', async () => {
    const id = await h.createPlan({
      name: 'retried',
      steps: [{ id: 'flaky', kind: 'tool', tool: 'core.test.flaky', args: { x: 1 }, retry: { maximumAttempts: 3, initialInterval: '100ms' } }],
    });
    const runId = await h.execute(id);
    const run = await ended(runId, 'completed');
    expect(run.steps.flaky).toMatchObject({ status: 'completed', output: { x: 1 } });
    expect(h.calls.filter((c) => c.tool === 'core.test.flaky' && c.idempotencyKey?.startsWith(`${runId}/`)).map((c) => c.idempotencyKey)).toEqual([`${runId}/flaky/0`, `${runId}/flaky/0`]);
  });
});
