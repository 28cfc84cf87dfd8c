import { randomUUID } from 'node:crypto';
import { openPlanHarness, type PlanHarness, undo } from './support/plan-harness';
import { eventually } from './support/wait';

// A rollback cancels the tool and sub-plan steps in flight (behaviour 'rollback-cancels-in-flight')
// instead of waiting for them: the steps below hold until released, which these tests never do
// before the rollback, so only the cancellation can end them. A whole-run rollback also ends the
// waits and approvals it interrupts cancelled (behaviour 'rollback-cancels-waits'), and a step
// failing with onFailure rollback cancels them too (behaviour 'failure-rollback-cancels-in-flight').
describe('plan rollback: steps in flight are cancelled, not awaited', () => {
  let h: PlanHarness;
  beforeAll(async () => {
    h = await openPlanHarness();
  });
  afterAll(() => h.close());
  const post = (path: string, body: object = {}) => h.api.post(`/api/v1/plans/runs/${path}`).send(body);
  /** What the compensations of these runs undid, in the order they ran. */
  const undoneBy = (...runIds: string[]) => h.calls.filter((c) => runIds.some((r) => c.idempotencyKey?.startsWith(`${r}/`)) && c.idempotencyKey?.endsWith('/compensate')).map((c) => c.args.undo);
  /** A run's plan_history rows in sequence order, as `stepId event status`. */
  const rows = async (runId: string) =>
    (await h.stack.prisma.planHistory.findMany({ where: { runId }, orderBy: { sequence: 'asc' } })).map((r) => ({ row: `${r.stepId ?? '-'} ${r.event} ${r.status}`, details: r.details }));
  const temporalEvents = async (runId: string) => ((await h.stack.client.workflow.getHandle(runId).fetchHistory()).events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')));

  test('a rollback of the whole run cancels the tool step in flight, which is not compensated; the completed steps are, newest first', async () => {
    const id = await h.createPlan({
      name: 'rollback-cancels-tool',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
        { id: 'slow', kind: 'tool', tool: 'core.test.hold', args: { token: randomUUID() }, compensation: undo('slow'), dependsOn: ['b'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    const rolled = (await post(`${runId}/rollback`).expect(200)).body;
    expect(rolled).toMatchObject({
      status: 'rolled_back',
      steps: { a: { status: 'compensated' }, b: { status: 'compensated' }, slow: { status: 'cancelled' } },
      compensations: [{ stepId: 'b', status: 'completed' }, { stepId: 'a', status: 'completed' }],
    });
    expect(undoneBy(runId)).toEqual(['B', 'A']);

    await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    const history = await rows(runId);
    const after = history.slice(history.findIndex((r) => r.row === '- plan.rollback_requested rolling_back'));
    expect(after.map((r) => r.row)).toEqual(['- plan.rollback_requested rolling_back', 'slow plan.step_cancelled cancelled', 'b plan.step_compensated compensated', 'a plan.step_compensated compensated', '- plan.rolled_back rolled_back']);
    expect(after[1]!.details).toEqual({ by: 'rollback' });
    // The activity was cancelled (it heartbeats, so the cancellation reached it), not waited for.
    expect(await temporalEvents(runId)).toEqual(expect.arrayContaining(['activityTaskCancelRequestedEventAttributes', 'activityTaskCanceledEventAttributes']));
  });

  /** A run's checkpoint positions, in the workflow state and in plan_checkpoints. */
  const checkpointPositions = async (runId: string) => ({
    state: (await h.run(runId)).state.checkpoints.map((c: { position: number }) => c.position),
    rows: (await h.stack.prisma.planCheckpoint.findMany({ where: { runId }, orderBy: { position: 'asc' } })).map((c) => c.position),
  });

  test.each([
    ['wait', { kind: 'wait', duration: '10m' }],
    ['approval', { kind: 'approval', approvers: ['*'] }],
  ])('a rollback of the whole run cancels the %s step in flight: no failure, no checkpoint after it, not compensated', async (kind, waiting) => {
    const id = await h.createPlan({
      name: `rollback-cancels-${kind}`,
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
        { id: 'w', ...waiting, compensation: { tool: 'core.test.log', args: { undo: 'W' } }, dependsOn: ['b'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.w?.status === (kind === 'wait' ? 'running' : 'waiting_approval'));
    const rolled = (await post(`${runId}/rollback`).expect(200)).body;
    expect(rolled).toMatchObject({
      status: 'rolled_back',
      order: ['a', 'b'],
      steps: { a: { status: 'compensated' }, b: { status: 'compensated' }, w: { status: 'cancelled' } },
      compensations: [{ stepId: 'b', status: 'completed' }, { stepId: 'a', status: 'completed' }],
    });
    expect(rolled.steps.w.error).toBeUndefined();
    expect(undoneBy(runId)).toEqual(['B', 'A']);

    await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    const history = await rows(runId);
    const after = history.slice(history.findIndex((r) => r.row === '- plan.rollback_requested rolling_back'));
    expect(after.map((r) => r.row)).toEqual(['- plan.rollback_requested rolling_back', 'w plan.step_cancelled cancelled', 'b plan.step_compensated compensated', 'a plan.step_compensated compensated', '- plan.rolled_back rolled_back']);
    expect(after[1]!.details).toEqual({ by: 'rollback' });
    expect(await checkpointPositions(runId)).toEqual({ state: [1, 2], rows: [1, 2] });
  });

  test('a step failing with onFailure rollback cancels the wait and approval in flight beside it', async () => {
    const id = await h.createPlan({
      name: 'failure-rollback-cancels-waits',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'w', kind: 'wait', duration: '10m', dependsOn: ['a'] },
        { id: 'gate', kind: 'approval', approvers: ['*'], dependsOn: ['a'] },
        { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {}, retry: { maximumAttempts: 1 }, onFailure: 'rollback', dependsOn: ['a'] },
      ],
    });
    const runId = await h.execute(id);
    const done = await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    expect(done.steps).toMatchObject({ a: { status: 'compensated' }, w: { status: 'cancelled' }, gate: { status: 'cancelled' }, bad: { status: 'failed' } });
    expect(done.state.order).toEqual(['a', 'bad']);
    expect(undoneBy(runId)).toEqual(['A']);
    const cancelled = (await rows(runId)).filter((r) => r.row.endsWith('plan.step_cancelled cancelled')).map((r) => r.row);
    expect(cancelled.sort()).toEqual(['gate plan.step_cancelled cancelled', 'w plan.step_cancelled cancelled']);
    expect(await checkpointPositions(runId)).toEqual({ state: [1, 2], rows: [1, 2] });
  });

  /** A plan whose step `w` holds until its `input.token` is released, after `c1` (undone as 'C1'). */
  const heldChild = (name: string) =>
    h.createPlan({
      name,
      steps: [
        { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: undo('c1') },
        { id: 'w', kind: 'tool', tool: 'core.test.hold', args: { token: '{{ input.token }}' }, dependsOn: ['c1'] },
      ],
    });

  test('a step failing with onFailure rollback cancels the tool step in flight beside it, which is not compensated; the run ends rolled_back', async () => {
    const failToken = randomUUID();
    const id = await h.createPlan({
      name: 'failure-rollback-cancels-tool',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'slow', kind: 'tool', tool: 'core.test.hold', args: { token: randomUUID() }, compensation: undo('slow'), dependsOn: ['a'] },
        { id: 'bad', kind: 'tool', tool: 'core.test.hold', args: { token: failToken, fail: true }, retry: { maximumAttempts: 1 }, onFailure: 'rollback', dependsOn: ['a'] },
      ],
    });
    const runId = await h.execute(id);
    // Both tools are running: bad fails while slow holds (which only a cancellation can end).
    await eventually(async () => h.holding(runId), (calls) => calls.length === 2);
    h.release(failToken);
    const done = await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    expect(done.steps).toMatchObject({ a: { status: 'compensated' }, slow: { status: 'cancelled' }, bad: { status: 'failed' } });
    expect(done.steps.slow.error).toBeUndefined();
    expect(done.error).toMatch(/^step bad failed: core\.test\.hold: released to fail/);
    expect(done.state.order).toEqual(['a', 'bad']);
    expect(undoneBy(runId)).toEqual(['A']);
    const slowRows = (await rows(runId)).filter((r) => r.row.startsWith('slow '));
    expect(slowRows.map((r) => r.row)).toEqual(['slow plan.step_started running', 'slow plan.step_attempt running', 'slow plan.step_cancelled cancelled']);
    expect(slowRows[2]!.details).toEqual({ by: 'rollback' });
    // The activity was cancelled (it heartbeats, so the cancellation reached it), not waited for.
    expect(await temporalEvents(runId)).toEqual(expect.arrayContaining(['activityTaskCancelRequestedEventAttributes', 'activityTaskCanceledEventAttributes']));
  });

  test('a step failing with onFailure rollback cancels a sub-plan in flight, which compensates its own steps before the parent compensates', async () => {
    const failToken = randomUUID();
    const child = await heldChild('held-child-of-failing-parent');
    const parent = await h.createPlan({
      name: 'failure-rollback-cancels-sub-plan',
      steps: [
        { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
        { id: 'sub', kind: 'sub_plan', planId: child, input: { token: randomUUID() }, compensation: undo('sub'), dependsOn: ['p1'] },
        { id: 'bad', kind: 'tool', tool: 'core.test.hold', args: { token: failToken, fail: true }, retry: { maximumAttempts: 1 }, onFailure: 'rollback', dependsOn: ['p1'] },
      ],
    });
    const runId = await h.execute(parent);
    const childRun = `plan-${child}-1`;
    await h.waitFor(childRun, (r) => r.steps.w?.status === 'running');
    await eventually(async () => h.holding(runId), (calls) => calls.length === 1);
    h.release(failToken);
    const done = await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    expect(done.steps).toMatchObject({ p1: { status: 'compensated' }, sub: { status: 'cancelled' }, bad: { status: 'failed' } });
    expect(await h.waitFor(childRun, (r) => r.status === 'cancelled')).toMatchObject({ steps: { c1: { status: 'compensated' }, w: { status: 'cancelled' } } });
    // The child undid its step before the parent's rollback compensated p1; the cancelled sub step itself is not compensated.
    expect(undoneBy(runId, childRun)).toEqual(['C1', 'P1']);
  });

  test('a run failing by onFailure fail (no rollback) interrupts the wait beside it, which fails with the run', async () => {
    const id = await h.createPlan({
      name: 'failure-interrupts-wait',
      steps: [
        { id: 'w', kind: 'wait', duration: '10m' },
        { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {}, retry: { maximumAttempts: 1 }, onFailure: 'fail' },
      ],
    });
    const runId = await h.execute(id);
    const done = await h.waitFor(runId, (r) => r.status === 'failed' && r.source === 'database');
    expect(done.steps).toMatchObject({ w: { status: 'failed', error: 'wait interrupted by a rollback or a failing run' }, bad: { status: 'failed' } });
    expect(done.error).toMatch(/^step bad failed/);
  });

  test('a rollback to a checkpoint cancels the tool step in flight and pauses there; resume runs it again with a new idempotency key', async () => {
    const token = randomUUID();
    const id = await h.createPlan({
      name: 'rollback-to-checkpoint-cancels-tool',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
        { id: 'c', kind: 'tool', tool: 'core.test.log', args: { id: 'C' }, compensation: undo('c'), dependsOn: ['b'] },
        { id: 'slow', kind: 'tool', tool: 'core.test.hold', args: { token }, compensation: undo('slow'), dependsOn: ['c'] },
        { id: 'd', kind: 'tool', tool: 'core.test.log', args: { id: 'D' }, dependsOn: ['slow'] },
      ],
    });
    const runId = await h.execute(id);
    const running = await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    const afterA = running.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterA.id }).expect(200)).body;
    expect(rolled).toMatchObject({
      status: 'paused',
      order: ['a'],
      steps: { a: { status: 'completed' }, b: { status: 'pending', generation: 1 }, c: { status: 'pending', generation: 1 }, slow: { status: 'pending', generation: 1 }, d: { status: 'pending' } },
    });
    expect(undoneBy(runId)).toEqual(['C', 'B']);
    await eventually(() => rows(runId), (r) => r.some((x) => x.row === '- plan.rolled_back paused'));
    const slowRows = (await rows(runId)).filter((r) => r.row.startsWith('slow '));
    expect(slowRows.map((r) => r.row)).toEqual(['slow plan.step_started running', 'slow plan.step_attempt running', 'slow plan.step_cancelled pending']);
    expect(slowRows[2]!.details).toEqual({ by: 'rollback', checkpointId: afterA.id });

    h.release(token);
    await post(`${runId}/resume`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.steps.slow).toMatchObject({ status: 'completed', generation: 1 });
    const holds = h.holding(runId).map((c) => c.idempotencyKey);
    expect(holds).toEqual([`${runId}/slow/0`, `${runId}/slow/1`]);
    expect(undoneBy(runId)).toEqual(['C', 'B']);
  });

  test('a rollback to a checkpoint cancels a sub-plan in flight, which compensates its own steps; resume starts a new child run', async () => {
    const token = randomUUID();
    const child = await heldChild('held-child');
    const parent = await h.createPlan({
      name: 'rollback-cancels-sub-plan',
      steps: [
        { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
        { id: 'p2', kind: 'tool', tool: 'core.test.log', args: { id: 'P2' }, compensation: undo('p2'), dependsOn: ['p1'] },
        { id: 'sub', kind: 'sub_plan', planId: child, input: { token: '{{ input.token }}' }, compensation: undo('sub'), dependsOn: ['p2'] },
      ],
    });
    const runId = await h.execute(parent, { input: { token } });
    const firstChild = `plan-${child}-1`;
    await h.waitFor(firstChild, (r) => r.steps.w?.status === 'running');
    const afterP1 = (await h.run(runId)).state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterP1.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['p1'], steps: { p2: { status: 'pending', generation: 1 }, sub: { status: 'pending', generation: 1 } } });
    // The child ran its own compensations (cancelled) before the parent's rollback compensated p2.
    expect(await h.waitFor(firstChild, (r) => r.status === 'cancelled')).toMatchObject({ steps: { c1: { status: 'compensated' }, w: { status: 'cancelled' } } });
    expect(undoneBy(runId, firstChild)).toEqual(['C1', 'P2']);

    h.release(token);
    await post(`${runId}/resume`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.steps.sub).toMatchObject({ status: 'completed', generation: 1, output: { runId: `plan-${child}-2` } });
  });
});
