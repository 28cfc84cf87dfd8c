import type { EventBus } from '../activities/events/event-bus';
import { openEventBus } from '../activities/events/open-event-bus';
import { createPluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import type { EventCause, OwnPilotEvent } from '../activities/events/event-types';
import { EVENT_TRIGGER_SUBSCRIBER } from '../activities/triggers/event-trigger-dispatcher';
import { createCausationResolver } from '../activities/triggers/trigger-causation';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { buildTriggerApp } from './support/trigger-app';
import { testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

type HistoryRow = { id: string; status: string; error: string | null; workflowId: string; planWorkflowId: string | null; causationChain: string[] };

describe('trigger causation: events a tool emits as a side effect carry their cause, across processes', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  /** Another process's bus: the dispatcher hears every event only through event_log + NOTIFY. */
  let remote: EventBus;
  let detach: () => void;
  const pluginId = `cause${newId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const noteMaker = `plugin.${pluginId}.note_maker`;
  const maker = `plugin:${pluginId}`;

  beforeAll(async () => {
    stack = await openTestStack();
    // A sandboxed tool (runnable by any principal, in any process: other test files' dispatchers may
    // start a firing on their own workers) whose resource side effect no definition declares, so the
    // create-time cycle check cannot see it. Its nested create runs as the plugin.
    await stack.tools.registerPluginTool(
      pluginId,
      { name: noteMaker, description: 'creates a note', category: 'test', parameters: { type: 'object' }, tags: [] },
      "return await tools.call('core.notes.create', { title: args.title });",
      { allowedTools: ['core.notes.create'] },
    );
    await stack.startWorker();
    t = await buildTriggerApp(stack);
    remote = await openEventBus(stack.info.databaseUrl, createLogger('remote-events', 'silent'));
    detach = t.dispatcher.attach(remote);
  });
  afterAll(async () => {
    detach();
    await remote.close();
    await stack.close();
  });

  const history = async (id: string) => (await t.api.get(`/api/v1/triggers/${id}/history?limit=100`).expect(200)).body.items as HistoryRow[];
  const createTrigger = async (body: Record<string, unknown>) => (await t.api.post('/api/v1/triggers').send(body).expect(201)).body.id as string;
  const onNote = (title: string) => ({ pattern: 'resource.created', filter: { all: [{ path: 'data.resourceType', op: 'eq', value: 'notes' }, { path: 'data.data.title', op: 'eq', value: title }] } });
  /** Every event emitted before now has been dispatched by the remote dispatcher (same FIFO) and every firing of `id` has finished. */
  const settle = async (id: string) => {
    for (let round = 0; round < 2; round++) {
      const marker = newId();
      let seen = false;
      const sub = remote.subscribe(EVENT_TRIGGER_SUBSCRIBER, 'agent.started', (e) => {
        if ((e.data as { agentId?: string }).agentId === marker) seen = true;
      });
      stack.bus.emit('agent.started', { agentId: marker }, 'test');
      await eventually(async () => seen, (s) => s);
      remote.unsubscribe(sub);
      await eventually(() => history(id), (rows) => rows.every((r) => r.status !== 'running'));
    }
  };

  test('on resource.created → a tool that creates a resource: the second firing is refused as a cycle; a user’s resource still fires', async () => {
    const a = await createTrigger({ name: 'note echo (tool)', type: 'event', config: onNote('loop-a'), action: { kind: 'tool', tool: noteMaker, args: { title: 'loop-a' } } });
    await stack.resources.create('notes', 'user:causation', { title: 'loop-a' });

    const rows = await eventually(() => history(a), (r) => r.some((x) => x.status === 'skipped') && r.some((x) => x.status === 'succeeded')); // the echo can be refused before its firing has ended
    const fired = rows.find((x) => x.status === 'succeeded')!;
    expect(fired.causationChain).toEqual([]);
    expect(rows.find((x) => x.status === 'skipped')).toMatchObject({ causationChain: [a], error: `cycle: ${a} → ${a}` });
    // The side effect's envelope, as stored (what other processes read), names the call that made it.
    // (The nested create ran as the plugin; the cause is the outermost call, the trigger's: for its creator, admin, via the trigger.)
    const logged = await stack.prisma.eventLog.findMany({ where: { eventType: 'resource.created', source: maker, data: { path: ['data', 'title'], equals: 'loop-a' } } });
    expect(logged.map((e) => e.cause)).toEqual([{ requesterId: 'admin', via: `trigger:${a}`, idempotencyKey: fired.workflowId }]);
    await settle(a);
    expect(await history(a)).toHaveLength(2);
    expect(await stack.prisma.note.count({ where: { ownerId: maker, title: 'loop-a' } })).toBe(1);

    // An unrelated resource.created from a user (no cause) fires normally, and its echo is refused again.
    await stack.resources.create('notes', 'user:causation', { title: 'loop-a' });
    await eventually(() => history(a), (r) => r.filter((x) => x.status === 'succeeded').length === 2 && r.filter((x) => x.status === 'skipped').length === 2);
    await settle(a);
    expect(await history(a)).toHaveLength(4);
    expect(await stack.prisma.note.count({ where: { ownerId: maker, title: 'loop-a' } })).toBe(2);
    await t.api.delete(`/api/v1/triggers/${a}`).expect(204);
  });

  test('on resource.created → a plan whose step creates a resource: the plan step’s event leads back to the firing and is refused', async () => {
    const planId = (await t.api.post('/api/v1/plans').send({ name: 'note plan', steps: [{ id: 'make', kind: 'tool', tool: noteMaker, args: { title: 'loop-b' } }] }).expect(201)).body.id as string;
    const b = await createTrigger({ name: 'note echo (plan)', type: 'event', config: onNote('loop-b'), action: { kind: 'plan', planId } });
    await stack.resources.create('notes', 'user:causation', { title: 'loop-b' });

    const rows = await eventually(() => history(b), (r) => r.some((x) => x.status === 'skipped') && r.some((x) => x.status === 'succeeded')); // the echo can be refused before its firing has ended
    const fired = rows.find((x) => x.status === 'succeeded')!;
    expect(fired.planWorkflowId).not.toBeNull();
    expect(rows.find((x) => x.status === 'skipped')).toMatchObject({ causationChain: [b], error: `cycle: ${b} → ${b}`, planWorkflowId: null });
    const [logged] = await stack.prisma.eventLog.findMany({ where: { eventType: 'resource.created', source: maker, data: { path: ['data', 'title'], equals: 'loop-b' } } });
    // The run is the trigger creator's (admin): its steps call as its starter, through the trigger.
    expect(logged!.cause).toEqual({ requesterId: 'admin', via: `trigger:${b}`, idempotencyKey: `${fired.planWorkflowId}/make/0` });
    // A step's cause leads to its run's chain (not read as the firing's own call, whose key is the firing id
    // alone); one naming another trigger as `via` is not followed, one without (a worker before `via`) is.
    const causes = createCausationResolver({ prisma: stack.prisma });
    const withCause = (cause: EventCause): OwnPilotEvent => ({ id: logged!.id, type: logged!.eventType, category: 'resource', source: logged!.source, data: logged!.data, timestamp: logged!.timestamp.toISOString(), cause });
    const stepKey = `${fired.planWorkflowId}/make/0`;
    expect(await causes.chainOf(withCause({ requesterId: 'admin', via: `trigger:${b}`, idempotencyKey: stepKey }))).toEqual([b]);
    expect(await causes.chainOf(withCause({ requesterId: 'admin', idempotencyKey: stepKey }))).toEqual([b]);
    expect(await causes.chainOf(withCause({ requesterId: 'admin', via: 'trigger:other', idempotencyKey: stepKey }))).toEqual([]);
    expect(await causes.chainOf(withCause({ requesterId: 'user:causation', via: `trigger:${b}`, idempotencyKey: stepKey }))).toEqual([]);
    await settle(b);
    expect(await history(b)).toHaveLength(2);
    expect(await stack.prisma.planRun.count({ where: { planId } })).toBe(1);

    await stack.resources.create('notes', 'user:causation', { title: 'loop-b' });
    await eventually(() => history(b), (r) => r.filter((x) => x.status === 'succeeded').length === 2 && r.filter((x) => x.status === 'skipped').length === 2);
    await settle(b);
    expect(await history(b)).toHaveLength(4);
    expect(await stack.prisma.planRun.count({ where: { planId } })).toBe(2);
    await t.api.delete(`/api/v1/triggers/${b}`).expect(204);
  });

  test('a cause names only its own requester’s firing or run: a user call reusing a firing id as its key is not pinned on that chain', async () => {
    const c = await createTrigger({ name: 'note echo (spoof)', type: 'event', config: onNote('loop-c'), action: { kind: 'tool', tool: noteMaker, args: { title: 'other' } } });
    await stack.resources.create('notes', 'user:causation', { title: 'loop-c' });
    const [first] = await eventually(() => history(c), (r) => r.length === 1 && r[0]!.status === 'succeeded');
    // A user creates a note with the firing's id as idempotency key: its event is the user's, and fires normally.
    await stack.tools.execute('core.notes.create', { title: 'loop-c' }, { requesterId: 'user:causation', idempotencyKey: first!.workflowId });
    const rows = await eventually(() => history(c), (r) => r.length === 2 && r.every((x) => x.status === 'succeeded'));
    expect(rows.map((r) => r.causationChain)).toEqual([[], []]);
    await t.api.delete(`/api/v1/triggers/${c}`).expect(204);
  });

  test('through a plugin’s event handler: its tool call inherits the handled event’s cause, so "note → plugin event → trigger → note" is refused', async () => {
    const relayId = `relay${newId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    const relay = `plugin.${relayId}.relay`;
    const code = `if (args.event.data.data && args.event.data.data.title === 'loop-d') await tools.call('core.events.emit', { type: 'plugin.${relayId}.noted', data: { title: 'loop-d' } }); return { ok: true };`;
    // An enabled plugin relaying resource.created as plugin.<id>.noted (stored as its install would leave it).
    const manifest = testPluginManifest(relayId, {
      permissions: ['tools', 'events.subscribe', 'events.emit'],
      tables: [],
      tools: [{ name: 'relay', description: 'relays loop-d notes', parameters: { type: 'object' }, allowedTools: ['core.events.emit'], code }],
      subscriptions: [{ pattern: 'resource.created', tool: 'relay' }],
    });
    await stack.tools.registerPluginTool(relayId, { name: relay, description: 'relays loop-d notes', category: 'plugin', parameters: { type: 'object' }, tags: [] }, code, { allowedTools: ['core.events.emit'] });
    await stack.prisma.plugin.create({
      data: { id: relayId, manifest: manifest as object, status: 'enabled', installedAt: new Date(), updatedAt: new Date(), subscriptions: { create: { id: newId(), eventPattern: 'resource.created', toolName: relay } } },
    });
    const host = createPluginSubscriptionHost({ prisma: stack.prisma, bus: stack.bus, tools: stack.tools, logger: createLogger('plugin-host', 'silent'), resyncIntervalMs: 0 });
    await host.start();
    try {
      // The plugin's effect is unknown at definition time: accepted, and stopped at run time.
      const d = await createTrigger({ name: 'relay echo', type: 'event', config: { pattern: `plugin.${relayId}.noted` }, action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'loop-d' } } });
      await stack.resources.create('notes', 'user:causation', { title: 'loop-d' });
      const rows = await eventually(() => history(d), (r) => r.some((x) => x.status === 'skipped') && r.some((x) => x.status === 'succeeded')); // the echo can be refused before its firing has ended
      const fired = rows.find((x) => x.status === 'succeeded')!;
      expect(fired.causationChain).toEqual([]);
      expect(rows.find((x) => x.status === 'skipped')).toMatchObject({ causationChain: [d], error: `cycle: ${d} → ${d}` });
      const relayed = await stack.prisma.eventLog.findMany({ where: { eventType: `plugin.${relayId}.noted` }, orderBy: { timestamp: 'asc' } });
      expect(relayed.map((e) => e.cause)).toEqual([
        // relaying the user's note: the handler's own call; relaying the trigger's note: the trigger's call (each one handler hop)
        { requesterId: `plugin:${relayId}`, idempotencyKey: expect.any(String), pluginHops: 1 },
        { requesterId: 'admin', via: `trigger:${d}`, idempotencyKey: fired.workflowId, pluginHops: 1 },
      ]);
      await settle(d);
      expect(await history(d)).toHaveLength(2);
      expect(await stack.prisma.note.count({ where: { ownerId: 'admin', title: 'loop-d' } })).toBe(1);
      await t.api.delete(`/api/v1/triggers/${d}`).expect(204);
    } finally {
      host.stop();
      await stack.prisma.plugin.delete({ where: { id: relayId } });
      await stack.tools.unregisterPluginTools(relayId);
    }
  });
});
