import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { CURRENT_PLAN_BEHAVIOURS } from '../workflows/plan-behaviours';
import { hasRecordedHistory, recordedHistoryFiles, replayRecordedHistories, writeRecordedHistory } from './support/replay';
import { openPlanHarness, type PlanHarness, undo } from './support/plan-harness';
import { eventually } from './support/wait';

// Recorded histories of representative plan runs, replayed against the current workflow code so
// a change that breaks determinism fails `npm test`. Record the scenarios that have no file yet
// with: RECORD_PLAN_HISTORIES=1 npx jest test/plan-replay.test.ts (existing files are kept: they
// are the histories older code wrote, which today's code must still replay; =overwrite replaces them).
// worker-lost.json (a step dispatched again after its worker was SIGKILLed) is recorded by
// test/chaos/worker-kill.test.ts.
const DIR = path.join(__dirname, 'replay-histories');
const RECORD = process.env.RECORD_PLAN_HISTORIES === '1' || process.env.RECORD_PLAN_HISTORIES === 'overwrite';
const OVERWRITE = process.env.RECORD_PLAN_HISTORIES === 'overwrite';

async function recordScenarios(h: PlanHarness): Promise<Record<string, string>> {
  const post = (p: string, body: object = {}) => h.api.post(`/api/v1/plans/runs/${p}`).send(body);
  const runs: Record<string, string> = {};

  const child = await h.createPlan({ name: 'child', steps: [{ id: 'say', kind: 'tool', tool: 'core.echo', args: { v: '{{ input.v }}' } }] });
  const graph = await h.createPlan({
    name: 'graph',
    concurrency: 2,
    steps: [
      { id: 'fetch', kind: 'tool', tool: 'core.echo', args: { n: '{{ input.n }}' } },
      { id: 'p1', kind: 'tool', tool: 'core.echo', args: {} },
      { id: 'p2', kind: 'tool', tool: 'core.echo', args: {} },
      { id: 'check', kind: 'condition', expression: 'steps.fetch.output.n > 5', then: ['big'], else: ['small'], dependsOn: ['fetch'] },
      { id: 'big', kind: 'wait', duration: '50ms', dependsOn: ['check'] },
      { id: 'small', kind: 'tool', tool: 'core.echo', args: {}, dependsOn: ['check'] },
      { id: 'sub', kind: 'sub_plan', planId: child, input: { v: '{{ steps.fetch.output.n }}' }, dependsOn: ['fetch'] },
      { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {}, onFailure: 'continue' },
    ],
  });
  runs.graph = await h.execute(graph, { input: { n: 9 } });
  await h.waitFor(runs.graph, (r) => r.status === 'completed' && r.source === 'database');

  const control = await h.createPlan({
    name: 'control',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: undo('b'), dependsOn: ['a'] },
      { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 500 }, dependsOn: ['b'] },
      { id: 'gate', kind: 'approval', approvers: ['*'], dependsOn: ['slow'] },
      { id: 'late', kind: 'approval', approvalTimeout: '200ms', onTimeout: 'approve', dependsOn: ['gate'] },
    ],
  });
  runs.control = await h.execute(control);
  await h.waitFor(runs.control, (r) => r.steps.slow?.status === 'running');
  await post(`${runs.control}/pause`).expect(200);
  await h.waitFor(runs.control, (r) => r.steps.slow.status === 'completed');
  await post(`${runs.control}/checkpoint`, { name: 'here' }).expect(201);
  const first = (await h.run(runs.control)).state.checkpoints[0].id;
  await post(`${runs.control}/rollback`, { checkpointId: first }).expect(200);
  await post(`${runs.control}/resume`).expect(200);
  await h.waitFor(runs.control, (r) => r.steps.gate?.status === 'waiting_approval');
  await post(`${runs.control}/steps/gate/approve`, { comment: 'ok' }).expect(200);
  await h.waitFor(runs.control, (r) => r.status === 'completed' && r.source === 'database');

  const saga = await h.createPlan({
    name: 'saga',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'b', kind: 'tool', tool: 'core.test.log', args: { id: 'B' }, compensation: { tool: 'core.test.fail', args: {} }, dependsOn: ['a'] },
      { id: 'd', kind: 'tool', tool: 'core.test.fail', args: {}, onFailure: 'rollback', dependsOn: ['b'] },
    ],
  });
  runs.saga = await h.execute(saga);
  await h.waitFor(runs.saga, (r) => r.status === 'rolled_back' && r.source === 'database');

  const cancel = await h.createPlan({
    name: 'cancel',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, dependsOn: ['a'] },
    ],
  });
  runs.cancel = await h.execute(cancel);
  await h.waitFor(runs.cancel, (r) => r.steps.slow?.status === 'running');
  await post(`${runs.cancel}/cancel`).expect(202);
  await h.waitFor(runs.cancel, (r) => r.status === 'cancelled' && r.source === 'database');

  const long = await h.createPlan({
    name: 'long',
    continueAsNewAfter: 2,
    steps: Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, kind: 'tool', tool: 'core.echo', args: { i }, ...(i > 0 ? { dependsOn: [`s${i - 1}`] } : {}) })),
  });
  runs.long = await h.execute(long);
  await h.waitFor(runs.long, (r) => r.status === 'completed' && r.source === 'database');

  // a parent cancelled while its sub-plan runs: both histories (the child's compensation runs first)
  const cancelledChild = await h.createPlan({
    name: 'child-cancelled',
    steps: [
      { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: undo('c1') },
      { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, dependsOn: ['c1'] },
    ],
  });
  const cancelledParent = await h.createPlan({
    name: 'parent-cancelled',
    steps: [
      { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
      { id: 'sub', kind: 'sub_plan', planId: cancelledChild, dependsOn: ['p1'] },
    ],
  });
  runs['sub-plan-cancel-parent'] = await h.execute(cancelledParent);
  runs['sub-plan-cancel-child'] = `plan-${cancelledChild}-1`;
  await h.waitFor(runs['sub-plan-cancel-child'], (r) => r.steps.slow?.status === 'running');
  await post(`${runs['sub-plan-cancel-parent']}/cancel`).expect(202);
  await h.waitFor(runs['sub-plan-cancel-parent'], (r) => r.status === 'cancelled' && r.source === 'database');

  // a sub-plan that rolls itself back fails its step; the parent (plan-level onFailure rollback) rolls back;
  // approvals time out both ways, the rejecting one inside a run that rolls back
  const rollingChild = await h.createPlan({
    name: 'child-rolls-back',
    onFailure: 'rollback',
    steps: [
      { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'RC1' }, compensation: undo('c1') },
      { id: 'bad', kind: 'tool', tool: 'core.test.fail', args: {}, dependsOn: ['c1'] },
    ],
  });
  const failingSub = await h.createPlan({
    name: 'sub-plan-fails',
    onFailure: 'rollback',
    steps: [
      { id: 'p1', kind: 'tool', tool: 'core.test.log', args: { id: 'P1' }, compensation: undo('p1') },
      { id: 'late', kind: 'approval', approvalTimeout: '100ms', onTimeout: 'approve', dependsOn: ['p1'] },
      { id: 'flaky', kind: 'tool', tool: 'core.test.flaky', args: {}, retry: { maximumAttempts: 3, initialInterval: '100ms' }, dependsOn: ['late'] },
      { id: 'sub', kind: 'sub_plan', planId: rollingChild, dependsOn: ['flaky'] },
    ],
  });
  runs['sub-plan-fails'] = await h.execute(failingSub);
  await h.waitFor(runs['sub-plan-fails'], (r) => r.status === 'rolled_back' && r.source === 'database');
  const timeoutRejects = await h.createPlan({
    name: 'approval-timeout-rejects',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'gate', kind: 'approval', approvalTimeout: '100ms', dependsOn: ['a'], onFailure: 'rollback' },
    ],
  });
  runs['approval-timeout-rejects'] = await h.execute(timeoutRejects);
  await h.waitFor(runs['approval-timeout-rejects'], (r) => r.status === 'rolled_back' && r.source === 'database');

  // a sub_plan step's timeout cancels the child and fails the step (patch 'sub-plan-timeout')
  const slowChild = await h.createPlan({
    name: 'child-too-slow',
    steps: [
      { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'TC1' }, compensation: undo('c1') },
      { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, dependsOn: ['c1'] },
    ],
  });
  const timedSub = await h.createPlan({ name: 'sub-plan-timeout', steps: [{ id: 'sub', kind: 'sub_plan', planId: slowChild, timeout: '1s', onFailure: 'continue' }] });
  runs['sub-plan-timeout'] = await h.execute(timedSub);
  await h.waitFor(runs['sub-plan-timeout'], (r) => r.status === 'completed' && r.source === 'database');

  // a sub_plan step with a retry policy re-runs its failed child as a new child run (patch 'sub-plan-retry'),
  // and a wait step that would outlast its timeout fails at the timeout (patch 'wait-step-timeout')
  const failsOnce = await h.createPlan({ name: 'child-fails-once', steps: [{ id: 'once', kind: 'tool', tool: 'core.test.fail_once', args: { token: randomUUID() } }] });
  const retriedSub = await h.createPlan({
    name: 'sub-plan-retry',
    steps: [
      { id: 'sub', kind: 'sub_plan', planId: failsOnce, retry: { maximumAttempts: 2, initialInterval: '100ms' } },
      { id: 'long', kind: 'wait', duration: '10m', timeout: '200ms', onFailure: 'continue', dependsOn: ['sub'] },
    ],
  });
  runs['sub-plan-retry'] = await h.execute(retriedSub);
  await h.waitFor(runs['sub-plan-retry'], (r) => r.status === 'completed' && r.source === 'database');

  // the last step's transitions and the run's end go out in one write (patch 'one-final-write')
  const plain = await h.createPlan({ name: 'final-write', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }, { id: 'b', kind: 'tool', tool: 'core.echo', args: {}, dependsOn: ['a'] }] });
  runs['final-write'] = await h.execute(plain);
  await h.waitFor(runs['final-write'], (r) => r.status === 'completed' && r.source === 'database');

  // a child run cancelled on its own fails its parent's step (patch 'step-cancelled-from-outside-fails')
  const cancelledAlone = await h.createPlan({ name: 'child-cancelled-alone', steps: [{ id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 } }] });
  runs['sub-plan-cancelled-outside'] = await h.execute(await h.createPlan({ name: 'sub-plan-cancelled-outside', steps: [{ id: 'sub', kind: 'sub_plan', planId: cancelledAlone }] }));
  const alone = `plan-${cancelledAlone}-1`;
  await h.waitFor(alone, (r) => r.steps.slow?.status === 'running');
  await post(`${alone}/cancel`).expect(202);
  await h.waitFor(runs['sub-plan-cancelled-outside'], (r) => r.status === 'failed' && r.source === 'database');

  // rollbacks to a checkpoint interrupt an approval and a wait (patches 'rollback-resets-interrupted-steps',
  // 'wait-step-interruptible'), clear the undone approval's decision ('rollback-clears-decisions'), keep the
  // unchosen branch skipped ('rollback-keeps-branch-skips'); a cancel settles a pending one ('rollback-settles-on-cancel')
  const interrupts = await h.createPlan({
    name: 'rollback-interrupts',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'check', kind: 'condition', expression: 'true', then: ['gate'], else: ['no'], dependsOn: ['a'] },
      { id: 'no', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['check'] },
      { id: 'gate', kind: 'approval', approvers: ['*'], dependsOn: ['check'] },
      { id: 'w', kind: 'wait', duration: '10m', dependsOn: ['gate'] },
    ],
  });
  const ri = (runs['rollback-interrupts'] = await h.execute(interrupts));
  const afterCheck = (await h.waitFor(ri, (r) => r.steps.gate?.status === 'waiting_approval')).state.checkpoints.find((c: { position: number }) => c.position === 2).id;
  await post(`${ri}/rollback`, { checkpointId: afterCheck }).expect(200);
  await post(`${ri}/resume`).expect(200);
  await h.waitFor(ri, (r) => r.steps.gate.status === 'waiting_approval');
  await post(`${ri}/steps/gate/approve`).expect(200);
  await h.waitFor(ri, (r) => r.steps.w?.status === 'running');
  await post(`${ri}/rollback`, { checkpointId: afterCheck }).expect(200);
  await post(`${ri}/resume`).expect(200);
  await h.waitFor(ri, (r) => r.steps.gate.status === 'waiting_approval' && r.steps.gate.generation === 2);
  await post(`${ri}/steps/gate/approve`).expect(200);
  await h.waitFor(ri, (r) => r.steps.w?.status === 'running');
  await post(`${ri}/rollback`).expect(200);
  await h.waitFor(ri, (r) => r.status === 'rolled_back' && r.source === 'database');
  // rollback-cancelled.json was recorded when a rollback waited for a tool step in flight; one cancels
  // it now ('rollback-cancels-in-flight'), so the step kept in flight is a sub-plan whose child, once
  // cancelled, holds its compensation until released.
  const heldOnUndo = await h.createPlan({
    name: 'child-held-on-undo',
    steps: [
      { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'C1' }, compensation: { tool: 'core.test.hold', args: { token: '{{ input.token }}' } } },
      { id: 'w', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, dependsOn: ['c1'] },
    ],
  });
  const slowAfterA = await h.createPlan({
    name: 'rollback-cancelled',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'slow', kind: 'sub_plan', planId: heldOnUndo, input: { token: '{{ input.token }}' }, dependsOn: ['a'] },
    ],
  });
  const rcToken = randomUUID();
  const rc = (runs['rollback-cancelled'] = await h.execute(slowAfterA, { input: { token: rcToken } }));
  await h.waitFor(`plan-${heldOnUndo}-1`, (r) => r.steps.w?.status === 'running');
  const afterA = (await h.run(rc)).state.checkpoints.find((c: { position: number }) => c.position === 1).id;
  const pendingRollback = post(`${rc}/rollback`, { checkpointId: afterA }).then((res) => res.status);
  await h.waitFor(rc, (r) => r.status === 'paused');
  await post(`${rc}/cancel`).expect(202);
  h.release(rcToken);
  expect(await pendingRollback).toBe(409);
  await h.waitFor(rc, (r) => r.status === 'cancelled' && r.source === 'database');

  // a rollback cancels the tool and sub-plan steps in flight (patch 'rollback-cancels-in-flight'): to a
  // checkpoint, the tool step goes back to pending and runs again on resume; of the whole run, the
  // sub-plan's child is cancelled (and compensates its own steps) before the parent's compensations
  const rollbackChild = await h.createPlan({
    name: 'child-cancelled-by-rollback',
    steps: [
      { id: 'c1', kind: 'tool', tool: 'core.test.log', args: { id: 'RCC1' }, compensation: undo('c1') },
      { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 60_000 }, dependsOn: ['c1'] },
    ],
  });
  const heldToken = randomUUID();
  const inFlight = await h.createPlan({
    name: 'rollback-cancels-in-flight',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'held', kind: 'tool', tool: 'core.test.hold', args: { token: heldToken }, compensation: { tool: 'core.test.log', args: { undo: 'held' } }, dependsOn: ['a'] },
      { id: 'sub', kind: 'sub_plan', planId: rollbackChild, dependsOn: ['held'] },
    ],
  });
  const rif = (runs['rollback-cancels-in-flight'] = await h.execute(inFlight));
  const beforeHeld = (await h.waitFor(rif, (r) => r.steps.held?.status === 'running')).state.checkpoints.find((c: { position: number }) => c.position === 1).id;
  await post(`${rif}/rollback`, { checkpointId: beforeHeld }).expect(200);
  h.release(heldToken);
  await post(`${rif}/resume`).expect(200);
  await h.waitFor(`plan-${rollbackChild}-1`, (r) => r.steps.slow?.status === 'running');
  await post(`${rif}/rollback`).expect(200);
  await h.waitFor(rif, (r) => r.status === 'rolled_back' && r.source === 'database');

  // a rollback of the whole run cancels the wait and the approval in flight (patch 'rollback-cancels-waits'):
  // both end cancelled, with no checkpoint after them, and only the completed step is compensated
  const waits = await h.createPlan({
    name: 'rollback-cancels-waits',
    steps: [
      { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
      { id: 'w', kind: 'wait', duration: '10m', dependsOn: ['a'] },
      { id: 'gate', kind: 'approval', approvers: ['*'], dependsOn: ['a'] },
    ],
  });
  const rcw = (runs['rollback-cancels-waits'] = await h.execute(waits));
  await h.waitFor(rcw, (r) => r.steps.w?.status === 'running' && r.steps.gate?.status === 'waiting_approval');
  await post(`${rcw}/rollback`).expect(200);
  await h.waitFor(rcw, (r) => r.status === 'rolled_back' && r.source === 'database');

  // a step failing with onFailure rollback cancels the tool and sub-plan steps in flight (patch
  // 'failure-rollback-cancels-in-flight'): the held tool step is cancelled, the sub-plan's child is
  // cancelled and compensates its own step, then the run compensates and ends rolled_back
  /** Step `a`, then beside each other `held` (until `heldToken` is released; undone by a log) and `bad`, which fails with onFailure rollback once `failToken` is released. */
  const failsBesideHeld = (heldToken: string, failToken: string) => [
    { id: 'a', kind: 'tool', tool: 'core.test.log', args: { id: 'A' }, compensation: undo('a') },
    { id: 'held', kind: 'tool', tool: 'core.test.hold', args: { token: heldToken }, compensation: { tool: 'core.test.log', args: { undo: 'held' } }, dependsOn: ['a'] },
    { id: 'bad', kind: 'tool', tool: 'core.test.hold', args: { token: failToken, fail: true }, retry: { maximumAttempts: 1 }, onFailure: 'rollback', dependsOn: ['a'] },
  ];
  const failToken = randomUUID();
  const failing = await h.createPlan({
    name: 'failure-rollback-cancels-in-flight',
    steps: [...failsBesideHeld(randomUUID(), failToken), { id: 'sub', kind: 'sub_plan', planId: rollbackChild, dependsOn: ['a'] }],
  });
  const frc = (runs['failure-rollback-cancels-in-flight'] = await h.execute(failing));
  const childOfFailing = await eventually(() => h.stack.prisma.planRun.findFirst({ where: { parentRunId: frc } }), Boolean);
  await h.waitFor(childOfFailing!.id, (r) => r.steps.slow?.status === 'running');
  await eventually(async () => h.holding(frc), (calls) => calls.length === 2);
  h.release(failToken);
  await h.waitFor(frc, (r) => r.status === 'rolled_back' && r.source === 'database');

  // the same failure with a tool step in flight, recorded by code without 'failure-rollback-cancels-in-flight'
  // (its stamps lack it): the rollback waited for the held step, which completed once released and was
  // compensated. Today's code must not cancel it on replay (=overwrite would record a cancellation instead).
  const awaitedToken = randomUUID();
  const awaitedFailToken = randomUUID();
  const awaiting = await h.createPlan({ name: 'failure-rollback-awaits-in-flight', steps: failsBesideHeld(awaitedToken, awaitedFailToken) });
  const fra = (runs['failure-rollback-awaits-in-flight'] = await h.execute(awaiting));
  await eventually(async () => h.holding(fra), (calls) => calls.length === 2);
  h.release(awaitedFailToken);
  await h.waitFor(fra, (r) => r.steps.bad?.status === 'failed');
  h.release(awaitedToken);
  await h.waitFor(fra, (r) => r.status === 'rolled_back' && r.source === 'database');

  // admin approves and rejects approval steps that do not name it: overrides, recorded as such (patch 'admin-overrides-approvals')
  const overridden = await h.createPlan({
    name: 'admin-overrides-approvals',
    steps: [
      { id: 'gate', kind: 'approval', approvers: ['user:alice'] },
      { id: 'after', kind: 'tool', tool: 'core.test.log', args: {}, dependsOn: ['gate'] },
      { id: 'veto', kind: 'approval', approvers: ['user:carol'], onFailure: 'continue', dependsOn: ['after'] },
    ],
  });
  const ao = (runs['admin-overrides-approvals'] = await h.execute(overridden));
  await h.waitFor(ao, (r) => r.steps.gate?.status === 'waiting_approval');
  await post(`${ao}/steps/gate/approve`, { comment: 'alice is away' }).expect(200);
  await h.waitFor(ao, (r) => r.steps.veto?.status === 'waiting_approval');
  await post(`${ao}/steps/veto/reject`).expect(200);
  await h.waitFor(ao, (r) => r.status === 'completed' && r.source === 'database');

  // outputs of 400 KB: each step's bookkeeping is written by its own local activity, not in the next
  // tool's input, and the third output takes the run past its output budget: OUTPUT_LIMIT (patch 'payload-limits')
  const big = (id: string, after?: string) => ({ id, kind: 'tool', tool: 'core.test.bytes', args: { bytes: 400_000 }, ...(after ? { dependsOn: [after] } : {}) });
  runs['payload-limits'] = await h.execute(await h.createPlan({ name: 'payload-limits', steps: [big('b1'), big('b2', 'b1'), big('b3', 'b2'), big('b4', 'b3')] }));
  await h.waitFor(runs['payload-limits'], (r) => r.status === 'failed' && r.source === 'database', 60_000);

  // runs whose starter stamped the behaviours into their input: the same code paths, no patch markers
  runs['stamped-final-write'] = await h.execute(plain);
  runs['stamped-sub-plan-timeout'] = await h.execute(timedSub);
  const failsOnceMore = await h.createPlan({ name: 'child-fails-once', steps: [{ id: 'once', kind: 'tool', tool: 'core.test.fail_once', args: { token: randomUUID() } }] });
  runs['stamped-sub-plan-retry'] = await h.execute(await h.createPlan({
    name: 'stamped-sub-plan-retry',
    steps: [
      { id: 'sub', kind: 'sub_plan', planId: failsOnceMore, retry: { maximumAttempts: 2, initialInterval: '100ms' } },
      { id: 'long', kind: 'wait', duration: '10m', timeout: '200ms', onFailure: 'continue', dependsOn: ['sub'] },
    ],
  }));
  for (const name of ['stamped-final-write', 'stamped-sub-plan-timeout', 'stamped-sub-plan-retry']) {
    await h.waitFor(runs[name]!, (r) => r.status === 'completed' && r.source === 'database');
  }
  return runs;
}

describe('plan workflow determinism', () => {
  (RECORD ? test : test.skip)('records representative histories', async () => {
    const h = await openPlanHarness();
    try {
      const runs = await recordScenarios(h);
      fs.mkdirSync(DIR, { recursive: true });
      for (const [name, workflowId] of Object.entries(runs)) {
        if (!OVERWRITE && hasRecordedHistory(DIR, name)) continue;
        writeRecordedHistory(DIR, name, workflowId, await h.stack.client.workflow.getHandle(workflowId).fetchHistory());
      }
    } finally {
      await h.close();
    }
  }, 300_000);

  test('every recorded history replays without a determinism error', async () => {
    const files = recordedHistoryFiles(DIR);
    expect(files).toEqual(expect.arrayContaining(['cancel.json', 'control.json', 'graph.json', 'long.json', 'saga.json', 'sub-plan-cancel-parent.json', 'sub-plan-cancel-child.json', 'sub-plan-fails.json', 'approval-timeout-rejects.json', 'sub-plan-timeout.json', 'sub-plan-retry.json', 'worker-lost.json', 'final-write.json', 'sub-plan-cancelled-outside.json', 'rollback-interrupts.json', 'rollback-cancelled.json', 'payload-limits.json.gz', 'rollback-cancels-in-flight.json', 'rollback-cancels-waits.json', 'admin-overrides-approvals.json', 'failure-rollback-cancels-in-flight.json', 'failure-rollback-awaits-in-flight.json']));
    // Large histories are stored gzipped: none takes more than 1 MB of the repository.
    expect(files.filter((f) => fs.statSync(path.join(DIR, f)).size > 1024 * 1024)).toEqual([]);
    const results = await replayRecordedHistories(DIR, 'plan-replay');
    expect(results).toEqual(results.map(({ workflowId }) => ({ workflowId, error: undefined })));
    expect(results).toHaveLength(files.length);
  }, 120_000);

  test('stamped runs record no patch markers, and a stamped run an unstamping worker ran (markers and all) still replays', async () => {
    const stamped = recordedHistoryFiles(DIR).filter((f) => f.startsWith('stamped-'));
    expect(stamped).toEqual(['stamped-final-write.json', 'stamped-sub-plan-retry.json', 'stamped-sub-plan-timeout.json']);
    for (const file of stamped) {
      const events = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')).history.events as { eventType: string }[];
      expect({ file, markers: events.filter((e) => /MARKER_RECORDED|UPSERT_WORKFLOW_SEARCH_ATTRIBUTES/.test(e.eventType) && !JSON.stringify(e).includes('core_local_activity')).length }).toEqual({ file, markers: 0 });
    }
    // final-write.json was run by a worker that asked patched(): the same history, as if a stamping starter had begun it.
    const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(DIR, 'final-write.json'), 'utf8'));
    const started = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
    started.data = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(started.data, 'base64').toString()), behaviours: CURRENT_PLAN_BEHAVIOURS })).toString('base64');
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../workflows/index.ts'), replayName: 'plan-replay-stamped' }, [{ workflowId, history: temporal.api.history.v1.History.fromObject(history) }])) {
      results.push(result.error?.message);
    }
    expect(results).toEqual([undefined]);
  }, 120_000);
});
