import { randomUUID } from 'node:crypto';
import { createPlanService, type PlanService } from '../activities/plans/plan-service';
import { everyToolAllowed, openPlanHarness, type PlanHarness, undo } from './support/plan-harness';
import { eventually } from './support/wait';

describe('plan run control: pause/resume, cancel, rollback, checkpoints, approvals', () => {
  let h: PlanHarness;
  let service: PlanService;
  beforeAll(async () => {
    h = await openPlanHarness();
    service = createPlanService({ prisma: h.stack.prisma, temporal: h.stack.client, taskQueue: h.stack.taskQueue, tools: everyToolAllowed });
  });
  afterAll(() => h.close());
  const post = (path: string, body: object = {}) => h.api.post(`/api/v1/plans/runs/${path}`).send(body);
  const undone = (runId: string) => h.calls.filter((c) => c.idempotencyKey?.startsWith(`${runId}/`) && c.idempotencyKey.endsWith('/compensate')).map((c) => c.args.undo ?? c.args.reason);

  test('pause lets the step in flight finish and starts no new one; resume continues; wrong state is 409', async () => {
    const id = await h.createPlan({
      name: 'pausable',
      steps: [
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 800 } },
        { id: 'next', kind: 'tool', tool: 'core.test.log', args: { n: 1 }, dependsOn: ['slow'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    expect((await post(`${runId}/resume`).expect(409)).body.error.code).toBe('INVALID_STATE');
    expect((await post(`${runId}/pause`).expect(200)).body.status).toBe('paused');
    const paused = await h.waitFor(runId, (r) => r.steps.slow.status === 'completed');
    expect(paused).toMatchObject({ status: 'paused', steps: { next: { status: 'pending' } } });
    expect(h.calls.some((c) => c.idempotencyKey === `${runId}/next/0`)).toBe(false);
    await post(`${runId}/pause`).expect(409);
    await post(`${runId}/resume`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.history.map((r: { event: string }) => r.event)).toEqual(expect.arrayContaining(['plan.paused', 'plan.resumed']));
    await h.waitFor(runId, (r) => r.source === 'database');
    await post(`${runId}/pause`).expect(409);
    // The workflow closed but the row still looks active (the race between the two): still 409.
    await h.stack.prisma.planRun.update({ where: { id: runId }, data: { status: 'running' } });
    expect((await post(`${runId}/pause`).expect(409)).body.error.code).toBe('INVALID_STATE');
    await post(`${runId}/cancel`).expect(409);
    const types = () => h.events.filter((e) => (e.data as { runId: string }).runId === runId).map((e) => e.type);
    await eventually(async () => types(), (t) => ['plan.paused', 'plan.resumed', 'plan.completed'].every((x) => t.includes(x)));
  });

  test('cancel stops the step in flight, then compensates the completed steps newest-first', async () => {
    const id = await h.createPlan({
      name: 'cancellable',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 120_000 }, compensation: undo('slow'), dependsOn: ['b'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    await post(`${runId}/cancel`).expect(202);
    const run = await h.waitFor(runId, (r) => r.status === 'cancelled');
    expect(run.steps).toMatchObject({ a: { status: 'compensated' }, b: { status: 'compensated' }, slow: { status: 'cancelled' } });
    expect(undone(runId)).toEqual(['B', 'A']);
    await eventually(() => h.stack.client.workflow.getHandle(runId).describe(), (d) => d.status.name === 'CANCELLED');
    await post(`${runId}/cancel`).expect(409);
  });

  test('a failing step with onFailure rollback compensates newest-first; a failing compensation is recorded and the rest still run', async () => {
    const id = await h.createPlan({
      name: 'saga',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: { tool: 'core.test.fail', args: { reason: 'undo-B-broken' } }, dependsOn: ['a'] },
        { id: 'c', kind: 'tool', tool: 'core.test.log', args: { id: 'C' }, compensation: undo('c'), dependsOn: ['b'] },
        { id: 'd', kind: 'tool', tool: 'core.test.fail', args: { reason: 'd' }, onFailure: 'rollback', dependsOn: ['c'] },
        { id: 'e', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['d'] },
      ],
    });
    const runId = await h.execute(id);
    const run = await h.waitFor(runId, (r) => r.status === 'rolled_back' && r.source === 'database');
    expect(undone(runId)).toEqual(['C', 'undo-B-broken', 'A']);
    expect(run.state.compensations).toEqual([
      { stepId: 'c', status: 'completed' },
      { stepId: 'b', status: 'failed', error: expect.stringMatching(/undo-B-broken/) },
      { stepId: 'a', status: 'completed' },
    ]);
    expect(run.steps).toMatchObject({ a: { status: 'compensated' }, b: { status: 'compensation_failed' }, d: { status: 'failed' }, e: { status: 'pending' } });
    expect(run.error).toMatch(/step d failed/);
    const events = run.history.map((r: { event: string }) => r.event);
    expect(events).toEqual(expect.arrayContaining(['plan.step_failed', 'plan.compensation_failed', 'plan.rolled_back']));
  });

  test('onFailure continue skips the dependents; default fail fails the run', async () => {
    const id = await h.createPlan({
      name: 'continue',
      steps: [
        { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {}, onFailure: 'continue' },
        { id: 'dep', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['bad'] },
        { id: 'other', kind: 'tool', tool: 'core.test.log', args: {} },
      ],
    });
    const run = await h.waitFor(await h.execute(id), (r) => r.status === 'completed');
    expect(run.steps).toMatchObject({ bad: { status: 'failed' }, dep: { status: 'skipped' }, other: { status: 'completed' } });
    const failing = await h.createPlan({ name: 'fails', steps: [{ id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {} }] });
    const failedRunId = await h.execute(failing);
    expect(await h.waitFor(failedRunId, (r) => r.status === 'failed' && r.source === 'database')).toMatchObject({ error: expect.stringMatching(/test.fail/) });
    await eventually(async () => h.events.some((e) => e.type === 'plan.failed' && (e.data as { runId: string }).runId === failedRunId), Boolean);
  });

  test('rollback to a checkpoint compensates what came after it and pauses there; resume re-runs with new idempotency keys', async () => {
    const id = await h.createPlan({
      name: 'checkpointed',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 600 }, dependsOn: ['b'] },
        { id: 'c', kind: 'tool', tool: 'core.test.log', args: { id: 'C' }, dependsOn: ['slow'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.slow?.status === 'running');
    await post(`${runId}/pause`).expect(200);
    await h.waitFor(runId, (r) => r.steps.slow.status === 'completed');
    const named = await post(`${runId}/checkpoint`, { name: 'before-c' }).expect(201);
    expect(named.body).toMatchObject({ name: 'before-c', position: 3 });
    const afterA = (await h.run(runId)).state.checkpoints.find((c: { position: number }) => c.position === 1);
    expect((await post(`${runId}/rollback`, { checkpointId: 'nope' }).expect(404)).body.error.code).toBe('NOT_FOUND');
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterA.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['a'], steps: { a: { status: 'completed' }, b: { status: 'pending', generation: 1 }, slow: { status: 'pending' } } });
    expect(undone(runId)).toEqual(['B']);
    expect(await h.stack.prisma.planCheckpoint.findFirst({ where: { runId, name: 'before-c' } })).not.toBeNull();
    await post(`${runId}/resume`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.steps.b).toMatchObject({ status: 'completed', generation: 1 });
    expect(h.calls.filter((c) => c.args.id === 'B' && c.idempotencyKey?.startsWith(`${runId}/`)).map((c) => c.idempotencyKey)).toEqual([`${runId}/b/0`, `${runId}/b/1`]);
  });

  test('rollback to a checkpoint while an approval waits resets the approval and pauses there; a step failing meanwhile decides nothing', async () => {
    const id = await h.createPlan({
      name: 'rollback-during-approval',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'gate', kind: 'approval', approvers: ['*'], onFailure: 'rollback', dependsOn: ['a'] },
        { id: 'after', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['gate'] },
      ],
    });
    const runId = await h.execute(id);
    const waiting = await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    const afterA = waiting.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterA.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['a'], steps: { a: { status: 'completed' }, gate: { status: 'pending', generation: 1 }, after: { status: 'pending' } } });
    expect(rolled.error).toBeUndefined();
    expect(undone(runId)).toEqual([]);
    await post(`${runId}/resume`).expect(200);
    await h.waitFor(runId, (r) => r.steps.gate.status === 'waiting_approval');
    await post(`${runId}/steps/gate/approve`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed' && r.source === 'database');
    const gateEvents = done.history.filter((r: { stepId?: string }) => r.stepId === 'gate').map((r: { event: string }) => r.event);
    expect(gateEvents).toEqual(['plan.step_started', 'plan.approval_required', 'plan.step_interrupted', 'plan.step_started', 'plan.approval_required', 'plan.step_approved', 'plan.step_completed']);

    // A tool step in flight (onFailure rollback) is cancelled by the rollback, or fails by its timeout
    // first: either way it is pending again, and its onFailure does not run.
    const failing = await h.createPlan({
      name: 'fails-during-rollback',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A2' }, compensation: undo('a') },
        { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, timeout: '3s', retry: { maximumAttempts: 1 }, onFailure: 'rollback', dependsOn: ['a'] },
      ],
    });
    const failingRun = await h.execute(failing);
    const running = await h.waitFor(failingRun, (r) => r.steps.slow?.status === 'running');
    const cp = running.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const back = (await post(`${failingRun}/rollback`, { checkpointId: cp.id }).expect(200)).body;
    expect(back).toMatchObject({ status: 'paused', order: ['a'], steps: { a: { status: 'completed' }, slow: { status: 'pending', generation: 1 } } });
    expect(undone(failingRun)).toEqual([]);
    await post(`${failingRun}/cancel`).expect(202);
    await h.waitFor(failingRun, (r) => r.status === 'cancelled');
  });

  test('rollback without a checkpoint cancels a waiting approval, compensates everything and ends rolled_back', async () => {
    const id = await h.createPlan({
      name: 'full-rollback',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'gate', kind: 'approval', approvers: ['*'], dependsOn: ['a'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    const rolled = (await post(`${runId}/rollback`).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'rolled_back', steps: { a: { status: 'compensated' }, gate: { status: 'cancelled' } } });
    expect(undone(runId)).toEqual(['A']);
    await post(`${runId}/resume`).expect(409);
  });

  test('an approval run again after a rollback to a checkpoint waits for a new decision', async () => {
    const id = await h.createPlan({
      name: 'approval-rerun',
      steps: [
        { id: 'gate', kind: 'approval', approvers: ['*'] },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: { id: 'S' }, dependsOn: ['gate'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    const start = (await post(`${runId}/checkpoint`, { name: 'start' }).expect(201)).body;
    await post(`${runId}/pause`).expect(200);
    await post(`${runId}/steps/gate/approve`, { comment: 'first time' }).expect(200);
    await h.waitFor(runId, (r) => r.steps.gate.status === 'completed');
    await post(`${runId}/rollback`, { checkpointId: start.id }).expect(200);
    await post(`${runId}/resume`).expect(200);
    const again = await h.waitFor(runId, (r) => r.steps.gate.status === 'waiting_approval' && r.steps.gate.generation === 1);
    expect(again.steps.ship.status).toBe('pending');
    expect((await post(`${runId}/steps/gate/approve`, { comment: 'second time' }).expect(200)).body).toMatchObject({ status: 'completed', generation: 1 });
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.steps.gate.output).toMatchObject({ approved: true, comment: 'second time' });
  });

  test('a rollback to the checkpoint right after a condition keeps its unchosen branch skipped', async () => {
    const id = await h.createPlan({
      name: 'condition-rollback',
      steps: [
        { id: 'check', kind: 'condition', expression: 'true', then: ['yes'], else: ['no'] },
        { id: 'yes', kind: 'tool', tool: 'core.wait', args: { ms: 500 }, dependsOn: ['check'] },
        { id: 'no', kind: 'tool', tool: 'core.test.log', args: { branch: 'no' }, dependsOn: ['check'] },
        { id: 'tail', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['yes'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.yes?.status === 'running');
    await post(`${runId}/pause`).expect(200);
    const paused = await h.waitFor(runId, (r) => r.steps.yes.status === 'completed');
    expect(paused.state.order).toEqual(['check', 'no', 'yes']);
    const afterCheck = paused.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterCheck.id }).expect(200)).body;
    expect(rolled).toMatchObject({ order: ['check'], steps: { check: { status: 'completed' }, yes: { status: 'pending' }, no: { status: 'pending' } } });
    await post(`${runId}/resume`).expect(200);
    const done = await h.waitFor(runId, (r) => r.status === 'completed');
    expect(done.steps).toMatchObject({ yes: { status: 'completed', generation: 1 }, no: { status: 'skipped' }, tail: { status: 'completed' } });
    expect(h.calls.filter((c) => c.args.branch === 'no' && c.idempotencyKey?.startsWith(`${runId}/`))).toEqual([]);
  });

  test('a wait step in flight is interrupted by a rollback, as an approval is: the rollback answers within the wait', async () => {
    // Waits of 10 minutes: the test (60 s at most) ends long before either would.
    const id = await h.createPlan({
      name: 'rollback-during-wait',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'w', kind: 'wait', duration: '10m', dependsOn: ['a'] },
        { id: 'b', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['w'] },
      ],
    });
    const runId = await h.execute(id);
    const waiting = await h.waitFor(runId, (r) => r.steps.w?.status === 'running');
    const afterA = waiting.state.checkpoints.find((c: { position: number }) => c.position === 1);
    const rolled = (await post(`${runId}/rollback`, { checkpointId: afterA.id }).expect(200)).body;
    expect(rolled).toMatchObject({ status: 'paused', order: ['a'], steps: { w: { status: 'pending', generation: 1 }, b: { status: 'pending' } } });
    await post(`${runId}/resume`).expect(200);
    await h.waitFor(runId, (r) => r.steps.w.status === 'running' && r.steps.w.generation === 1);
    const full = (await post(`${runId}/rollback`).expect(200)).body;
    expect(full).toMatchObject({ status: 'rolled_back', steps: { a: { status: 'compensated' }, w: { status: 'cancelled' }, b: { status: 'pending' } } });
    expect(undone(runId)).toEqual(['A']);
  });

  /**
   * A plan whose step `slow` is a sub-plan that, once cancelled, ends only when the test releases
   * the run's `input.token` (its child's compensation holds until then): a rollback, which cancels
   * the step, waits for it as long as the test wants.
   */
  const slowToCancel = async (name: string) => {
    const child = await h.createPlan({
      name: `${name}-child`,
      steps: [
        { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: { tool: 'core.test.hold', args: { token: '{{ input.token }}' } } },
        { id: 'w', kind: 'tool', tool: 'core.wait', args: { ms: 120_000 }, dependsOn: ['c1'] },
      ],
    });
    const parent = await h.createPlan({
      name,
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
        { id: 'slow', kind: 'sub_plan', planId: child, input: { token: '{{ input.token }}' }, dependsOn: ['a'] },
        { id: 'c', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['slow'] },
      ],
    });
    let runs = 0;
    return async () => {
      const token = randomUUID();
      const runId = await h.execute(parent, { input: { token } });
      const running = await h.waitFor(`plan-${child}-${++runs}`, (r) => r.steps.w?.status === 'running').then(() => h.run(runId));
      return { runId, token, afterA: running.state.checkpoints.find((c: { position: number }) => c.position === 1) };
    };
  };

  test('a cancel while a rollback to a checkpoint waits for a step in flight: the rollback answers 409, the run ends cancelled', async () => {
    const { runId, token, afterA } = await (await slowToCancel('cancel-during-rollback'))();
    const rollback = post(`${runId}/rollback`, { checkpointId: afterA.id }).then((res) => res);
    await eventually(async () => h.events.some((e) => e.type === 'plan.rollback_requested' && (e.data as { runId: string }).runId === runId), Boolean);
    await post(`${runId}/cancel`).expect(202);
    h.release(token);
    const answer = await rollback;
    expect({ status: answer.status, error: answer.body.error }).toMatchObject({ status: 409, error: { code: 'INVALID_STATE', message: `run ${runId} was cancelled before it could roll back` } });
    const run = await h.waitFor(runId, (r) => r.status === 'cancelled');
    expect(run.steps).toMatchObject({ a: { status: 'compensated' }, slow: { status: 'cancelled' } });
    expect(undone(runId)).toEqual(['A']);
  });

  test('while a rollback waits for a step in flight, the run reports it: paused (or rolling_back), and pause/resume/rollback say why they refuse', async () => {
    const start = await slowToCancel('pending-rollback');
    const message = async (path: string, body: object = {}) => {
      const res = await post(path, body).expect(409);
      expect(res.body.error.code).toBe('INVALID_STATE');
      return res.body.error.message as string;
    };
    const { runId, token, afterA } = await start();
    const rollback = post(`${runId}/rollback`, { checkpointId: afterA.id }).then((res) => res);
    await h.waitFor(runId, (r) => r.status === 'paused' && r.steps.slow.status === 'running');
    const underWay = `a rollback to checkpoint '${afterA.id}' is under way (the run pauses there once its steps in flight end)`;
    expect(await message(`${runId}/pause`)).toBe(`${underWay}: cannot pause`);
    expect(await message(`${runId}/resume`)).toBe(`${underWay}: cannot resume`);
    expect(await message(`${runId}/rollback`)).toBe(`${underWay}: cannot roll back`);
    await eventually(() => h.stack.prisma.planRun.findUnique({ where: { id: runId } }), (row) => row?.status === 'paused');
    await post(`${runId}/cancel`).expect(202);
    h.release(token);
    expect((await rollback).status).toBe(409);

    const { runId: fullRunId, token: fullToken } = await start();
    const full = post(`${fullRunId}/rollback`).then((res) => res);
    await h.waitFor(fullRunId, (r) => r.status === 'rolling_back' && r.steps.slow.status === 'running');
    expect(await message(`${fullRunId}/pause`)).toBe('a rollback of the whole run is under way: cannot pause');
    expect(await message(`${fullRunId}/resume`)).toBe('a rollback of the whole run is under way: cannot resume');
    await post(`${fullRunId}/cancel`).expect(202);
    h.release(fullToken);
    expect((await full).status).toBe(409);
    await h.waitFor(fullRunId, (r) => r.status === 'cancelled');
  });

  test('approval: only a listed approver decides; reject fails the step; a timeout applies onTimeout', async () => {
    const id = await h.createPlan({
      name: 'approvals',
      steps: [
        { id: 'gate', kind: 'approval', approvers: ['user:alice'], message: 'ship it?' },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: { shipped: true }, dependsOn: ['gate'] },
      ],
    });
    const runId = await h.execute(id);
    await h.waitFor(runId, (r) => r.steps.gate?.status === 'waiting_approval');
    await eventually(async () => h.events.some((e) => e.type === 'plan.approval_required' && (e.data as { runId: string }).runId === runId), Boolean);
    await post(`${runId}/steps/ship/approve`).expect(409);
    await expect(service.decideStep(runId, 'gate', true, 'user:mallory')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.decideStep(runId, 'gate', false, 'user:alice', 'not today')).resolves.toMatchObject({ status: 'failed', decidedBy: 'user:alice' });
    const rejected = await h.waitFor(runId, (r) => r.status === 'failed');
    expect(rejected.steps.gate.error).toMatch(/rejected by user:alice/);
    await post(`${runId}/steps/gate/approve`).expect(409);

    const timed = await h.createPlan({
      name: 'approval-timeout',
      steps: [
        { id: 'gate', kind: 'approval', approvalTimeout: '1s', onTimeout: 'approve' },
        { id: 'ship', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['gate'] },
        { id: 'gate2', kind: 'approval', approvalTimeout: '1s', dependsOn: ['ship'], onFailure: 'continue' },
      ],
    });
    const timedRun = await h.waitFor(await h.execute(timed), (r) => r.status === 'completed');
    expect(timedRun.steps).toMatchObject({ gate: { status: 'completed', decidedBy: 'timeout' }, ship: { status: 'completed' }, gate2: { status: 'failed', error: 'approval timed out' } });
  });
});
