import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { openEventBus } from '../../activities/events/open-event-bus';
import type { OwnPilotEvent } from '../../activities/events/event-types';
import { createPrisma, type PrismaClient } from '../../platform/database';
import { newId } from '../../platform/ids';
import { freePort } from '../../platform/local/ports';
import { createLogger } from '../../platform/logger';
import { listenForNotifications } from '../../platform/pg-notify-listener';
import { migrate } from '../../prisma/migrate';
import { startAppProcess, type AppProcess } from '../support/app-process';
import { startPostgresProcess, type PostgresProcess } from '../support/postgres-process';
import { stackInfo } from '../support/stack-info';
import { isolatedAppEnv } from '../support/isolated-app-env';
import { eventually } from '../support/wait';

/** Plans run through the outage (CHAOS_PG_PLANS raises it for a longer run by hand). */
const PLANS = Number(process.env.CHAOS_PG_PLANS ?? 6);
/** Tool steps per plan, each a short core.wait, so runs are mid-flight when PostgreSQL stops. */
const STEPS = Number(process.env.CHAOS_PG_STEPS ?? 4);

jest.setTimeout(240_000);

// PostgreSQL of this file's own (stopped and restarted here), the real API and worker processes
// on it, and the run's Temporal server.
describe('chaos: PostgreSQL stops for a few seconds mid-run', () => {
  let dir: string;
  let port: number;
  let pgProc: PostgresProcess;
  let databaseUrl: string;
  let prisma: PrismaClient;
  let temporal: Client;
  let api: AppProcess;
  let worker: AppProcess;
  let apiUrl: string;
  let adminKey: string;
  const auth = () => ({ authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' });
  const startPg = async () => {
    pgProc = await startPostgresProcess(path.join(dir, 'pg'), port);
  };
  const get = (p: string) => fetch(`${apiUrl}${p}`, { headers: auth() });
  const post = (p: string, body: unknown) => fetch(`${apiUrl}${p}`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
  /** LISTEN connections on the database, by statement (one per process and channel when healthy). */
  const listeners = async () => {
    const rows = await prisma.$queryRaw<{ query: string; n: bigint }[]>`
      SELECT query, count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %' GROUP BY query ORDER BY query`;
    return Object.fromEntries(rows.map((r) => [r.query, Number(r.n)]));
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-chaos-pg-'));
    fs.chmodSync(dir, 0o755);
    port = await freePort();
    await startPg();
    databaseUrl = pgProc.databaseUrl;
    await migrate(databaseUrl);
    prisma = createPrisma(databaseUrl, 3);
    const isolated = await isolatedAppEnv(databaseUrl, dir, 'chaos-pg');
    ({ apiUrl, adminKey } = isolated);
    temporal = new Client({ connection: await Connection.connect({ address: stackInfo().temporalAddress }), namespace: isolated.namespace });
    const { env } = isolated;
    [worker, api] = await Promise.all([startAppProcess('workers/main.ts', env, 'worker ready'), startAppProcess('api/main.ts', env, 'api ready')]);
  });
  afterAll(async () => {
    for (const p of [api, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await prisma?.$disconnect();
    await temporal?.connection.close();
    await pgProc?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs complete with the same history as an undisturbed run; the API answers 503 DATABASE_UNAVAILABLE and /health degraded meanwhile', async () => {
    // A chain, so each run is still in flight for a while when PostgreSQL stops.
    const steps = Array.from({ length: STEPS }, (_, i) => ({ id: `s${i}`, kind: 'tool', tool: 'core.wait', args: { ms: 400 }, ...(i > 0 ? { dependsOn: [`s${i - 1}`] } : {}) }));
    const created = await post('/api/v1/plans', { name: 'chaos-pg', steps, maxConcurrentRuns: 1000 });
    expect(created.status).toBe(201);
    const planId = ((await created.json()) as { id: string }).id;
    const execute = async () => {
      const res = await post(`/api/v1/plans/${planId}/execute`, {});
      expect(res.status).toBe(202);
      return ((await res.json()) as { runId: string }).runId;
    };
    /** A run's history as (sequence, step, event) lines; retries add only plan.step_attempt rows, which are left out. */
    const historyOf = async (runId: string) =>
      (await prisma.planHistory.findMany({ where: { runId, event: { not: 'plan.step_attempt' } }, orderBy: { sequence: 'asc' } })).map((r) => `${r.sequence} ${r.stepId ?? '-'} ${r.event}`);
    const finished = async (runIds: string[]) => prisma.planRun.findMany({ where: { id: { in: runIds } }, select: { id: true, status: true } });

    // The reference: one run with nothing disturbed.
    const baselineRun = await execute();
    await temporal.workflow.getHandle(baselineRun).result();
    const baseline = await eventually(() => historyOf(baselineRun), (h) => h.some((l) => l.endsWith('plan.completed')));
    const listening = await listeners();
    expect(Object.values(listening).every((n) => n >= 1)).toBe(true);

    const runIds = await Promise.all(Array.from({ length: PLANS }, execute));
    await eventually(() => prisma.planHistory.count({ where: { runId: { in: runIds }, event: 'plan.step_completed' } }), (n) => n >= 1);
    await pgProc.stop();
    const stoppedAt = Date.now();

    // While it is down: a clear 503 on API routes (no stack, no internals), /health degraded.
    const during = await eventually(() => get('/api/v1/plans'), (r) => r.status === 503);
    expect(during.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await during.json()) as { error: { code: string; message: string; details: { requestId: string } } };
    expect(body.error).toEqual({ code: 'DATABASE_UNAVAILABLE', message: expect.any(String), details: { requestId: expect.any(String) } });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|Prisma|127\.0\.0\.1/);
    const health = await get('/health');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'degraded', postgres: { ok: false }, temporal: { ok: true } });
    // Stay down for a few seconds: longer than a tool step's default retry budget (1 s + 2 s).
    await eventually(async () => Date.now() - stoppedAt, (ms) => ms >= Number(process.env.CHAOS_PG_OUTAGE_MS ?? 4000), 60_000);

    await startPg();
    const restartedAt = Date.now();
    await eventually(() => get('/health'), (r) => r.status === 200, 60_000);
    const apiRecoveredMs = Date.now() - restartedAt;
    const runs = await eventually(() => finished(runIds), (rs) => rs.length === PLANS && rs.every((r) => r.status === 'completed' || r.status === 'failed'), 120_000);
    const runsDoneMs = Date.now() - restartedAt;
    expect(runs.filter((r) => r.status !== 'completed')).toEqual([]);
    for (const runId of runIds) {
      await temporal.workflow.getHandle(runId).result();
      expect(await historyOf(runId)).toEqual(baseline);
    }

    // event_log lost nothing either: each completed step's tool call (some finished while
    // PostgreSQL was down) and each step's plan event is logged, once.
    const completedSteps = await prisma.planHistory.count({ where: { event: 'plan.step_completed' } });
    const logged = async () => ({
      toolCalls: await prisma.eventLog.count({ where: { eventType: 'tool.executed', data: { path: ['outcome'], equals: 'success' } } }),
      stepEvents: await prisma.eventLog.count({ where: { eventType: 'plan.step_completed' } }),
    });
    const settled = await eventually(logged, (l) => l.toolCalls >= completedSteps && l.stepEvents >= completedSteps, 30_000).catch(logged);
    expect(settled).toEqual({ toolCalls: completedSteps, stepEvents: completedSteps });

    // Both processes work again by themselves: a new run goes through the API and the worker.
    const after = await execute();
    await temporal.workflow.getHandle(after).result();
    expect(await eventually(() => historyOf(after), (h) => h.length === baseline.length)).toEqual(baseline);
    // Every LISTEN connection came back, once: none lost, none piled up by retries.
    expect(await eventually(listeners, (l) => JSON.stringify(l) === JSON.stringify(listening), 30_000)).toEqual(listening);
    console.log(`chaos/postgres-outage: ${PLANS} plans x ${STEPS} steps; PG down ${restartedAt - stoppedAt} ms; API healthy ${apiRecoveredMs} ms and all runs done ${runsDoneMs} ms after PG returned`);
  });

  test('LISTEN/NOTIFY: the notify listener and the event bus re-LISTEN after PostgreSQL restarts, with one connection each', async () => {
    const channel = `chaos_${newId(8).toLowerCase()}`;
    const heard: (string | undefined)[] = [];
    const listener = await listenForNotifications(databaseUrl, [channel], (_c, payload) => heard.push(payload), 200);
    const logger = createLogger('chaos', 'silent');
    const [a, b] = [await openEventBus(databaseUrl, logger), await openEventBus(databaseUrl, logger)];
    const received: OwnPilotEvent[] = [];
    b.subscribe('chaos-test', 'system.*', (event) => void received.push(event));
    try {
      const before = await listeners();
      await pgProc.stop();
      // Down for several of the listener's retry periods.
      const stoppedAt = Date.now();
      await eventually(async () => Date.now() - stoppedAt, (ms) => ms >= 2000);
      await startPg();

      await eventually(async () => {
        await prisma.$executeRaw`SELECT pg_notify(${channel}, 'after-restart')`;
        return heard;
      }, (h) => h.includes('after-restart'));
      expect(heard).toContain(undefined); // told that messages may have been missed
      await eventually(async () => {
        await a.emitAsync('system.chaos', { n: received.length }, 'chaos-test', { until: 'committed' });
        return received;
      }, (r) => r.some((e) => e.type === 'system.chaos'));
      expect(await eventually(listeners, (l) => JSON.stringify(l) === JSON.stringify(before))).toEqual(before);
    } finally {
      await listener.close();
      await a.close();
      await b.close();
    }
  });
});
