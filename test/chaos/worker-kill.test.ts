import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createPlanService, type PlanService } from '../../activities/plans/plan-service';
import { newId } from '../../platform/ids';
import { stopChild } from '../../platform/local/temporal-dev-server';
import { chaosKnob, seededRandom } from '../support/chaos-knobs';
import { writeRecordedHistory } from '../support/replay';
import { openTestStack, type TestStack } from '../support/test-stack';
import { eventually } from '../support/wait';
import { killHard, spawnWorker } from '../support/worker-process';

const PLANS = chaosKnob('CHAOS_PLANS', 50);
const KILLS = chaosKnob('CHAOS_KILLS', 3);
const STEPS = ['note', 'task', 'memo'] as const;
/** Generous bounds: a kill costs a heartbeat timeout (5 s) plus a worker start on a busy machine. */
const DRAIN_MS = 120_000 + PLANS * 2_000 + KILLS * 60_000;

/**
 * `KILLS` distinct progress marks (counts of step attempts started), spread over the middle of
 * the run, at which the worker is killed.
 */
function killMarks(next: () => number, totalSteps: number): number[] {
  const marks = Array.from({ length: KILLS }, () => Math.floor(totalSteps * (0.1 + 0.75 * next())));
  marks.sort((a, b) => a - b);
  for (let i = 1; i < marks.length; i++) marks[i] = Math.max(marks[i]!, marks[i - 1]! + 1);
  return marks;
}

describe('chaos: workers killed with SIGKILL while plans with side effects run', () => {
  let stack: TestStack;
  let plans: PlanService;
  const workers: ChildProcess[] = [];
  const tag = `chaos-${newId(6)}`;
  const slowTaskTool = `custom.${tag.replace('-', '_')}_task`;
  beforeAll(async () => {
    stack = await openTestStack();
    plans = createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools });
    // A custom tool (QuickJS sandbox) whose side effect lands before its slow part: a kill in
    // that window leaves the task row written but the activity unfinished, so its retry
    // repeats the create with the same idempotency key.
    await stack.tools.registerCustomTool(`chaos${newId(5)}`, {
      name: slowTaskTool.slice('custom.'.length),
      description: 'creates a task, then takes a while',
      requiresApproval: false,
      allowedTools: ['core.tasks.create', 'core.wait'],
      parameters: { type: 'object' },
      code: "const task = await tools.call('core.tasks.create', { title: args.title }); await tools.call('core.wait', { ms: args.ms }); return task;",
    });
  });
  // Each test kills the worker it started, so none may outlive its test.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => stopChild(w, 5000)));
  });
  afterAll(() => stack.close());

  test(`${PLANS} plans complete across ${KILLS} worker kills; every side effect happens exactly once and every run is recorded`, async () => {
    const random = seededRandom('worker-kill');
    const burst = `${tag}-burst`;
    const planIds: string[] = [];
    for (let i = 0; i < PLANS; i++) {
      const plan = await plans.createPlan(
        {
          name: `${burst} ${i}`,
          concurrency: 4, onFailure: 'fail', continueAsNewAfter: 500, maxConcurrentRuns: 10,
          steps: [
            { id: 'note', kind: 'tool', tool: 'core.notes.create', args: { title: `${burst} ${i} note` }, dependsOn: [] },
            { id: 'task', kind: 'tool', tool: slowTaskTool, args: { title: `${burst} ${i} task`, ms: 200 + Math.floor(random.next() * 800) }, dependsOn: ['note'] },
            { id: 'memo', kind: 'tool', tool: 'core.notes.create', args: { title: `${burst} ${i} memo`, content: '{{ steps.task.output.id }}' }, dependsOn: ['task'] },
          ],
        },
        'admin',
      );
      planIds.push(plan.id);
    }
    const marks = killMarks(random.next, PLANS * STEPS.length);
    console.log(`[chaos] worker-kill: ${PLANS} plans, kills after ${marks.join(', ')} of ${PLANS * STEPS.length} step attempts`);

    workers.push(spawnWorker(stack.taskQueue));
    const started = Date.now();
    const runIds: string[] = [];
    for (const id of planIds) runIds.push((await plans.executePlan(id, {}, 'admin')).runId);
    const attemptsStarted = () => stack.prisma.planHistory.count({ where: { planId: { in: planIds }, event: 'plan.step_attempt' } });
    for (const mark of marks) {
      await eventually(attemptsStarted, (n) => n >= mark, DRAIN_MS);
      await killHard(workers.at(-1)!);
      workers.push(spawnWorker(stack.taskQueue));
    }
    const runs = await eventually(
      () => stack.prisma.planRun.findMany({ where: { id: { in: runIds } } }),
      (rows) => rows.length === PLANS && rows.every((r) => ['completed', 'failed', 'cancelled', 'rolled_back'].includes(r.status)),
      DRAIN_MS,
    );
    const elapsedMs = Date.now() - started;

    // No run lost: every run finished, and finished well.
    expect(runs.filter((r) => r.status !== 'completed').map((r) => ({ id: r.id, status: r.status, error: r.error }))).toEqual([]);
    for (const runId of runIds) expect((await plans.getRun(runId)).status).toBe('completed');

    // Every side effect exactly once: one row per (plan, step) in PostgreSQL.
    const notes = await stack.prisma.note.findMany({ where: { title: { startsWith: `${burst} ` } } });
    const tasks = await stack.prisma.task.findMany({ where: { title: { startsWith: `${burst} ` } } });
    const countBy = (titles: string[]) => titles.reduce((m, t) => m.set(t, (m.get(t) ?? 0) + 1), new Map<string, number>());
    const expected = new Map(planIds.flatMap((_, i) => STEPS.map((s) => [`${burst} ${i} ${s}`, 1] as const)));
    expect(countBy([...notes, ...tasks].map((r) => r.title))).toEqual(expected);
    // The output a retried step returned is the row written first (the memo names that task).
    const taskIdByPlan = new Map(tasks.map((t) => [t.title.split(' ')[1], t.id]));
    for (const memo of notes.filter((n) => n.title.endsWith(' memo'))) expect(memo.content).toBe(taskIdByPlan.get(memo.title.split(' ')[1]));

    // History: each step started and completed once per run, the run completed once.
    const history = await stack.prisma.planHistory.findMany({ where: { runId: { in: runIds } } });
    for (const runId of runIds) {
      const rows = history.filter((h) => h.runId === runId);
      for (const step of STEPS) {
        expect(rows.filter((h) => h.stepId === step && h.event === 'plan.step_started')).toHaveLength(1);
        expect(rows.filter((h) => h.stepId === step && h.event === 'plan.step_completed')).toHaveLength(1);
      }
      expect(rows.filter((h) => h.stepId === null && h.event === 'plan.completed')).toHaveLength(1);
    }
    const attempts = history.filter((h) => h.event === 'plan.step_attempt');
    const detailsOf = (h: (typeof attempts)[number]) => h.details as { attempt: number; idempotencyKey: string; redispatch?: number };
    const retried = attempts.filter((h) => detailsOf(h).attempt > 1 || detailsOf(h).redispatch !== undefined);
    const redispatched = new Set(attempts.filter((h) => detailsOf(h).redispatch !== undefined).map((h) => `${h.runId}/${h.stepId}`));
    // Every attempt of a step (an attempt killed before it wrote its row leaves none) carries the step's one idempotency key.
    for (const a of attempts) expect(detailsOf(a).idempotencyKey).toBe(`${a.runId}/${a.stepId}/0`);
    // Retries that repeated a side effect already done (its row is older than the attempt): the key made each a no-op.
    const rowOf = new Map([...notes, ...tasks].map((r) => [r.title, r]));
    const planIndex = new Map(planIds.map((id, i) => [id, i]));
    const repeated = retried.filter((a) => rowOf.get(`${burst} ${planIndex.get(a.planId)} ${a.stepId}`)!.createdAt < a.createdAt);
    console.log(
      `[chaos] worker-kill: ${PLANS} plans (${PLANS * STEPS.length} side-effecting steps) finished in ${(elapsedMs / 1000).toFixed(1)} s across ${KILLS} SIGKILLs; ` +
        `${retried.length} step attempts were retries (${attempts.length} attempts in all), ${repeated.length} of them repeated a side effect already written; ` +
        `${redispatched.size} steps exhausted their retries on lost workers and were dispatched again`,
    );
  }, DRAIN_MS + 60_000);

  test('a step whose every attempt dies with its worker is dispatched again with the same idempotency key, not failed', async () => {
    const plan = await plans.createPlan(
      {
        name: `${tag} lost`,
        concurrency: 1, onFailure: 'fail', continueAsNewAfter: 500, maxConcurrentRuns: 1,
        steps: [
          { id: 'only', kind: 'tool', tool: slowTaskTool, args: { title: `${tag} lost`, ms: 3000 }, retry: { maximumAttempts: 1 }, dependsOn: [] },
          { id: 'after', kind: 'tool', tool: 'core.echo', args: { task: '{{ steps.only.output.id }}' }, dependsOn: ['only'] },
        ],
      },
      'admin',
    );
    workers.push(spawnWorker(stack.taskQueue));
    const { runId } = await plans.executePlan(plan.id, {}, 'admin');
    // Kill once the side effect is written and the step's only attempt is still running.
    await eventually(() => stack.prisma.task.count({ where: { title: `${tag} lost` } }), (n) => n === 1, 60_000);
    await killHard(workers.at(-1)!);
    workers.push(spawnWorker(stack.taskQueue));

    const run = await eventually(() => plans.getRun(runId), (r) => ['completed', 'failed'].includes(r.status) && r.source === 'database', 90_000);
    expect(run.status).toBe('completed');
    const tasks = await stack.prisma.task.findMany({ where: { title: `${tag} lost` } });
    expect(tasks).toHaveLength(1);
    expect(run.steps.after?.output).toEqual({ task: tasks[0]!.id });
    const attempts = await stack.prisma.planHistory.findMany({ where: { runId, stepId: 'only', event: 'plan.step_attempt' }, orderBy: { id: 'asc' } });
    expect(attempts.map((a) => a.details)).toEqual([
      { attempt: 1, idempotencyKey: `${runId}/only/0` },
      { attempt: 1, idempotencyKey: `${runId}/only/0`, redispatch: 1 },
    ]);
    if (process.env.RECORD_PLAN_HISTORIES === '1') {
      writeRecordedHistory(path.join(__dirname, '..', 'replay-histories'), 'worker-lost', runId, await stack.client.workflow.getHandle(runId).fetchHistory());
    }
  }, 180_000);

  test('a worker killed during a rollback\'s compensation: the next worker finishes it at once, and the undo happens exactly once', async () => {
    const plan = await plans.createPlan(
      {
        name: `${tag} undo`,
        concurrency: 1, onFailure: 'rollback', continueAsNewAfter: 500, maxConcurrentRuns: 1,
        steps: [
          { id: 'a', kind: 'tool', tool: 'core.notes.create', args: { title: `${tag} undo source` }, compensation: { tool: slowTaskTool, args: { title: `${tag} undo`, ms: 3000 } }, dependsOn: [] },
          { id: 'boom', kind: 'tool', tool: 'core.tasks.get', args: { id: 'does-not-exist' }, dependsOn: ['a'] },
        ],
      },
      'admin',
    );
    workers.push(spawnWorker(stack.taskQueue));
    const { runId } = await plans.executePlan(plan.id, {}, 'admin');
    // Kill once the compensation's side effect is written and it is still running.
    await eventually(() => stack.prisma.task.count({ where: { title: `${tag} undo` } }), (n) => n === 1, 60_000);
    await killHard(workers.at(-1)!);
    workers.push(spawnWorker(stack.taskQueue));

    // Well inside the compensation's 5-minute start-to-close timeout: the heartbeat showed the loss.
    const run = await eventually(() => plans.getRun(runId), (r) => ['rolled_back', 'failed', 'completed'].includes(r.status) && r.source === 'database', 90_000);
    expect(run.status).toBe('rolled_back');
    expect(run.steps.a?.status).toBe('compensated');
    expect(await stack.prisma.task.count({ where: { title: `${tag} undo` } })).toBe(1);
  }, 180_000);
});
