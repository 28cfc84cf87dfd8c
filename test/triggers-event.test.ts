import type { OwnPilotEvent } from '../activities/events/event-types';
import { createEventTriggerDispatcher } from '../activities/triggers/event-trigger-dispatcher';
import { createTriggerRunStarter } from '../activities/triggers/trigger-run-starter';
import { openEventBus } from '../activities/events/open-event-bus';
import { createLogger } from '../platform/logger';
import { newId } from '../platform/ids';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { createDeafenableRole } from './support/deafenable-role';
import { testPluginManifest } from './support/plugin-fixtures';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackInfo } from './support/stack-info';
import { eventually } from './support/wait';

const event = (type: string, data: unknown): OwnPilotEvent => ({ id: newId(), type, category: type.split('.')[0] as OwnPilotEvent['category'], source: 'test', data, timestamp: new Date().toISOString() });

describe('event triggers: pattern + payload filter, one firing per event', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  const create = async (config: Record<string, unknown>) =>
    (await t.api.post('/api/v1/triggers').send({ name: 'on event', type: 'event', config, action: { kind: 'tool', tool: 'core.echo', args: { id: '{{payload.data.id}}' } } }).expect(201)).body.id as string;
  const firings = (id: string) => stack.prisma.triggerHistory.findMany({ where: { triggerId: id } });

  test('two processes receiving the same event start exactly one run', async () => {
    const id = await create({ pattern: 'resource.created', filter: { all: [{ path: 'data.resourceType', op: 'eq', value: 'note' }, { path: 'data.size', op: 'gt', value: 10 }] } });
    // A second process: its own Temporal client and dispatcher, same database.
    const other = createEventTriggerDispatcher({
      prisma: stack.prisma,
      starter: createTriggerRunStarter({ temporal: stack.client, taskQueue: stack.taskQueue }),
      logger: createLogger('other', 'silent'),
    });
    const e = event('resource.created', { resourceType: 'note', id: 'n1', size: 11 });
    const [a, b] = await Promise.all([t.dispatcher.dispatch(e), other.dispatch(e)]);
    expect(a).toEqual([`trigger-${id}-ev-${e.id}`]);
    expect(b).toEqual(a);
    // Even after the run finished, a late third delivery starts nothing new.
    const result = await stack.client.workflow.getHandle(a[0]!).result();
    expect(result.output).toEqual({ id: 'n1' });
    await t.dispatcher.dispatch(e);
    const rows = await eventually(() => firings(id), (r) => r.length === 1 && r[0]!.status === 'succeeded');
    expect(rows).toHaveLength(1);
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });

  test('one event on the real bus, received by two bus instances (LISTEN/NOTIFY), fires once', async () => {
    const id = await create({ pattern: 'resource.created', filter: { path: 'data.resourceType', op: 'eq', value: 'bus-note' } });
    const logger = createLogger('other', 'silent');
    const otherBus = await openEventBus(stackInfo().databaseUrl, logger);
    const detachA = t.dispatcher.attach(stack.bus);
    const detachB = createEventTriggerDispatcher({ prisma: stack.prisma, starter: createTriggerRunStarter({ temporal: stack.client, taskQueue: stack.taskQueue }), logger }).attach(otherBus);
    try {
      const emitted = stack.bus.emit('resource.created', { resourceType: 'bus-note', id: 'n2' }, 'test');
      const rows = await eventually(() => firings(id), (r) => r.length === 1 && r[0]!.status === 'succeeded');
      expect(rows[0]!.workflowId).toBe(`trigger-${id}-ev-${emitted.id}`);
      // The second process has received it too (its start was a no-op): wait for a later event to pass through both.
      const marker = stack.bus.emit('resource.created', { resourceType: 'other', id: 'n3' }, 'test');
      await eventually(() => stack.prisma.eventLog.findUnique({ where: { id: marker.id } }), (row) => row !== null);
      expect(await firings(id)).toHaveLength(1);
    } finally {
      detachA();
      detachB();
      await otherBus.close();
    }
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });

  test('an event committed while the dispatching process’s listener is cut fires its trigger once the listener is back, once', async () => {
    const id = await create({ pattern: 'resource.created', filter: { path: 'data.resourceType', op: 'eq', value: 'cut-note' } });
    const role = await createDeafenableRole();
    const apiBus = await openEventBus(role.url, createLogger('api', 'silent')); // the process that dispatches, with a connection the test can cut
    const detach = createEventTriggerDispatcher({ prisma: stack.prisma, starter: createTriggerRunStarter({ temporal: stack.client, taskQueue: stack.taskQueue }), logger: createLogger('api', 'silent') }).attach(apiBus);
    try {
      await role.deafen(apiBus.metrics().store!.listenerPid!);
      await eventually(async () => apiBus.metrics().store!.listening, (l) => !l);
      const missed = await stack.bus.emitAsync('resource.created', { resourceType: 'cut-note', id: 'n4' }, 'test', { until: 'committed' });
      await role.restore();
      const rows = await eventually(() => firings(id), (r) => r.length === 1 && r[0]!.status === 'succeeded', 60_000);
      expect(rows[0]!.workflowId).toBe(`trigger-${id}-ev-${missed.id}`);
    } finally {
      detach();
      await role.restore();
      await apiBus.close();
      await role.drop();
    }
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  }, 90_000);

  test('an API started after events were committed reads them back from event_log: each fires once, never for a trigger created after it', async () => {
    const tag = newId(6);
    const id = await create({ pattern: `agent.${tag}.done` });
    // committed while no process dispatched (the API was down); the second one before `late` existed
    const missed = await stack.bus.emitAsync(`agent.${tag}.done`, { agentId: 'a' }, 'test', { until: 'committed' });
    const late = await create({ pattern: `agent.${tag}.*` });
    const logger = createLogger('api', 'silent');
    const starter = createTriggerRunStarter({ temporal: stack.client, taskQueue: stack.taskQueue });
    const attachApi = () => createEventTriggerDispatcher({ prisma: stack.prisma, starter, logger, catchUpMs: 60_000 }).attach(stack.bus);
    const detach = [attachApi()];
    try {
      const rows = await eventually(() => firings(id), (r) => r.length === 1 && r[0]!.status === 'succeeded');
      expect(rows[0]!.workflowId).toBe(`trigger-${id}-ev-${missed.id}`);
      detach.push(attachApi()); // a second API process starting reads the same events: nothing starts twice
      const marker = stack.bus.emit(`agent.${tag}.marker`, { agentId: 'm' }, 'test');
      await eventually(() => firings(late), (r) => r.some((x) => x.workflowId === `trigger-${late}-ev-${marker.id}`));
      expect(await firings(id)).toHaveLength(1);
      expect((await firings(late)).map((r) => r.workflowId)).toEqual([`trigger-${late}-ev-${marker.id}`]);
    } finally {
      for (const stop of detach) stop();
    }
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
    await t.api.delete(`/api/v1/triggers/${late}`).expect(204);
  });

  test('a burst of 15,000 events from another process is dispatched without loss: the events matching a trigger at its end all fire', async () => {
    const tag = newId(6);
    const id = await create({ pattern: `agent.${tag}.hit` });
    const workerBus = await openEventBus(stackInfo().databaseUrl, createLogger('worker', 'silent'));
    const detach = t.dispatcher.attach(stack.bus);
    try {
      for (let i = 0; i < 15_000; i++) workerBus.emit(`agent.${tag}.miss`, { agentId: String(i) }, 'test');
      const hits = Array.from({ length: 3 }, (_, i) => workerBus.emit(`agent.${tag}.hit`, { agentId: `hit-${i}` }, 'test'));
      const rows = await eventually(() => firings(id), (r) => r.length === 3, 60_000);
      expect(rows.map((r) => r.workflowId).sort()).toEqual(hits.map((e) => `trigger-${id}-ev-${e.id}`).sort());
      expect(stack.bus.metrics().subscribers['trigger-service']).toMatchObject({ overflowed: 0 });
    } finally {
      detach();
      await workerBus.close();
    }
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  }, 120_000);

  test('pattern and filter decide; disabled triggers and a trigger’s own events never fire', async () => {
    const id = await create({ pattern: 'plugin.*.done', filter: { any: [{ path: 'data.status', op: 'in', value: ['ok', 'partial'] }, { path: 'data.tags', op: 'contains', value: 'urgent' }] } });
    expect(await t.dispatcher.dispatch(event('plugin.digest.done', { status: 'failed' }))).toEqual([]);
    expect(await t.dispatcher.dispatch(event('plugin.digest.started', { status: 'ok' }))).toEqual([]);
    expect(await t.dispatcher.dispatch(event('plugin.digest.x.done', { status: 'ok' }))).toEqual([]);
    expect(await t.dispatcher.dispatch(event('plugin.digest.done', { status: 'ok' }))).toHaveLength(1);
    expect(await t.dispatcher.dispatch(event('plugin.mail.done', { status: 'no', tags: ['urgent'] }))).toHaveLength(1);

    const loop = await create({ pattern: 'trigger.**' });
    expect(await t.dispatcher.dispatch(event('trigger.executed', { triggerId: loop }))).toEqual([]);
    const fromOther = await t.dispatcher.dispatch(event('trigger.executed', { triggerId: id }));
    expect(fromOther).toEqual([expect.stringMatching(new RegExp(`^trigger-${loop}-ev-`))]);

    await t.api.post(`/api/v1/triggers/${id}/disable`).expect(200);
    expect(await t.dispatcher.dispatch(event('plugin.digest.done', { status: 'ok' }))).toEqual([]);
    await eventually(() => firings(id), (r) => r.length === 2 && r.every((x) => x.status === 'succeeded'));
    await t.api.post('/api/v1/triggers').send({ name: 'bad', type: 'event', config: { pattern: 'Resource..x', filter: { path: 'a', op: 'gt', value: [1] } }, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(400);
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
    await t.api.delete(`/api/v1/triggers/${loop}`).expect(204);
  });

  test('a trigger fires only on events its creator may read; a plugin may not watch another namespace', async () => {
    const tag = newId(6).toLowerCase();
    const as = async (principal: string) => authed(t.app, await createTestKey(testKeyService(stack.prisma), principal));
    const bob = await as(`user:bob${tag}`);
    const pa = await as(`plugin:pa${tag}`);
    // Installed and enabled: a plugin's trigger acts as the plugin only while it is.
    await stack.prisma.plugin.create({ data: { id: `pa${tag}`, manifest: testPluginManifest(`pa${tag}`) as object, status: 'enabled', installedAt: new Date(), updatedAt: new Date() } });
    const action = { kind: 'tool', tool: 'core.echo', args: { got: '{{payload.data}}' } };
    const spy = (await bob.post('/api/v1/triggers').send({ name: 'spy', type: 'event', config: { pattern: 'resource.*' }, action }).expect(201)).body.id as string;
    const resource = (source: string) => ({ ...event('resource.created', { resourceType: 'notes', id: `n-${tag}`, title: 'PRIVATE' }), source });
    // Alice's resource event carries her row: Bob's trigger must not pass it to a run Bob can read.
    expect(await t.dispatcher.dispatch(resource(`user:alice${tag}`))).toEqual([]);
    expect(await t.dispatcher.dispatch(resource(`user:bob${tag}`))).toEqual([expect.stringMatching(new RegExp(`^trigger-${spy}-ev-`))]);
    // An admin's trigger sees every event.
    const audit = await create({ pattern: 'resource.created', filter: { path: 'data.id', op: 'eq', value: `n-${tag}` } });
    expect(await t.dispatcher.dispatch(resource(`user:alice${tag}`))).toEqual([expect.stringMatching(new RegExp(`^trigger-${audit}-ev-`))]);

    // A plugin watches only plugin.<its id>.*: refused at create and at update, and filtered at dispatch.
    for (const pattern of [`plugin.pb${tag}.**`, '**', 'resource.*']) {
      const refused = await pa.post('/api/v1/triggers').send({ name: 'peek', type: 'event', config: { pattern }, action }).expect(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
    }
    const own = (await pa.post('/api/v1/triggers').send({ name: 'own', type: 'event', config: { pattern: `plugin.pa${tag}.**` }, action }).expect(201)).body.id as string;
    await pa.patch(`/api/v1/triggers/${own}`).send({ config: { pattern: `plugin.pb${tag}.**` } }).expect(403);
    // Even a pattern an admin widened for it only fires on the plugin's own events.
    await t.api.patch(`/api/v1/triggers/${own}`).send({ config: { pattern: 'plugin.**' } }).expect(403);
    await stack.prisma.trigger.update({ where: { id: own }, data: { config: { pattern: 'plugin.**' } } });
    expect(await t.dispatcher.dispatch(event(`plugin.pb${tag}.report`, { secret: 'PB-PRIVATE' }))).toEqual([]);
    expect(await t.dispatcher.dispatch(event(`plugin.pa${tag}.report`, { mine: true }))).toEqual([expect.stringMatching(new RegExp(`^trigger-${own}-ev-`))]);

    await eventually(() => stack.prisma.triggerHistory.findMany({ where: { triggerId: { in: [spy, audit, own] } } }), (rows) => rows.length === 3 && rows.every((r) => r.status === 'succeeded'));
    for (const id of [spy, audit, own]) await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });
});
