import { MockActivityEnvironment } from '@temporalio/testing';
import express from 'express';
import request from 'supertest';
import { createEventActivities } from '../activities/events/event-activities';
import type { EventBus } from '../activities/events/event-bus';
import { openEventBus } from '../activities/events/open-event-bus';
import { createEventStreams } from '../activities/events/event-stream';
import type { OwnPilotEvent } from '../activities/events/event-types';
import { mayReadEvent } from '../activities/events/event-visibility';
import { errorMiddleware } from '../api/error-middleware';
import { eventsRouter } from '../api/routes/events-router';
import { createLogger } from '../platform/logger';
import { newId } from '../platform/ids';
import { createDeafenableRole } from './support/deafenable-role';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

const logger = createLogger('test', 'silent');

// Each bus has its own PostgreSQL connections and instance id, exactly as the API and the
// worker processes do; NOTIFY goes through the real server between them.
describe('event bus over PostgreSQL: event_log and delivery across processes', () => {
  let stack: TestStack;
  let api: EventBus; // stands for the API process
  let worker: EventBus; // stands for the worker process
  const opened: EventBus[] = [];
  const open = async () => {
    const bus = await openEventBus(stack.info.databaseUrl, logger);
    opened.push(bus);
    return bus;
  };

  beforeAll(async () => {
    stack = await openTestStack();
    api = stack.bus;
    worker = await open();
  });
  afterAll(async () => {
    for (const bus of opened) await bus.close();
    await stack.close();
  });

  test('an event emitted in one process reaches the other, and is not delivered twice locally when NOTIFY echoes it', async () => {
    const tag = newId(6);
    const inWorker: OwnPilotEvent[] = [];
    const inApi: OwnPilotEvent[] = [];
    worker.subscribe(`w-${tag}`, `plugin.${tag}.*`, (e) => void inWorker.push(e));
    api.subscribe(`a-${tag}`, `plugin.${tag}.*`, (e) => void inApi.push(e));
    const echoesBefore = api.metrics().ownEchoes;

    const sent = [api.emit(`plugin.${tag}.one`, { n: 1 }, 'api'), api.emit(`plugin.${tag}.two`, { n: 2 }, 'api')];
    await eventually(async () => inWorker.length, (n) => n === 2);
    expect(inWorker).toEqual(sent); // same id, timestamp, data and order on the other side
    // wait until the api bus has heard its own two events back through NOTIFY, then count
    await eventually(async () => api.metrics().ownEchoes - echoesBefore, (n) => n >= 2);
    expect(inApi.map((e) => e.id)).toEqual(sent.map((e) => e.id));

    // and the other way round
    const back = worker.emit(`plugin.${tag}.three`, { n: 3 }, 'worker');
    await eventually(async () => inApi.length, (n) => n === 3);
    expect(inApi[2]).toEqual(back);
    expect(inWorker).toHaveLength(3);
  });

  test('an event larger than the 8000-byte NOTIFY limit crosses by id and is loaded from event_log', async () => {
    const tag = newId(6);
    const got: OwnPilotEvent[] = [];
    worker.subscribe(`big-${tag}`, `plugin.${tag}.big`, (e) => void got.push(e));
    const oversizedBefore = api.metrics().store!.oversized;
    const text = 'x'.repeat(20_000);
    const sent = api.emit(`plugin.${tag}.big`, { text }, 'api');
    await eventually(async () => got.length, (n) => n === 1);
    expect(got[0]).toEqual(sent);
    expect(api.metrics().store!.oversized).toBe(oversizedBefore + 1);
  });

  test('an audience crosses processes (in the NOTIFY payload and by id) and is stored: the history filters by it in SQL', async () => {
    const tag = newId(6);
    const got: OwnPilotEvent[] = [];
    worker.subscribe(`aud-${tag}`, `plugin.${tag}.*`, (e) => void got.push(e));
    const audience = ['user:a', 'user:b'];
    const sent = [
      api.emit(`plugin.${tag}.small`, { n: 1 }, 'api', { audience }),
      api.emit(`plugin.${tag}.big`, { text: 'x'.repeat(20_000) }, 'api', { audience }),
      api.emit(`plugin.${tag}.open`, { n: 3 }, 'api'),
    ];
    await eventually(async () => got.length, (n) => n === 3);
    expect(got).toEqual(sent);
    expect(got.map((e) => e.audience)).toEqual([audience, audience, undefined]);
    await api.flush();
    const typesFor = async (reader?: string) => (await api.getEventHistory({ type: `plugin.${tag}.*`, order: 'asc' }, reader)).map((e) => e.type.split('.')[2]);
    expect(await typesFor()).toEqual(['small', 'big', 'open']);
    expect(await typesFor('user:b')).toEqual(['small', 'big', 'open']);
    expect(await typesFor('user:c')).toEqual(['open']);
    expect(() => api.emit(`plugin.${tag}.bad`, {}, 'api', { audience: [''] })).toThrow(/invalid audience/);
  });

  test('the history applies each reader\'s visibility in SQL, exactly as mayReadEvent: pages stay full', async () => {
    const tag = newId(6).toLowerCase();
    const [mine, theirs] = [`plugin:${tag}a`, `plugin:${tag}b`];
    const from = new Date(Date.now() - 1000).toISOString();
    const resource = (source: string) => api.emitAsync('resource.created', { resourceType: 'note', id: newId() }, source);
    // Between user:a's oldest event and its newer ones, six it may not read.
    const sent: OwnPilotEvent[] = [await resource('user:a')];
    for (let i = 0; i < 3; i++) sent.push(await resource('user:b'), await resource('user:c'));
    sent.push(
      await api.emitAsync(`plugin.${tag}a.ping`, { n: 1 }, mine),
      await api.emitAsync(`plugin.${tag}b.ping`, { n: 2 }, theirs),
      await api.emitAsync(`plugin.${tag}a.private`, { n: 3 }, mine, { audience: ['user:b', mine] }),
      await api.emitAsync(`plugin.${tag}b.only-admin`, { n: 4 }, theirs, { audience: ['admin'] }),
    );
    const to = new Date(Date.now() + 1000).toISOString();
    const ids = new Set(sent.map((e) => e.id));
    for (const reader of ['user:a', 'user:b', 'user:c', mine, theirs, `trigger:${tag}`]) {
      const page = (await api.getEventHistory({ from, to, limit: 500 }, reader)).filter((e) => ids.has(e.id));
      expect([reader, page.map((e) => e.id).sort()]).toEqual([reader, sent.filter((e) => mayReadEvent(reader, e)).map((e) => e.id).sort()]);
    }
    // A user's page over everything is full of what it may read: the others' resource events take no room in it.
    const firstOfA = await api.getEventHistory({ type: '**', from, to, limit: 3 }, 'user:a');
    expect(firstOfA).toHaveLength(3);
    expect(firstOfA.filter((e) => !mayReadEvent('user:a', e))).toEqual([]);
  });

  test('events reach the other process in emit order, oversized ones (loaded from event_log) included', async () => {
    const tag = newId(6);
    const got: number[] = [];
    worker.subscribe(`order-${tag}`, `plugin.${tag}.*`, (e) => void got.push((e.data as { n: number }).n));
    const oversizedBefore = api.metrics().store!.oversized;
    for (let n = 0; n < 8; n++) api.emit(`plugin.${tag}.step`, { n, pad: n % 2 === 0 ? 'é'.repeat(5000) : '' }, 'api');
    await eventually(async () => got.length, (count) => count === 8);
    expect(api.metrics().store!.oversized - oversizedBefore).toBe(4);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('delivery is at-most-once: a failing handler is not retried, a process that was not listening never gets the event', async () => {
    const tag = newId(6);
    let calls = 0;
    worker.subscribe(`fail-${tag}`, `plugin.${tag}.*`, () => {
      calls++;
      throw new Error('handler down');
    });
    api.emit(`plugin.${tag}.first`, {}, 'api');
    await eventually(async () => calls, (n) => n === 1);

    // a process that starts listening after the commit never receives the earlier event ...
    const late = await open();
    const lateGot: OwnPilotEvent[] = [];
    late.subscribe(`late-${tag}`, `plugin.${tag}.*`, (e) => void lateGot.push(e));
    const marker = api.emit(`plugin.${tag}.marker`, {}, 'api');
    await eventually(async () => lateGot.length, (n) => n === 1);
    expect(lateGot.map((e) => e.id)).toEqual([marker.id]);
    // ... and the failed delivery was never repeated (both events reached `fail` exactly once)
    await eventually(async () => calls, (n) => n === 2);
    expect(worker.metrics().subscribers[`fail-${tag}`]).toMatchObject({ failed: 2, delivered: 0 });
  });

  test('nothing lost across a lost connection: events committed while the other process’s listener is down reach it once it is back, each once, in order', async () => {
    const tag = newId(6);
    const role = await createDeafenableRole();
    const other = await openEventBus(role.url, logger); // the other process, with a connection the test can cut
    try {
      const got: OwnPilotEvent[] = [];
      other.subscribe(`down-${tag}`, `plugin.${tag}.*`, (e) => void got.push(e));
      const before = api.emit(`plugin.${tag}.before`, {}, 'api');
      await eventually(async () => got.map((e) => e.id), (ids) => ids.includes(before.id));

      await role.deafen(other.metrics().store!.listenerPid!);
      await eventually(async () => other.metrics().store!.listening, (l) => !l);
      const missed = await api.emitAsync(`plugin.${tag}.missed`, { n: 1 }, 'api', { until: 'committed' });
      const missedBig = await api.emitAsync(`plugin.${tag}.missed_big`, { pad: 'x'.repeat(9000) }, 'api', { until: 'committed' });
      await role.restore();
      await eventually(async () => other.metrics().store!.listening, Boolean, 60_000);
      const after = api.emit(`plugin.${tag}.after`, {}, 'api');
      await eventually(async () => got.map((e) => e.id), (ids) => ids.includes(after.id));

      // the two committed meanwhile come from event_log after the reconnect, before what follows; `before` is not repeated
      expect(got.map((e) => e.id)).toEqual([before.id, missed.id, missedBig.id, after.id]);
      expect(got[1]).toEqual(missed);
      expect(other.metrics().store!.listenerReconnects).toBe(1);
      expect(other.metrics().store!.caughtUp).toBeGreaterThanOrEqual(3); // from 5 s before `before`: it is read again and dropped by id
    } finally {
      await role.restore();
      await other.close();
      await role.drop();
    }
  }, 90_000);

  test('every event lands in event_log in batches, also the ones emitted in a burst', async () => {
    const tag = newId(6);
    const batchesBefore = api.metrics().store!.log.batches;
    for (let i = 0; i < 2000; i++) api.emit(`plugin.${tag}.tick`, { i }, 'burst');
    await api.flush();
    const rows = await stack.prisma.eventLog.count({ where: { eventType: `plugin.${tag}.tick` } });
    expect(rows).toBe(2000);
    const batches = api.metrics().store!.log.batches - batchesBefore;
    expect(batches).toBeGreaterThanOrEqual(4); // at most 500 per batch
    expect(batches).toBeLessThan(100);
  });

  test('close() flushes what is still buffered: no event is lost on shutdown', async () => {
    const tag = newId(6);
    const closing = await openEventBus(stack.info.databaseUrl, logger);
    for (let i = 0; i < 300; i++) closing.emit(`plugin.${tag}.last`, { i }, 'shutdown');
    await closing.close();
    expect(await stack.prisma.eventLog.count({ where: { eventType: `plugin.${tag}.last` } })).toBe(300);
  });

  test('an event event_log refuses costs only itself: the rest of its batch is written and sent, and its emitAsync rejects (UNAVAILABLE)', async () => {
    const tag = newId(6);
    const got: string[] = [];
    worker.subscribe(`refused-${tag}`, `agent.${tag}`, (e) => void got.push(e.id));
    const droppedBefore = api.metrics().store!.log.dropped;
    // one batch: jsonb refuses a lone surrogate (an emoji cut in half), and used to drop the whole batch with it
    const good = api.emit(`agent.${tag}`, { agentId: 'a' }, 'test');
    const refused = api.emitAsync(`agent.${tag}`, { agentId: 'b', text: 'cut \ud83d' }, 'test', { until: 'committed' });
    const good2 = api.emit(`agent.${tag}`, { agentId: 'c' }, 'test');
    await expect(refused).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await api.flush();
    const logged = await stack.prisma.eventLog.findMany({ where: { eventType: `agent.${tag}` }, orderBy: [{ timestamp: 'asc' }, { id: 'asc' }] });
    expect(logged.map((e) => e.id)).toEqual([good.id, good2.id]);
    expect(api.metrics().store!.log.dropped - droppedBefore).toBe(1);
    expect(await eventually(async () => got, (ids) => ids.length === 2)).toEqual([good.id, good2.id]);
  });

  test('a failed write fails emitAsync and the emitEvent activity (retryably); the retry with the same id writes it without delivering it locally again', async () => {
    const tag = newId(6);
    const role = await createDeafenableRole();
    const roleName = new URL(role.url).username;
    const other = await openEventBus(role.url, logger); // a process whose writes the test can refuse
    try {
      const local: string[] = [];
      other.subscribe(`retry-${tag}`, `agent.${tag}`, (e) => void local.push(e.id));
      const { emitEvent } = createEventActivities({ events: other });
      const input = { type: `agent.${tag}`, data: { agentId: 'x' }, source: 'workflow:wf', id: `wf-${tag}/1` };
      await stack.prisma.$executeRawUnsafe(`REVOKE INSERT ON event_log FROM ${roleName}`);
      const failed = await new MockActivityEnvironment().run(emitEvent, input).then(() => undefined, (e: unknown) => e);
      expect(failed).toMatchObject({ code: 'UNAVAILABLE' }); // not a non-retryable failure: Temporal retries it
      expect(await stack.prisma.eventLog.count({ where: { id: input.id } })).toBe(0);
      await eventually(async () => local, (ids) => ids.length === 1);

      await stack.prisma.$executeRawUnsafe(`GRANT INSERT ON event_log TO ${roleName}`);
      expect(await new MockActivityEnvironment().run(emitEvent, input)).toEqual({ id: input.id });
      expect(await stack.prisma.eventLog.count({ where: { id: input.id } })).toBe(1);
      const marker = other.emit(`agent.${tag}`, { agentId: 'marker' }, 'test');
      await eventually(async () => local, (ids) => ids.includes(marker.id));
      expect(local).toEqual([input.id, marker.id]);
    } finally {
      await other.close();
      await role.drop();
    }
  });

  test('emitAsync with a fixed id (a retried activity) writes and sends the event once', async () => {
    const tag = newId(6);
    const got: OwnPilotEvent[] = [];
    worker.subscribe(`idem-${tag}`, `plugin.${tag}.*`, (e) => void got.push(e));
    const other = await open(); // a second emitter reusing the id, as a retry on another worker would
    await api.emitAsync(`plugin.${tag}.once`, { a: 1 }, 'wf', { id: `wf-${tag}/1` });
    await other.emitAsync(`plugin.${tag}.once`, { a: 1 }, 'wf', { id: `wf-${tag}/1` });
    const marker = api.emit(`plugin.${tag}.marker`, {}, 'api');
    await eventually(async () => got.map((e) => e.id), (ids) => ids.includes(marker.id));
    expect(got.filter((e) => e.id === `wf-${tag}/1`)).toHaveLength(1);
    expect(await stack.prisma.eventLog.count({ where: { id: `wf-${tag}/1` } })).toBe(1);
  });

  test('GET /api/v1/events filters by type pattern, category, source and time range, with pagination', async () => {
    const tag = newId(6);
    const app = express()
      .use((req, _res, next) => {
        (req as typeof req & { principal: string }).principal = 'admin';
        next();
      })
      .use('/api/v1/events', eventsRouter(api, createEventStreams({ events: api }), logger))
      .use(errorMiddleware(logger));
    const t0 = new Date();
    await api.emitAsync(`plugin.${tag}.a.created`, { n: 1 }, `src-${tag}`);
    await api.emitAsync(`plugin.${tag}.b.created`, { n: 2 }, `src-${tag}`);
    await api.emitAsync(`plugin.${tag}.b.deleted`, { n: 3 }, `other-${tag}`);
    await api.emitAsync('resource.created', { resourceType: 'note', id: tag }, `src-${tag}`);

    const get = async (query: Record<string, string | number>) => (await request(app).get('/api/v1/events').query(query).expect(200)).body;
    expect((await get({ type: `plugin.${tag}.*.created` })).items.map((e: OwnPilotEvent) => e.data)).toEqual([{ n: 2 }, { n: 1 }]);
    expect((await get({ type: `plugin.${tag}.**` })).items).toHaveLength(3);
    expect((await get({ source: `src-${tag}`, category: 'resource' })).items).toEqual([
      expect.objectContaining({ type: 'resource.created', data: { resourceType: 'note', id: tag } }),
    ]);
    expect((await get({ source: `src-${tag}`, from: t0.toISOString() })).items).toHaveLength(3);
    expect((await get({ source: `src-${tag}`, to: new Date(t0.getTime() - 60_000).toISOString() })).items).toHaveLength(0);

    const page1 = await get({ source: `src-${tag}`, limit: 2 });
    const page2 = await get({ source: `src-${tag}`, limit: 2, offset: page1.nextOffset });
    expect(page1.nextOffset).toBe(2);
    expect(page2.nextOffset).toBeNull();
    expect([...page1.items, ...page2.items].map((e: OwnPilotEvent) => e.id)).toHaveLength(3);
    // order=asc reads forward from `from`, oldest first
    expect((await get({ type: `plugin.${tag}.**`, order: 'asc' })).items.map((e: OwnPilotEvent) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    // By cursor, an event logged between two pages shifts nothing: newest first, each event once.
    const first = await get({ source: `src-${tag}`, limit: 2 });
    await api.emitAsync(`plugin.${tag}.c.created`, { n: 5 }, `src-${tag}`);
    const second = await get({ source: `src-${tag}`, limit: 2, cursor: first.nextCursor });
    expect(second.nextCursor).toBeNull();
    // (An offset of 2 would have shown { n: 2 } again.)
    expect([...first.items, ...second.items].map((e: OwnPilotEvent) => e.data)).toEqual([{ resourceType: 'note', id: tag }, { n: 2 }, { n: 1 }]);
    // Oldest first, the cursor reads forward and reaches the event logged meanwhile.
    const forward = await get({ source: `src-${tag}`, order: 'asc', limit: 3 });
    expect((await get({ source: `src-${tag}`, order: 'asc', limit: 3, cursor: forward.nextCursor })).items.map((e: OwnPilotEvent) => e.data)).toEqual([{ n: 5 }]);
    // A cursor continues only its own order: a newest-first one read oldest first would go over the same events again.
    for (const query of [{ cursor: 'desc|yesterday|x' }, { cursor: first.nextCursor, offset: 2 }, { cursor: first.nextCursor, order: 'asc' }]) {
      expect((await request(app).get('/api/v1/events').query(query).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    }

    const bad = await request(app).get('/api/v1/events').query({ category: 'billing', limit: 0 }).expect(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    await request(app).get('/api/v1/events').query({ type: 'a.(b|c)' }).expect(400);
    await request(app).get('/api/v1/events').query({ order: 'sideways' }).expect(400);
  });

  test('POST /api/v1/events: the emit rule of core.events.emit (namespaces per principal, a plugin\'s grant, 64 KB, storable text)', async () => {
    const tag = newId(6);
    const as = (principal: string) =>
      express()
        .use(express.json())
        .use((req, _res, next) => {
          (req as typeof req & { principal: string }).principal = principal;
          next();
        })
        .use('/api/v1/events', eventsRouter(api, createEventStreams({ events: api }), logger, async (pluginId) => pluginId === tag)) // only this plugin holds the emit grant
        .use(errorMiddleware(logger));
    const plugin = as(`plugin:${tag}`);
    const ok = await request(plugin).post('/api/v1/events').send({ type: `plugin.${tag}.hello`, data: { x: 1 } }).expect(201);
    expect(ok.body).toMatchObject({ source: `plugin:${tag}`, category: 'plugin' });
    await request(plugin).post('/api/v1/events').send({ type: 'plugin.other.hello' }).expect(403);
    await request(plugin).post('/api/v1/events').send({ type: 'system.started', data: { process: 'x' } }).expect(403);
    await request(as('plugin:ungranted')).post('/api/v1/events').send({ type: 'plugin.ungranted.hello' }).expect(403);
    await request(plugin).get('/api/v1/events').query({ type: `plugin.${tag}.*` }).expect(200);
    await request(plugin).get('/api/v1/events').query({ type: 'resource.*' }).expect(403);
    await request(plugin).get('/api/v1/events').expect(403);
    await request(plugin).get('/api/v1/events/metrics').expect(403);
    expect((await request(plugin).get('/api/v1/events/subscriptions').query({ subscriberId: 'someone-else' }).expect(200)).body.subscriptions).toEqual([]);
    await request(as('admin')).post('/api/v1/events').send({ type: 'system.started', data: {} }).expect(400);
    await request(as('admin')).post('/api/v1/events').send({ type: 'nope.started' }).expect(400);
    // The services' own namespaces, and plugins', cannot be forged through the API: listeners trust them.
    const forged = [`resource.created`, 'plan.completed', 'tool.executed', 'trigger.executed', 'database.table_dropped', `plugin.${tag}.command`];
    for (const principal of ['user:forger', 'admin']) {
      for (const type of forged) {
        const res = await request(as(principal)).post('/api/v1/events').send({ type, data: { resourceType: 'notes', id: 'x', planId: 'p', runId: 'r', marker: tag } });
        expect({ principal, type, status: res.status, code: res.body.error?.code }).toEqual({ principal, type, status: 403, code: 'FORBIDDEN' });
      }
    }
    expect(await stack.prisma.eventLog.count({ where: { data: { path: ['marker'], equals: tag } } })).toBe(0);
    await request(as('user:forger')).post('/api/v1/events').send({ type: 'agent.started', data: { agentId: 'a' } }).expect(201);
    await request(as('user:forger')).post('/api/v1/events').send({ type: 'agent.noted', data: { big: 'x'.repeat(70_000) } }).expect(422);
    // text event_log cannot store is refused before it could cost a batch anything
    for (const text of ['cut \ud83d', 'x\udc00']) {
      const res = await request(as('user:forger')).post('/api/v1/events').send({ type: 'agent.noted', data: { text } }).expect(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/lone UTF-16 surrogate/) });
    }
    await request(as('user:forger')).post('/api/v1/events').send({ type: 'agent.noted', data: { text: 'whole 😀 and \\ud800 as text' } }).expect(201);
  });

  test('the emitEvent activity emits once per id and fails non-retryably on a bad event', async () => {
    const tag = newId(6);
    const { emitEvent } = createEventActivities({ events: api });
    const env = new MockActivityEnvironment();
    const input = { type: `plugin.${tag}.step_done`, data: { ok: true }, source: 'workflow:wf', id: `wf-${tag}/7` };
    expect(await env.run(emitEvent, input)).toEqual({ id: input.id });
    expect(await env.run(emitEvent, input)).toEqual({ id: input.id });
    expect(await stack.prisma.eventLog.findMany({ where: { id: input.id } })).toEqual([expect.objectContaining({ eventType: input.type, source: 'workflow:wf', data: { ok: true } })]);
    await expect(env.run(emitEvent, { type: 'billing.x', data: {}, source: 'wf' })).rejects.toMatchObject({ nonRetryable: true, type: 'VALIDATION_FAILED' });
  });
});
