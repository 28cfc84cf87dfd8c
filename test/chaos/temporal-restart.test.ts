import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { newId } from '../../platform/ids';
import { stopChild } from '../../platform/local/temporal-dev-server';
import { chaosKnob } from '../support/chaos-knobs';
import { startOwnTemporal, type OwnTemporal } from '../support/own-temporal';
import { openTestStack, type TestStack } from '../support/test-stack';
import { buildTriggerApp } from '../support/trigger-app';
import { eventually } from '../support/wait';
import { spawnWorker } from '../support/worker-process';

const INTERVAL_S = 5;
/** Temporal's smallest catch-up window; the outage is made longer than it. */
const SHORT_WINDOW_S = 10;
const OUTAGE_S = chaosKnob('CHAOS_OUTAGE_S', 25);
const RUNS = chaosKnob('CHAOS_RESTART_PLANS', 6);
/** CHAOS_TEMPORAL_CRASH=1 kills the server with SIGKILL instead of stopping it with SIGTERM. */
const CRASH = chaosKnob('CHAOS_TEMPORAL_CRASH', 0) === 1;

/** The nominal (scheduled) time Temporal appends to a scheduled run's workflow id (`<scheduleId>-<RFC 3339>`). */
function nominalTime(workflowId: string, scheduleId: string): number {
  return Date.parse(workflowId.slice(scheduleId.length + 1));
}

describe('chaos: the (file-backed) Temporal server stopped and restarted while plans run and schedules are due', () => {
  let stack: TestStack;
  let server: OwnTemporal;
  let client: Client;
  let worker: ChildProcess;
  beforeAll(async () => {
    stack = await openTestStack();
    server = await startOwnTemporal();
    client = new Client({ connection: await Connection.connect({ address: server.address }), namespace: 'default' });
  });
  afterAll(async () => {
    if (worker) await stopChild(worker, 5000);
    await client?.connection.close();
    await server?.close();
    await stack.close();
  });

  test(`plans in flight finish, and missed firings follow each schedule's catch-up window (outage ${OUTAGE_S} s)`, async () => {
    const taskQueue = `chaos-restart-${newId(6)}`;
    // The worker is a real process that stays up through the outage, as it would in production.
    worker = spawnWorker(taskQueue, server.address);
    const t = await buildTriggerApp(stack, { client, taskQueue });
    const tag = `restart-${newId(6)}`;
    const plan = await t.api
      .post('/api/v1/plans')
      .send({
        name: tag, maxConcurrentRuns: RUNS,
        steps: [
          { id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 8000 } },
          { id: 'task', kind: 'tool', tool: 'core.tasks.create', args: { title: `${tag} {{ input.n }}` }, dependsOn: ['slow'] },
        ],
      })
      .expect(201);
    const trigger = async (name: string, catchupWindowSeconds: number, overlap: string) =>
      (await t.api
        .post('/api/v1/triggers')
        .send({ name, type: 'schedule', config: { intervalSeconds: INTERVAL_S, catchupWindowSeconds, overlap }, action: { kind: 'tool', tool: 'core.echo', args: { name } } })
        .expect(201)).body.id as string;
    const covering = await trigger(`${tag} covering`, 3600, 'allow_all');
    const coveringSkip = await trigger(`${tag} covering skip`, 3600, 'skip');
    const short = await trigger(`${tag} short`, SHORT_WINDOW_S, 'allow_all');
    const triggers = [covering, coveringSkip, short];
    const fired = async (triggerId: string) =>
      (await stack.prisma.triggerHistory.findMany({ where: { triggerId } })).map((r) => ({ at: nominalTime(r.workflowId, `trigger-${triggerId}`), status: r.status }));
    await eventually(() => Promise.all(triggers.map(fired)), (all) => all.every((rows) => rows.some((r) => r.status === 'succeeded')), 60_000);

    const runIds: string[] = [];
    for (let n = 0; n < RUNS; n++) runIds.push((await t.api.post(`/api/v1/plans/${plan.body.id}/execute`).send({ input: { n } }).expect(202)).body.runId);
    await eventually(
      () => stack.prisma.planHistory.count({ where: { runId: { in: runIds }, stepId: 'slow', event: 'plan.step_attempt' } }),
      (n) => n === RUNS,
      60_000,
    );
    // Stop while every run's slow step is in flight, just after the schedules' latest firing has
    // finished (so no action is running and the next one is due during the outage).
    const interval = INTERVAL_S * 1000;
    await eventually(
      async () => ({ now: Date.now(), rows: await Promise.all(triggers.map(fired)) }),
      ({ now, rows }) => now % interval <= interval * 0.6 && rows.every((r) => r.some((f) => f.at === now - (now % interval) && f.status === 'succeeded') && r.every((f) => f.status !== 'running')),
      90_000,
    );
    const stoppedAt = Date.now();
    await server.stop(CRASH);
    // The outage itself is the fault under test: it lasts OUTAGE_S of wall-clock time.
    await eventually(async () => Date.now(), (now) => now >= stoppedAt + OUTAGE_S * 1000, OUTAGE_S * 1000 + 5000);
    const restartedAt = Date.now();
    await server.start();

    // Everything resumes: every run completes, each side effect exactly once.
    const runs = await eventually(
      () => stack.prisma.planRun.findMany({ where: { id: { in: runIds } } }),
      (rows) => rows.every((r) => ['completed', 'failed', 'cancelled', 'rolled_back'].includes(r.status)),
      120_000,
    );
    expect(runs.map((r) => r.status)).toEqual(runIds.map(() => 'completed'));
    const tasks = await stack.prisma.task.findMany({ where: { title: { startsWith: `${tag} ` } } });
    expect(tasks.map((r) => r.title).sort()).toEqual(runIds.map((_, n) => `${tag} ${n}`).sort());

    // The firings that fell due while the server was down.
    const missed: number[] = [];
    for (let at = stoppedAt - (stoppedAt % interval) + interval; at < restartedAt; at += interval) missed.push(at);
    expect(missed.length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_S / INTERVAL_S) - 1);
    const during = (rows: { at: number }[]) => rows.filter((r) => r.at > stoppedAt && r.at < restartedAt).map((r) => r.at).sort();
    // Covering window (1 h), overlap allow_all: each missed firing runs once after the restart.
    const coveringRows = await eventually(() => fired(covering), (rows) => missed.every((at) => rows.some((r) => r.at === at && r.status === 'succeeded')), 60_000);
    expect(during(coveringRows)).toEqual(missed);
    // Short window (10 s): the schedule fires again after the restart, but a firing that was
    // already older than its window when the server came back is skipped, never run late.
    const shortRows = await eventually(() => fired(short), (rows) => rows.some((r) => r.at > restartedAt && r.status === 'succeeded'), 60_000);
    const stale = missed.filter((at) => at < restartedAt - SHORT_WINDOW_S * 1000);
    expect(stale.length).toBeGreaterThan(0);
    expect(during(shortRows).filter((at) => stale.includes(at))).toEqual([]);
    // Covering window, overlap skip (the default): the catch-up never runs a burst: at most the
    // first missed firing runs, the others would overlap it and are skipped. (None runs when
    // Temporal's scheduler had not yet noticed that the last run before the outage finished.)
    const skipRows = await eventually(() => fired(coveringSkip), (rows) => rows.some((r) => r.at > restartedAt && r.status === 'succeeded'), 60_000);
    expect(missed.slice(0, 1)).toEqual(expect.arrayContaining(during(skipRows)));

    const recent = missed.filter((at) => !stale.includes(at));
    const attempts = await stack.prisma.planHistory.findMany({ where: { runId: { in: runIds }, event: 'plan.step_attempt' } });
    const retries = attempts.length - new Set(attempts.map((a) => `${a.runId}/${a.stepId}`)).size;
    console.log(
      `[chaos] temporal-restart: ${CRASH ? 'SIGKILL' : 'SIGTERM'}, outage ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s; ${RUNS} runs in flight all completed (${retries} step attempts retried); ` +
        `${missed.length} firings missed: 1 h window + allow_all ran all ${missed.length}, 1 h window + skip ran ${during(skipRows).length}, ` +
        `10 s window skipped all ${stale.length} stale ones and ran ${during(shortRows).filter((at) => recent.includes(at)).length} of the ${recent.length} still inside it`,
    );
    for (const id of triggers) await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  }, 300_000 + OUTAGE_S * 1000);
});
