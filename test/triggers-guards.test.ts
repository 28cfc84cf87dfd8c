import { MockActivityEnvironment } from '@temporalio/testing';
import { ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { OwnPilotEvent } from '../activities/events/event-types';
import { defineTool, type BuiltinTool } from '../activities/tools/tool-types';
import { createTriggerActivities } from '../activities/triggers/trigger-activities';
import { createTriggerReconciler } from '../activities/triggers/trigger-reconciler';
import { scheduleIdOf } from '../activities/triggers/trigger-schedules';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

type HistoryRow = { id: string; status: string; error: string | null; workflowId: string; planWorkflowId: string | null; causationChain: string[] };

describe('trigger guards: cycles, failing actions, idempotent plan starts, periodic reconcile', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  let detach: () => void;
  let planId: string;
  const flakyCalls: string[] = [];

  beforeAll(async () => {
    stack = await openTestStack();
    // A tool that always fails with a transient (retryable) error, counting its calls.
    const flaky = defineTool({
      definition: { name: 'core.test.flaky', description: 'always fails transiently', category: 'test', parameters: {}, tags: [] },
      args: z.record(z.string(), z.unknown()),
      execute: async (_args, context) => {
        flakyCalls.push(context.idempotencyKey ?? '');
        throw new Error('connection reset by peer');
      },
    });
    await stack.tools.registerBuiltinTools([flaky] as BuiltinTool[]);
    await stack.startWorker();
    t = await buildTriggerApp(stack);
    // The worker emits trigger.* and plan.* events on stack.bus; event triggers listen there.
    detach = t.dispatcher.attach(stack.bus);
    planId = (await t.api.post('/api/v1/plans').send({ name: 'loop plan', steps: [{ id: 'echo', kind: 'tool', tool: 'core.echo', args: { a: 1 } }] }).expect(201)).body.id;
  });
  afterAll(async () => {
    detach();
    await stack.close();
  });

  const history = async (id: string) => (await t.api.get(`/api/v1/triggers/${id}/history?limit=100`).expect(200)).body.items as HistoryRow[];
  const createTrigger = async (body: Record<string, unknown>) => (await t.api.post('/api/v1/triggers').send(body).expect(201)).body.id as string;
  /**
   * Stores an enabled event trigger past the create-time cycle check (as one saved before that
   * check existed): the loops below are provable, so the API refuses them; the run-time guard must stop them.
   */
  const storeEventTrigger = async (id: string, name: string, config: Record<string, unknown>, action: Record<string, unknown>) => {
    await stack.prisma.trigger.create({ data: { id, name, type: 'event', config: config as object, action: action as object, isEnabled: true, createdBy: 'admin' } });
    return id;
  };
  /** Waits until an event emitted now has been written to event_log (so everything emitted before it has passed the bus). */
  const drainBus = async () => {
    const marker = stack.bus.emit('agent.started', { agentId: `marker-${newId(6)}` }, 'test');
    await eventually(() => stack.prisma.eventLog.findUnique({ where: { id: marker.id } }), (row) => row !== null);
  };

  test('an A ↔ B loop through trigger.executed stops: the firing that would close the cycle is recorded as skipped', async () => {
    const echo = { kind: 'tool', tool: 'core.echo', args: { from: '{{trigger.name}}' } };
    // Each fires when the other one has executed: without a guard this never ends.
    const [a, b] = [newId(), newId()];
    await storeEventTrigger(a, 'A', { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: b } }, echo);
    await storeEventTrigger(b, 'B', { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: a } }, echo);

    await t.api.post(`/api/v1/triggers/${a}/execute`).send({ payload: { kick: true } }).expect(202);
    const rowsA = await eventually(() => history(a), (rows) => rows.some((r) => r.status === 'skipped'));
    const rowsB = await eventually(() => history(b), (rows) => rows.length === 1 && rows[0]!.status === 'succeeded');
    expect(rowsB[0]!.causationChain).toEqual([a]);
    const skipped = rowsA.find((r) => r.status === 'skipped')!;
    expect(skipped.causationChain).toEqual([a, b]);
    expect(skipped.error).toBe(`cycle: ${a} → ${b} → ${a}`);
    // Nothing more happens: the skipped firing took no action and emitted nothing.
    await drainBus();
    await drainBus();
    expect((await history(a)).map((r) => r.status).sort()).toEqual(['skipped', 'succeeded']);
    expect(await history(b)).toHaveLength(1);
    const run = await stack.client.workflow.getHandle(skipped.workflowId).result();
    expect(run).toEqual({ status: 'skipped' });
    await t.api.delete(`/api/v1/triggers/${a}`).expect(204);
    await t.api.delete(`/api/v1/triggers/${b}`).expect(204);
  });

  test('a trigger whose plan’s events fire it again (plan.completed → same plan) runs once and skips the echo', async () => {
    const c = await storeEventTrigger(newId(), 'C', { pattern: 'plan.completed', filter: { path: 'data.planId', op: 'eq', value: planId } }, { kind: 'plan', planId, input: {} });
    await t.api.post(`/api/v1/triggers/${c}/execute`).send({ payload: {} }).expect(202);
    const rows = await eventually(() => history(c), (r) => r.some((x) => x.status === 'skipped') && r.some((x) => x.status === 'succeeded')); // the echo can be refused before its firing has ended
    const fired = rows.find((x) => x.status === 'succeeded')!;
    expect(fired.planWorkflowId).not.toBeNull();
    expect(rows.find((x) => x.status === 'skipped')).toMatchObject({ causationChain: [c], error: `cycle: ${c} → ${c}`, planWorkflowId: null });
    await drainBus();
    expect(await history(c)).toHaveLength(2);
    // Runs a firing starts carry its id as start key: only the first firing started one.
    expect(await stack.prisma.planRun.count({ where: { startKey: { in: (await history(c)).map((r) => `trigger:${r.id}`) } } })).toBe(1);
    await t.api.delete(`/api/v1/triggers/${c}`).expect(204);
  });

  test('a trigger calling a tool on every tool.executed does not feed on its own calls', async () => {
    const d = newId();
    // Listens to core.echo calls of one user and of itself (its own calls, made via it, are the loop).
    const filter = { all: [{ path: 'data.tool', op: 'eq', value: 'core.echo' }, { any: [{ path: 'data.requesterId', op: 'eq', value: 'user:guard-test' }, { path: 'data.via', op: 'eq', value: `trigger:${d}` }] }] };
    await storeEventTrigger(d, 'D', { pattern: 'tool.executed', filter }, { kind: 'tool', tool: 'core.echo', args: {} });
    const e = stack.bus.emit('tool.executed', { tool: 'core.echo', requesterId: 'user:guard-test', outcome: 'success' }, 'test');
    const rows = await eventually(() => history(d), (r) => r.some((x) => x.status === 'skipped') && r.some((x) => x.status === 'succeeded')); // the echo can be refused before its firing has ended
    expect(rows.find((x) => x.status === 'succeeded')?.workflowId).toBe(`trigger-${d}-ev-${e.id}`);
    expect(rows.find((x) => x.status === 'skipped')?.error).toBe(`cycle: ${d} → ${d}`);
    await drainBus();
    expect(await history(d)).toHaveLength(2);
    await t.api.delete(`/api/v1/triggers/${d}`).expect(204);
  });

  test('a causal chain that reaches the depth limit is skipped with the reason, even without a repeat', async () => {
    const deep = await createTrigger({ name: 'deep', type: 'event', config: { pattern: 'trigger.executed', filter: { path: 'data.triggerId', op: 'eq', value: 'upstream-8' } }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    const chain = Array.from({ length: 8 }, (_, i) => `upstream-${i + 1}`);
    const event: OwnPilotEvent = { id: newId(), type: 'trigger.executed', category: 'trigger', source: 'test', data: { triggerId: 'upstream-8', triggerChain: chain }, timestamp: new Date().toISOString() };
    const [runId] = await t.dispatcher.dispatch(event);
    expect(await stack.client.workflow.getHandle(runId!).result()).toEqual({ status: 'skipped' });
    const [row] = await history(deep);
    expect(row).toMatchObject({ status: 'skipped', causationChain: chain, error: 'causation chain of 8 firings reaches the limit of 8' });
    // One link shorter is allowed.
    const [ok] = await t.dispatcher.dispatch({ ...event, id: newId(), data: { triggerId: 'upstream-8', triggerChain: chain.slice(1) } });
    expect(await stack.client.workflow.getHandle(ok!).result()).toMatchObject({ status: 'succeeded' });
    await t.api.delete(`/api/v1/triggers/${deep}`).expect(204);
  });

  test('the firing id is the plan start key: a retried start activity finds the first plan run instead of starting a second', async () => {
    const trigger = await createTrigger({ name: 'plan starter', type: 'webhook', action: { kind: 'plan', planId } });
    const historyId = `trigger-${trigger}-manual-${newId()}`;
    await stack.prisma.triggerHistory.create({ data: { id: historyId, triggerId: trigger, firedAt: new Date(), triggerType: 'webhook', status: 'running', workflowId: historyId } });
    const activities = createTriggerActivities({ prisma: stack.prisma, tools: stack.tools, events: stack.bus, plans: t.plans });
    const request = { historyId, triggerId: trigger, planId, input: {} };
    // Each call is an attempt of the activity, in an activity context of its own.
    const attempt = () => new MockActivityEnvironment().run<[typeof request], string, typeof activities.startTriggerPlan>(activities.startTriggerPlan, request);
    // Two attempts racing (a retry after a lost answer), then a third after both finished.
    const [first, second] = await Promise.all([attempt(), attempt()]);
    const third = await attempt();
    expect(second).toBe(first);
    expect(third).toBe(first);
    // Every run this trigger's firings started (their start keys are `trigger:<firing id>`).
    const runs = await stack.prisma.planRun.findMany({ where: { planId, startKey: { startsWith: `trigger:trigger-${trigger}-` } } });
    expect(runs.map((r) => r.id)).toEqual([first]);
    expect(runs[0]!).toMatchObject({ startKey: `trigger:${historyId}`, startedBy: 'admin' }); // for the trigger's creator
    expect((await stack.prisma.triggerHistory.findUniqueOrThrow({ where: { id: historyId } })).planWorkflowId).toBe(first);
    await eventually(() => stack.prisma.planRun.findUnique({ where: { id: first } }), (r) => r?.status === 'completed');
    await t.api.delete(`/api/v1/triggers/${trigger}`).expect(204);
  });

  test('a failing action never makes a schedule fire in a tight loop: one firing, bounded retries, the schedule keeps its pace', async () => {
    const hourly = await createTrigger({ name: 'hourly flaky', type: 'schedule', config: { intervalSeconds: 3600, overlap: 'allow_all' }, action: { kind: 'tool', tool: 'core.test.flaky', args: {} } });
    // No payload on a scheduled firing: `op` resolves to null, which core.math refuses when it runs.
    const pausing = await createTrigger({ name: 'pause on failure', type: 'schedule', config: { intervalSeconds: 1, overlap: 'skip', pauseOnFailure: true }, action: { kind: 'tool', tool: 'core.math', args: { op: '{{payload.op}}', values: [1] } } });
    await t.api.post(`/api/v1/triggers/${hourly}/execute`).send({}).expect(202);
    const [failed] = await eventually(() => history(hourly), (rows) => rows.length === 1 && rows[0]!.status === 'failed');
    expect(failed!.error).toMatch(/connection reset/);
    // A transient failure is retried by the action's bounded policy (3 attempts), then recorded once.
    expect(flakyCalls.filter((k) => k === failed!.workflowId)).toHaveLength(3);
    await eventually(async () => (await stack.client.workflow.getHandle(failed!.workflowId).describe()).status.name, (s) => s === 'FAILED');
    // pauseOnFailure on a one-second schedule: its first failed run pauses it (Temporal watches the
    // results of scheduled actions; trigger-now runs with ALLOW_ALL and is not watched).
    await eventually(() => stack.client.schedule.getHandle(scheduleIdOf(pausing)).describe(), (d) => d.state.paused);
    const pausedRows = await eventually(() => history(pausing), (rows) => rows.length > 0 && rows.every((r) => r.status === 'failed'));

    // A one-second witness schedule is the clock: while it fires three times, the failed one fires no more.
    const witness = await createTrigger({ name: 'witness', type: 'schedule', config: { intervalSeconds: 1 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    await eventually(() => history(witness), (rows) => rows.filter((r) => r.status === 'succeeded').length >= 3);
    expect(await history(hourly)).toHaveLength(1);
    expect(await history(pausing)).toHaveLength(pausedRows.length);
    expect(flakyCalls).toHaveLength(3);
    const d = await stack.client.schedule.getHandle(scheduleIdOf(hourly)).describe();
    expect(d.state.paused).toBe(false);
    expect(d.info.recentActions).toHaveLength(1);
    // Its next firings stay on the hourly grid, not "now again".
    const next = d.info.nextActionTimes.map((at) => at.getTime());
    expect(next.length).toBeGreaterThan(1);
    expect(next.every((at) => at % 3_600_000 === 0)).toBe(true);
    expect(next[1]! - next[0]!).toBe(3_600_000);
    for (const id of [hourly, pausing, witness]) await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });

  test('the periodic reconciler repairs drift without a restart: a deleted schedule comes back, an orphan goes', async () => {
    const eager = await buildTriggerApp(stack, { orphanGraceMs: 1000 });
    const reconciler = createTriggerReconciler({ triggers: eager.triggers, logger: createLogger('reconcile', 'silent'), intervalMs: 100 });
    const trigger = await createTrigger({ name: 'drifting', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'plan', planId } });
    reconciler.start();
    try {
      const handle = stack.client.schedule.getHandle(scheduleIdOf(trigger));
      await handle.delete();
      await eventually(() => handle.describe().then(() => true, () => false), (exists) => exists);
      expect((await handle.describe()).state.paused).toBe(false);

      // Paused behind our back while the trigger is enabled: unpaused again.
      await handle.pause('by hand');
      await eventually(() => handle.describe(), (desc) => !desc.state.paused);

      const orphanId = `trigger-orphan-${newId(10)}`;
      await stack.client.schedule.create({
        scheduleId: orphanId,
        spec: { intervals: [{ every: '1h' }] },
        action: { type: 'startWorkflow', workflowType: 'triggerRunWorkflow', taskQueue: stack.taskQueue, args: [{ triggerId: 'orphan', source: 'schedule' }] },
      });
      await eventually(() => stack.client.schedule.getHandle(orphanId).describe().then(() => false, (e: unknown) => e instanceof ScheduleNotFoundError), (gone) => gone);
    } finally {
      await reconciler.stop();
    }
    await t.api.delete(`/api/v1/triggers/${trigger}`).expect(204);
  });

  test('a backfill covers the past of an enabled trigger, within bounds; nothing fires for a refused one (found by review)', async () => {
    const daily = await createTrigger({ name: 'daily', type: 'schedule', config: { cron: '0 9 * * *', overlap: 'allow_all' }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    const everySecond = await createTrigger({ name: 'every second', type: 'schedule', enabled: false, config: { intervalSeconds: 1, overlap: 'skip' }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    const hour = 3_600_000;
    const past = (hoursAgo: number) => new Date(Date.now() - hoursAgo * hour).toISOString();
    const refused: [string, Record<string, unknown>, number, RegExp][] = [
      [daily, { start: past(1), end: new Date(Date.now() + 400 * 24 * hour).toISOString() }, 400, /at most 31 days/],
      [daily, { start: past(1), end: new Date(Date.now() + 24 * hour).toISOString() }, 422, /end is in the future/],
      [daily, { start: 0, end: 1 }, 400, /./],
      [daily, { start: past(2), end: past(3) }, 400, /start must be before end/],
      [everySecond, { start: past(2), end: past(1) }, 409, /disabled/],
    ];
    for (const [id, body, status, message] of refused) {
      const res = await t.api.post(`/api/v1/triggers/${id}/backfill`).send(body);
      expect({ body, status: res.status, message: JSON.stringify(res.body.error) }).toEqual({ body, status, message: expect.stringMatching(message) });
    }
    expect(await history(everySecond)).toEqual([]);
    // A day of a one-second interval would be 86,400 firings.
    await t.api.post(`/api/v1/triggers/${everySecond}/enable`).expect(200);
    const many = await t.api.post(`/api/v1/triggers/${everySecond}/backfill`).send({ start: past(24), end: past(0) }).expect(422);
    expect(many.body.error.details).toMatchObject({ firings: 86_400, max: 10_000 });
    await t.api.post(`/api/v1/triggers/${everySecond}/disable`).expect(200);
    await t.api.post(`/api/v1/triggers/${daily}/backfill`).send({ start: past(48), end: past(0) }).expect(202);
    await eventually(() => history(daily), (rows) => rows.length === 2);
    for (const id of [daily, everySecond]) await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });
});
