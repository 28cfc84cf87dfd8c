import { ScheduleNotFoundError } from '@temporalio/client';
import { SPEC_PROBE_PREFIX } from '../activities/triggers/schedule-drift';
import { scheduleIdOf } from '../activities/triggers/trigger-schedules';
import { createTriggerService } from '../activities/triggers/trigger-service';
import { holdRead } from './support/gates';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

describe('schedule triggers on Temporal Schedules', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  let planId: string;

  const history = async (id: string) => (await t.api.get(`/api/v1/triggers/${id}/history?limit=500`).expect(200)).body.items as { status: string; workflowId: string; planWorkflowId: string | null; error: string | null }[];
  const describe_ = (id: string) => stack.client.schedule.getHandle(scheduleIdOf(id)).describe();
  const createTrigger = async (body: Record<string, unknown>) => (await t.api.post('/api/v1/triggers').send(body).expect(201)).body as { id: string };
  /** A trigger service whose first `read` of trigger rows returns only once the test releases it (`reached`: the read is done). */
  const heldAfter = (read: 'findUnique' | 'findMany') => {
    const { prisma, at: reached, open: release } = holdRead(stack.prisma, 'trigger', read);
    const slow = createTriggerService({ prisma, temporal: stack.client, taskQueue: stack.taskQueue, starter: t.starter, secrets: t.secrets, plans: t.plans, tools: stack.tools });
    return { slow, reached, release };
  };

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    t = await buildTriggerApp(stack);
    const plan = await t.api
      .post('/api/v1/plans')
      .send({ name: 'echo payload', steps: [{ id: 'echo', kind: 'tool', tool: 'core.echo', args: { from: 'trigger' } }] })
      .expect(201);
    planId = plan.body.id;
  });
  afterAll(() => stack.close());

  test('a seconds-level interval fires, starts the plan, and disable (pause) stops it', async () => {
    const trigger = await createTrigger({ name: 'every second', type: 'schedule', config: { intervalSeconds: 1 }, action: { kind: 'plan', planId } });
    const fired = await eventually(() => history(trigger.id), (rows) => rows.some((r) => r.status === 'succeeded' && r.planWorkflowId !== null));
    const row = fired.find((r) => r.status === 'succeeded')!;
    expect(row.workflowId).toMatch(new RegExp(`^trigger-${trigger.id}-`));
    const planRun = await eventually(() => stack.prisma.planRun.findUnique({ where: { id: row.planWorkflowId! } }), (r) => r?.status === 'completed');
    expect(planRun).toMatchObject({ startedBy: 'admin', startKey: `trigger:${row.workflowId}` }); // for the trigger's creator, through this firing
    const run = await stack.client.workflow.getHandle(row.workflowId).describe();
    expect(run.searchAttributes).toMatchObject({ OwnPilotTriggerId: [trigger.id], OwnPilotKind: ['trigger'] });
    await eventually(() => stack.prisma.eventLog.findMany({ where: { eventType: 'trigger.executed' } }), (rows) => rows.some((e) => (e.data as { triggerId?: string } | null)?.triggerId === trigger.id));

    const shown = await t.api.get(`/api/v1/triggers/${trigger.id}`).expect(200);
    expect(shown.body.schedule.paused).toBe(false);
    expect(shown.body.schedule.nextFireTimes.length).toBeGreaterThan(0);

    await t.api.post(`/api/v1/triggers/${trigger.id}/disable`).expect(200);
    const paused = await describe_(trigger.id);
    expect(paused.state.paused).toBe(true);
    // Let the actions already taken finish recording, then use a second schedule as the clock.
    const actionsAtPause = paused.info.recentActions.length;
    await eventually(() => history(trigger.id), (rows) => rows.length >= actionsAtPause && rows.every((r) => r.status !== 'running'));
    const rowsAtPause = (await history(trigger.id)).length;
    const witness = await createTrigger({ name: 'witness', type: 'schedule', config: { intervalSeconds: 1 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    await eventually(() => history(witness.id), (rows) => rows.filter((r) => r.status === 'succeeded').length >= 3);
    expect((await describe_(trigger.id)).info.recentActions.length).toBe(actionsAtPause);
    expect((await history(trigger.id)).length).toBe(rowsAtPause);
    expect((await t.api.get(`/api/v1/triggers/${trigger.id}`).expect(200)).body).toMatchObject({ isEnabled: false, schedule: { paused: true } });
    await t.api.post(`/api/v1/triggers/${trigger.id}/execute`).send({}).expect(409);

    await t.api.post(`/api/v1/triggers/${trigger.id}/enable`).expect(200);
    expect((await describe_(trigger.id)).state.paused).toBe(false);
    await eventually(() => history(trigger.id), (rows) => rows.length > rowsAtPause);
    await t.api.delete(`/api/v1/triggers/${witness.id}`).expect(204);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
    await expect(describe_(trigger.id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  test('fire now and backfill start runs through the schedule; history pages', async () => {
    const trigger = await createTrigger({
      name: 'yearly',
      type: 'schedule',
      config: { cron: '0 0 1 1 *', timezone: 'Europe/Berlin', overlap: 'allow_all', catchupWindowSeconds: 600, jitterSeconds: 0 },
      action: { kind: 'tool', tool: 'core.echo', args: { fired: '{{source}}' } },
    });
    const d = await describe_(trigger.id);
    expect(d.spec.timezone).toBe('Europe/Berlin');
    expect(d.policies).toMatchObject({ overlap: 'ALLOW_ALL', catchupWindow: 600_000 });

    const now = await t.api.post(`/api/v1/triggers/${trigger.id}/execute`).send({}).expect(202);
    expect(now.body.via).toBe('schedule');
    await eventually(() => history(trigger.id), (rows) => rows.filter((r) => r.status === 'succeeded').length === 1);

    // Every 10 minutes over the last hour: six more firings.
    await t.api.patch(`/api/v1/triggers/${trigger.id}`).send({ config: { cron: '*/10 * * * *', overlap: 'allow_all' } }).expect(200);
    const end = new Date(Math.floor(Date.now() / 600_000) * 600_000 - 1000);
    const start = new Date(end.getTime() - 3_600_000);
    await t.api.post(`/api/v1/triggers/${trigger.id}/backfill`).send({ start, end }).expect(202);
    const rows = await eventually(() => history(trigger.id), (r) => r.filter((x) => x.status === 'succeeded').length >= 7);
    expect(rows.filter((x) => x.status === 'succeeded')).toHaveLength(7);

    const page1 = await t.api.get(`/api/v1/triggers/${trigger.id}/history?limit=4`).expect(200);
    expect(page1.body.items).toHaveLength(4);
    const page2 = await t.api.get(`/api/v1/triggers/${trigger.id}/history`).query({ limit: 4, before: page1.body.nextCursor }).expect(200);
    expect(page2.body.items).toHaveLength(3);
    expect(page2.body.nextCursor).toBeNull();
    const ids = [...page1.body.items, ...page2.body.items].map((r: { id: string }) => r.id);
    expect(new Set(ids).size).toBe(7);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('a failing action is recorded once per firing and the schedule keeps its pace', async () => {
    // A scheduled firing has no payload: `values` resolves to null, which core.math refuses when it runs (literal bad arguments are refused at save).
    const trigger = await createTrigger({ name: 'fails', type: 'schedule', config: { intervalSeconds: 1 }, action: { kind: 'tool', tool: 'core.math', args: { op: 'add', values: '{{payload.values}}' } } });
    const rows = await eventually(() => history(trigger.id), (r) => r.filter((x) => x.status === 'failed').length >= 3);
    await t.api.post(`/api/v1/triggers/${trigger.id}/disable`).expect(200);
    const d = await describe_(trigger.id);
    // One history row per schedule action: no retries of the run, no extra firings.
    const taken = new Set(d.info.recentActions.map((a) => a.action.workflow.workflowId));
    expect(rows.every((r) => taken.has(r.workflowId))).toBe(true);
    expect(rows.find((r) => r.status === 'failed')?.error).toMatch(/invalid arguments/);
    const failedRun = await stack.client.workflow.getHandle(rows.find((r) => r.status === 'failed')!.workflowId).describe();
    expect(failedRun.status.name).toBe('FAILED');
    await eventually(() => stack.prisma.eventLog.findMany({ where: { eventType: 'trigger.failed' } }), (rows) => rows.some((e) => (e.data as { triggerId?: string } | null)?.triggerId === trigger.id));
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('every schedule option of the API reaches the Temporal Schedule (overlap, catch-up, jitter, pause-on-failure, time zone)', async () => {
    const expected = { skip: 'SKIP', buffer_one: 'BUFFER_ONE', buffer_all: 'BUFFER_ALL', cancel_other: 'CANCEL_OTHER', terminate_other: 'TERMINATE_OTHER', allow_all: 'ALLOW_ALL' } as const;
    for (const [overlap, temporalName] of Object.entries(expected)) {
      const trigger = await createTrigger({
        name: `options ${overlap}`, type: 'schedule', enabled: false,
        config: { cron: '30 6 * * 1-5', timezone: 'America/New_York', overlap, catchupWindowSeconds: 900, jitterSeconds: 45, pauseOnFailure: true },
        action: { kind: 'plan', planId },
      });
      const d = await describe_(trigger.id);
      expect(d.policies).toEqual({ overlap: temporalName, catchupWindow: 900_000, pauseOnFailure: true });
      expect(d.spec).toMatchObject({ timezone: 'America/New_York', jitter: 45_000 });
      expect(d.state.paused).toBe(true);
      await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
    }
  });

  test('bad cron is a 422 with Temporal’s reason; bad time zone a 400; nothing is written', async () => {
    const before = await stack.prisma.trigger.count();
    const bad = await t.api.post('/api/v1/triggers').send({ name: 'bad', type: 'schedule', config: { cron: '61 * * * *' }, action: { kind: 'plan', planId } }).expect(422);
    expect(bad.body.error.code).toBe('UNPROCESSABLE');
    expect(bad.body.error.message).toMatch(/61|range|invalid/i);
    const tz = await t.api.post('/api/v1/triggers').send({ name: 'bad', type: 'schedule', config: { cron: '0 9 * * *', timezone: 'Mars/Olympus' }, action: { kind: 'plan', planId } }).expect(400);
    expect(JSON.stringify(tz.body.error.details)).toMatch(/time zone/);
    await t.api.post('/api/v1/triggers').send({ name: 'both', type: 'schedule', config: { cron: '0 9 * * *', intervalSeconds: 5 }, action: { kind: 'plan', planId } }).expect(400);
    const missing = await t.api.post('/api/v1/triggers').send({ name: 'ghost', type: 'schedule', config: { intervalSeconds: 5 }, action: { kind: 'plan', planId: 'nope' } }).expect(422);
    expect(missing.body.error.details.missing).toEqual([{ plan: 'nope' }]);
    await t.api.post('/api/v1/triggers').send({ name: 'ghost', type: 'webhook', action: { kind: 'tool', tool: 'core.nope' } }).expect(422);
    expect(await stack.prisma.trigger.count()).toBe(before);
  });

  test('a Temporal failure half-way through create or delete leaves database and Temporal agreeing', async () => {
    const failing = await buildTriggerApp(stack, {
      temporal: {
        schedule: new Proxy(stack.client.schedule, {
          get(target, prop, receiver) {
            if (prop === 'create') return () => Promise.reject(new Error('temporal unavailable'));
            if (prop === 'getHandle') {
              return (id: string) => ({ ...target.getHandle(id), delete: () => Promise.reject(new Error('temporal unavailable')) });
            }
            return Reflect.get(target, prop, receiver) as unknown;
          },
        }),
      },
    });
    const before = await stack.prisma.trigger.count();
    await failing.api.post('/api/v1/triggers').send({ name: 'half', type: 'schedule', config: { intervalSeconds: 60 }, action: { kind: 'plan', planId } }).expect(500);
    expect(await stack.prisma.trigger.count()).toBe(before);

    const kept = await createTrigger({ name: 'kept', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'plan', planId } });
    await failing.api.patch(`/api/v1/triggers/${kept.id}`).send({ name: 'renamed', config: { intervalSeconds: 60 } }).expect(500);
    expect(await stack.prisma.trigger.findUnique({ where: { id: kept.id } })).toMatchObject({ name: 'kept', config: expect.objectContaining({ intervalSeconds: 3600 }) });
    await failing.api.delete(`/api/v1/triggers/${kept.id}`).expect(500);
    expect(await stack.prisma.trigger.findUnique({ where: { id: kept.id } })).not.toBeNull();
    expect((await describe_(kept.id)).scheduleId).toBe(scheduleIdOf(kept.id));
    await t.api.delete(`/api/v1/triggers/${kept.id}`).expect(204);
  });

  test('reconcile recreates a schedule deleted behind our back and removes an orphan and a stray spec probe', async () => {
    const eager = await buildTriggerApp(stack, { orphanGraceMs: 0 });
    const trigger = await createTrigger({ name: 'recreate me', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'plan', planId }, enabled: false });
    await stack.client.schedule.getHandle(scheduleIdOf(trigger.id)).delete();
    const orphanId = `trigger-orphan${Date.now()}`;
    await stack.client.schedule.create({
      scheduleId: orphanId,
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: 'triggerRunWorkflow', taskQueue: stack.taskQueue, args: [{ triggerId: 'orphan', source: 'schedule' }] },
    });
    // What a drift check leaves when its process dies between creating and deleting its probe.
    const probeId = `${SPEC_PROBE_PREFIX}stray${Date.now()}`;
    await stack.client.schedule.create({ scheduleId: probeId, spec: { intervals: [{ every: '1h' }] }, state: { paused: true }, action: { type: 'startWorkflow', workflowType: 'triggerRunWorkflow', taskQueue: stack.taskQueue, args: [{ triggerId: 'probe', source: 'schedule' }] } });
    const broken = await stack.prisma.trigger.create({ data: { id: `broken${Date.now()}`, name: 'broken', type: 'schedule', config: { cron: 5 }, action: {} } });
    const recreated = await eager.api.post('/api/v1/triggers/reconcile').expect(200);
    expect(recreated.body.recreated).toContain(scheduleIdOf(trigger.id));
    expect(recreated.body.failed).toEqual([{ scheduleId: scheduleIdOf(broken.id), error: expect.any(String) }]);
    await stack.prisma.trigger.delete({ where: { id: broken.id } });
    expect((await describe_(trigger.id)).state.paused).toBe(true);
    // Schedule listing is eventually consistent: the orphan shows up in a later pass.
    const removed = new Set<string>(recreated.body.removed);
    await eventually(async () => {
      for (const id of (await eager.triggers.reconcile()).removed) removed.add(id);
      return removed;
    }, (all) => all.has(orphanId) && all.has(probeId));
    await expect(stack.client.schedule.getHandle(orphanId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(stack.client.schedule.getHandle(probeId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('PATCH config changes only the fields it names; null resets one; a switch from interval to cron names both', async () => {
    const trigger = await createTrigger({ name: 'patched', type: 'schedule', config: { intervalSeconds: 3600, timezone: 'Europe/Berlin', jitterSeconds: 5 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    const patch = (config: Record<string, unknown>) => t.api.patch(`/api/v1/triggers/${trigger.id}`).send({ config });

    expect((await patch({ overlap: 'buffer_one' }).expect(200)).body.config).toMatchObject({ intervalSeconds: 3600, timezone: 'Europe/Berlin', jitterSeconds: 5, overlap: 'buffer_one' });
    expect((await describe_(trigger.id)).policies.overlap).toBe('BUFFER_ONE');

    // Both cron and interval would be set: refused with the way to switch, nothing changes.
    const refused = await patch({ cron: '0 9 * * *' }).expect(400);
    expect(JSON.stringify(refused.body.error)).toContain('sets the other to null');
    expect((await t.api.get(`/api/v1/triggers/${trigger.id}`).expect(200)).body.config).toMatchObject({ intervalSeconds: 3600, overlap: 'buffer_one' });

    const switched = (await patch({ cron: '0 9 * * *', intervalSeconds: null, timezone: null }).expect(200)).body.config;
    expect(switched).toEqual({ cron: '0 9 * * *', timezone: 'UTC', overlap: 'buffer_one', jitterSeconds: 5, catchupWindowSeconds: 60, pauseOnFailure: false });
    const spec = (await describe_(trigger.id)).spec;
    expect(spec.timezone).toBe('UTC');
    expect(spec.intervals ?? []).toEqual([]);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('a PATCH that finds the trigger changed since it read it answers 409 instead of undoing the other change', async () => {
    const trigger = await createTrigger({ name: 'contended', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    // The slow update reads the row, then waits until another update has committed.
    const { slow, reached, release } = heldAfter('findUnique');
    const slowUpdate = slow.updateTrigger(trigger.id, { config: { jitterSeconds: 30 } });
    await reached;
    await t.api.patch(`/api/v1/triggers/${trigger.id}`).send({ config: { timezone: 'Asia/Tokyo' } }).expect(200);
    release();
    await expect(slowUpdate).rejects.toMatchObject({ code: 'CONFLICT' });
    const stored = (await t.api.get(`/api/v1/triggers/${trigger.id}`).expect(200)).body.config;
    expect(stored).toMatchObject({ timezone: 'Asia/Tokyo', jitterSeconds: 0 });
    expect((await describe_(trigger.id)).spec.timezone).toBe('Asia/Tokyo');
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('reconcile acts on each row as it is when it repairs: a disable or delete made during the pass stands', async () => {
    const disabled = await createTrigger({ name: 'disabled mid-pass', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'plan', planId } });
    const deleted = await createTrigger({ name: 'deleted mid-pass', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'plan', planId } });
    // The pass's listing returns only after the user's disable and delete have committed.
    const { slow, reached, release } = heldAfter('findMany');
    const pass = slow.reconcile();
    await reached;
    await t.api.post(`/api/v1/triggers/${disabled.id}/disable`).expect(200);
    await t.api.delete(`/api/v1/triggers/${deleted.id}`).expect(204);
    release();
    const result = await pass;
    expect(result.repaired).not.toContain(scheduleIdOf(disabled.id));
    expect(result.recreated).not.toContain(scheduleIdOf(deleted.id));
    expect((await describe_(disabled.id)).state.paused).toBe(true);
    await expect(describe_(deleted.id)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await t.api.delete(`/api/v1/triggers/${disabled.id}`).expect(204);
  });

  test('reconcile asks Temporal before it takes the row lock: an update commits meanwhile, and the pass checks the row as updated', async () => {
    const trigger = await createTrigger({ name: 'edited mid-check', type: 'schedule', config: { intervalSeconds: 3600 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    // The pass stops right after its first read of this row (its other rows go on).
    const held = holdRead(stack.prisma, 'trigger', 'findUnique', { match: ([query]) => (query as { where: { id: string } }).where.id === trigger.id });
    const slow = createTriggerService({ prisma: held.prisma, temporal: stack.client, taskQueue: stack.taskQueue, starter: t.starter, secrets: t.secrets, plans: t.plans, tools: stack.tools });
    const pass = slow.reconcile();
    await held.at;
    // Not blocked by the pass: it holds no lock while it reads and probes.
    await t.api.patch(`/api/v1/triggers/${trigger.id}`).send({ config: { intervalSeconds: 7200 } }).expect(200);
    held.open();
    const result = await pass;
    expect(result.failed).toEqual([]);
    // Checked against the updated row, not the 3600 s one it read first: nothing to realign.
    expect([...result.recreated, ...result.realigned, ...result.repaired]).not.toContain(scheduleIdOf(trigger.id));
    expect((await describe_(trigger.id)).spec.intervals).toEqual([{ every: 7_200_000 }]);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('reconcile realigns a schedule whose spec, policies and action were changed in Temporal, and it fires per the row again', async () => {
    const trigger = await createTrigger({ name: 'every second', type: 'schedule', config: { intervalSeconds: 1 }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    const original = await describe_(trigger.id);
    // Behind the API's back: a yearly cron, another trigger's arguments, other policies.
    await stack.client.schedule.getHandle(scheduleIdOf(trigger.id)).update((prev) => ({
      ...prev,
      spec: { cronExpressions: ['0 0 1 1 *'] },
      action: { ...prev.action, args: [{ triggerId: 'someone-else', source: 'schedule' }] },
      policies: { overlap: 'ALLOW_ALL', catchupWindow: '1h', pauseOnFailure: true },
    }));
    const drifted = await describe_(trigger.id);
    expect(drifted.spec.intervals).toEqual([]);
    await eventually(() => history(trigger.id), (rows) => rows.every((r) => r.status !== 'running'));
    const firedBefore = (await history(trigger.id)).length;

    const result = await t.api.post('/api/v1/triggers/reconcile').expect(200);
    expect(result.body.realigned).toEqual([scheduleIdOf(trigger.id)]);
    expect(result.body.repaired).not.toContain(scheduleIdOf(trigger.id));
    const restored = await describe_(trigger.id);
    expect(restored.spec).toEqual(original.spec);
    expect(restored.spec.intervals).toEqual([{ every: 1000 }]);
    expect(restored.policies).toEqual({ overlap: 'SKIP', catchupWindow: 60_000, pauseOnFailure: false });
    expect(restored.action).toEqual(original.action);
    expect(restored.state.paused).toBe(false);
    // Fires every second again, as this trigger (the arguments are its own again).
    await eventually(() => history(trigger.id), (rows) => rows.filter((r) => r.status === 'succeeded').length >= firedBefore + 2);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('reconcile puts back a cron schedule turned into a 1 s interval on another task queue: next firings at 09:00 Berlin again', async () => {
    const trigger = await createTrigger({
      name: 'nine berlin', type: 'schedule', config: { cron: '0 9 * * *', timezone: 'Europe/Berlin', catchupWindowSeconds: 600 }, action: { kind: 'tool', tool: 'core.echo', args: {} },
    });
    const original = await describe_(trigger.id);
    await stack.client.schedule.getHandle(scheduleIdOf(trigger.id)).update((prev) => ({
      ...prev,
      spec: { intervals: [{ every: '1s' }], timezone: 'UTC' },
      action: { ...prev.action, taskQueue: 'nobody-polls-this' },
    }));
    // A firing taken meanwhile goes to a queue no worker polls: it never runs.
    const result = await t.triggers.reconcile();
    expect(result.realigned).toEqual([scheduleIdOf(trigger.id)]);
    const restored = await describe_(trigger.id);
    expect(restored.spec).toEqual(original.spec);
    expect(restored.action).toMatchObject({ taskQueue: stack.taskQueue, workflowType: 'triggerRunWorkflow' });
    const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    expect(restored.info.nextActionTimes.length).toBeGreaterThan(0);
    expect(restored.info.nextActionTimes.map((at) => berlin.format(at))).toEqual(restored.info.nextActionTimes.map(() => '09:00:00'));
    // A run the drifted schedule started on the unpolled queue would wait there for ever.
    for (const running of restored.info.runningActions) await stack.client.workflow.getHandle(running.workflow.workflowId).terminate('test cleanup');
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });

  test('reconcile leaves untouched schedules alone: two passes over every kind of trigger realign and repair nothing', async () => {
    const made = await Promise.all([
      createTrigger({ name: 'cron', type: 'schedule', config: { cron: '30 6 * * 1-5', timezone: 'America/New_York', overlap: 'buffer_all', catchupWindowSeconds: 900, jitterSeconds: 45, pauseOnFailure: true }, action: { kind: 'plan', planId } }),
      createTrigger({ name: 'names', type: 'schedule', config: { cron: '15 10 * JAN-JUN MON-FRI' }, action: { kind: 'tool', tool: 'core.echo', args: {} } }),
      createTrigger({ name: 'macro', type: 'schedule', config: { cron: '@daily' }, action: { kind: 'tool', tool: 'core.echo', args: {} } }),
      createTrigger({ name: 'every', type: 'schedule', config: { cron: '@every 90m' }, action: { kind: 'tool', tool: 'core.echo', args: {} } }),
      createTrigger({ name: 'interval', type: 'schedule', config: { intervalSeconds: 7200, overlap: 'allow_all' }, action: { kind: 'tool', tool: 'core.echo', args: { a: [1, { b: null }] } } }),
      createTrigger({ name: 'disabled', type: 'schedule', enabled: false, config: { cron: '0 0 1 1 *' }, action: { kind: 'plan', planId } }),
      createTrigger({ name: 'condition', type: 'condition', config: { tool: 'core.echo', args: { level: 20 }, expression: { path: 'result.level', op: 'gte', value: 10 }, intervalSeconds: 3600 }, action: { kind: 'tool', tool: 'core.echo', args: {} } }),
    ]);
    const ids = made.map((m) => scheduleIdOf(m.id));
    const service = t.triggers;
    for (const pass of [await service.reconcile(), await service.reconcile()]) {
      expect([...pass.recreated, ...pass.realigned, ...pass.repaired].filter((id) => ids.includes(id))).toEqual([]);
      expect(pass.failed).toEqual([]);
    }
    // The normalisation probes are gone again.
    await eventually(async () => {
      const probes: string[] = [];
      for await (const s of stack.client.schedule.list()) if (s.scheduleId.startsWith(SPEC_PROBE_PREFIX)) probes.push(s.scheduleId);
      return probes;
    }, (probes) => probes.length === 0);
    for (const m of made) await t.api.delete(`/api/v1/triggers/${m.id}`).expect(204);
  });

  test('execute and backfill of a trigger whose schedule is missing recreate it from the row and go ahead', async () => {
    const trigger = await createTrigger({ name: 'lost schedule', type: 'schedule', config: { cron: '0 0 1 1 *', overlap: 'allow_all' }, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    await stack.client.schedule.getHandle(scheduleIdOf(trigger.id)).delete();
    await t.api.post(`/api/v1/triggers/${trigger.id}/execute`).send({}).expect(202);
    expect((await describe_(trigger.id)).state.paused).toBe(false);
    await eventually(() => history(trigger.id), (rows) => rows.filter((r) => r.status === 'succeeded').length === 1);

    await stack.client.schedule.getHandle(scheduleIdOf(trigger.id)).delete();
    const start = new Date(Date.UTC(new Date().getUTCFullYear() - 1, 0, 1) - 60_000);
    await t.api.post(`/api/v1/triggers/${trigger.id}/backfill`).send({ start, end: new Date(start.getTime() + 120_000) }).expect(202);
    await eventually(() => history(trigger.id), (rows) => rows.filter((r) => r.status === 'succeeded').length === 2);
    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
  });
});
