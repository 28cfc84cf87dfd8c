import type { EventBus } from '../activities/events/event-bus';
import { createEventStreams, type EventStreams } from '../activities/events/event-stream';
import { openEventBus } from '../activities/events/open-event-bus';
import { createLogger } from '../platform/logger';
import { newId } from '../platform/ids';
import { createTestKey, testKeyService } from './support/api-auth';
import type { SseFrame } from '../cli/sse-frames';
import { eventOf, openStream, type OpenStream } from './support/event-stream-client';
import { serve, type Served } from './support/serve';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';

// GET /api/v1/events/stream against real PostgreSQL: events come from another bus on the same
// database (another process, as far as the API's bus can tell), through event_log and NOTIFY.
describe('live event stream (Server-Sent Events)', () => {
  let stack: TestStack;
  let other: EventBus;
  let streams: EventStreams;
  let served: Served;
  const keys = { admin: '', alice: '', bob: '', plugin: '' };
  const opened: OpenStream[] = [];
  const plugin = `sx${newId(6).toLowerCase()}`;

  const open = async (key: string, query: Record<string, string> = {}, headers: Record<string, string> = {}) => {
    const stream = await openStream(`${served.url}/api/v1/events/stream?${new URLSearchParams(query).toString()}`, { authorization: `Bearer ${key}`, ...headers });
    opened.push(stream);
    return stream;
  };
  /** The `n` of the frames whose event carries `agentId: tag`, in the order they came. */
  const numbersOf = (frames: SseFrame[], tag: string) =>
    frames.map((f) => eventOf(f).data as { agentId?: string; n?: number }).filter((d) => d.agentId === tag).map((d) => d.n);

  beforeAll(async () => {
    stack = await openTestStack();
    other = await openEventBus(stack.info.databaseUrl, createLogger('other-process', 'silent'));
    streams = createEventStreams({ events: stack.bus, maxPerPrincipal: 3 });
    served = await serve(stackApp(stack, { streams }));
    const service = testKeyService(stack.prisma);
    keys.admin = await createTestKey(service, 'admin');
    keys.alice = await createTestKey(service, 'user:streamalice');
    keys.bob = await createTestKey(service, 'user:streambob');
    keys.plugin = await createTestKey(service, `plugin:${plugin}`);
  });
  afterEach(() => {
    for (const stream of opened.splice(0)) stream.close();
  });
  afterAll(async () => {
    streams.closeAll();
    await served.close();
    await other.close();
    await stack.close();
  });

  test('follows the events of a pattern as another process emits them, each once, as SSE frames', async () => {
    const tag = newId(6);
    const stream = await open(keys.admin, { type: 'agent.*' });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    // Emitted until the first arrives: the subscription is live once the headers are out, on a bus that hears NOTIFY.
    const first = stream.readUntil((frames) => frames.length >= 1);
    await eventually(async () => {
      other.emit('plugin.elsewhere.tick', { tag }, 'other');
      other.emit('agent.started', { agentId: tag }, 'other');
      await other.flush();
      return Promise.race([first.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200))]);
    }, (arrived) => arrived);
    const [frame] = await first;
    const event = eventOf(frame!);
    expect(event).toMatchObject({ type: 'agent.started', category: 'agent', source: 'other', data: { agentId: tag } });
    expect(frame!.id).toBe(event.timestamp);
    // Later events, in emit order; the plugin.* ones never match.
    for (let n = 0; n < 20; n++) other.emit('agent.completed', { agentId: tag, n }, 'other');
    await other.flush();
    const later = await stream.readUntil((frames) => frames.some((f) => eventOf(f).type === 'agent.completed' && (eventOf(f).data as { n: number }).n === 19));
    const completed = later.map(eventOf).filter((e) => e.type === 'agent.completed');
    expect(completed.map((e) => (e.data as { n: number }).n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(later.every((f) => eventOf(f).type.startsWith('agent.'))).toBe(true);
  });

  test('`from` replays event_log oldest first, then goes live without repeating the overlap', async () => {
    const tag = newId(6);
    const t0 = new Date(Date.now() - 1000).toISOString();
    for (let n = 0; n < 3; n++) await other.emitAsync('agent.started', { agentId: tag, n }, 'other', { until: 'committed' });
    const stream = await open(keys.admin, { type: 'agent.started', from: t0 });
    const replayed = await stream.readUntil((frames) => numbersOf(frames, tag).length >= 3);
    expect(numbersOf(replayed, tag)).toEqual([0, 1, 2]);
    for (let n = 3; n < 6; n++) other.emit('agent.started', { agentId: tag, n }, 'other');
    await other.flush();
    const live = await stream.readUntil((frames) => numbersOf(frames, tag).includes(5));
    expect([...numbersOf(replayed, tag), ...numbersOf(live, tag)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('a long replay pages by timestamp: every event once, in emit order, many in one millisecond included', async () => {
    const tag = newId(6);
    const paged = createEventStreams({ events: stack.bus, pageSize: 5 });
    const t0 = new Date(Date.now() - 1000);
    for (let n = 0; n < 40; n++) other.emit('agent.completed', { agentId: tag, n }, 'other'); // one tick: most share a millisecond
    await other.flush();
    const stream = paged.open('admin', { type: 'agent.completed', source: 'other', from: t0 });
    const got: number[] = [];
    try {
      while (got.length < 40) {
        const next = await stream.events.next();
        if (next.done) break;
        if ((next.value.data as { agentId: string }).agentId === tag) got.push((next.value.data as { n: number }).n);
      }
    } finally {
      stream.close();
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });

  test('a reader that reconnects with Last-Event-ID gets what was emitted while it was away', async () => {
    const tag = newId(6);
    for (let n = 0; n < 2; n++) await other.emitAsync('agent.failed', { agentId: tag, n }, 'other', { until: 'committed' });
    const query = { type: 'agent.failed', from: new Date(Date.now() - 5000).toISOString() };
    const first = await open(keys.admin, query);
    const before = await first.readUntil((frames) => numbersOf(frames, tag).length >= 2);
    first.close();
    for (let n = 2; n < 5; n++) await other.emitAsync('agent.failed', { agentId: tag, n }, 'other', { until: 'committed' });
    // EventSource sends the original URL again, with the id of the last frame it saw.
    const again = await open(keys.admin, query, { 'last-event-id': before[before.length - 1]!.id! });
    const after = await again.readUntil((frames) => numbersOf(frames, tag).includes(4));
    const seenBefore = new Set(before.map((f) => eventOf(f).id));
    expect(numbersOf(after.filter((f) => !seenBefore.has(eventOf(f).id)), tag)).toEqual([2, 3, 4]);
  });

  test('a user sees other principals\' events but only its own resource events; a plugin only its namespace', async () => {
    const tag = newId(6);
    const alice = await open(keys.alice, { type: 'resource.*' });
    expect(alice.status).toBe(200);
    const pluginStream = await open(keys.plugin, { type: `plugin.${plugin}.**` });
    expect(pluginStream.status).toBe(200);
    const everything = await open(keys.bob, {});
    await eventually(async () => streams.openStreams().total, (n) => n >= 3);
    other.emit('resource.created', { resourceType: 'note', id: `bob-${tag}` }, 'user:streambob');
    other.emit('resource.created', { resourceType: 'note', id: `alice-${tag}` }, 'user:streamalice');
    other.emit(`plugin.${plugin}.ping`, { tag }, 'other');
    other.emit('plugin.someoneelse.ping', { tag }, 'other');
    other.emit('agent.started', { agentId: `end-${tag}` }, 'other');
    await other.flush();
    const aliceSaw = await alice.readUntil((frames) => frames.some((f) => (eventOf(f).data as { id?: string }).id === `alice-${tag}`));
    expect(aliceSaw.map(eventOf).map((e) => (e.data as { id: string }).id).filter((id) => id.endsWith(tag))).toEqual([`alice-${tag}`]);
    const bobSaw = await everything.readUntil((frames) => frames.some((f) => (eventOf(f).data as { agentId?: string }).agentId === `end-${tag}`));
    const bobTypes = bobSaw.map(eventOf).filter((e) => JSON.stringify(e.data).includes(tag));
    expect(bobTypes.map((e) => [e.type, e.source])).toEqual([
      ['resource.created', 'user:streambob'],
      [`plugin.${plugin}.ping`, 'other'],
      ['plugin.someoneelse.ping', 'other'],
      ['agent.started', 'other'],
    ]);
    const pluginSaw = await pluginStream.readUntil((frames) => frames.length >= 1);
    expect(pluginSaw.map(eventOf).map((e) => e.type)).toEqual([`plugin.${plugin}.ping`]);
  });

  test('refusals are JSON errors before any stream starts: other namespaces, bad patterns, bad Last-Event-ID, no key', async () => {
    const refused = async (key: string | undefined, query: Record<string, string>, headers: Record<string, string> = {}) => {
      const stream = await openStream(`${served.url}/api/v1/events/stream?${new URLSearchParams(query).toString()}`, { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers });
      return { status: stream.status, code: (stream.body as { error?: { code?: string } } | undefined)?.error?.code };
    };
    expect(await refused(keys.plugin, {})).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await refused(keys.plugin, { type: 'plugin.someoneelse.**' })).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await refused(keys.plugin, { type: '**' })).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await refused(keys.alice, { type: 'resource.*', source: 'user:streambob' })).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await refused(keys.admin, { type: 'a.(b|c)' })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await refused(keys.admin, { category: 'billing' })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await refused(keys.admin, { from: 'yesterday' })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await refused(keys.admin, {}, { 'last-event-id': 'not-a-time' })).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await refused(undefined, {})).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(streams.openStreams().total).toBe(0);
  });

  test('one principal holds at most maxPerPrincipal streams; a closed one frees its slot and its subscription', async () => {
    const held = [await open(keys.bob), await open(keys.bob), await open(keys.bob)];
    expect(held.map((s) => s.status)).toEqual([200, 200, 200]);
    const fourth = await open(keys.bob);
    expect({ status: fourth.status, code: (fourth.body as { error: { code: string } }).error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
    expect((await open(keys.alice)).status).toBe(200); // others are not affected
    // Each sees its own streams among the subscriptions; admin sees everyone's.
    const listed = async (key: string) =>
      ((await (await fetch(`${served.url}/api/v1/events/subscriptions`, { headers: { authorization: `Bearer ${key}` } })).json()) as { subscriptions: { subscriberId: string }[] }).subscriptions
        .map((s) => s.subscriberId.split(':').slice(0, 3).join(':'))
        .filter((id) => id.startsWith('stream:'));
    expect(await listed(keys.bob)).toEqual(['stream:user:streambob', 'stream:user:streambob', 'stream:user:streambob']);
    expect(await listed(keys.alice)).toEqual(['stream:user:streamalice']);
    expect((await listed(keys.admin)).sort()).toEqual(['stream:user:streamalice', 'stream:user:streambob', 'stream:user:streambob', 'stream:user:streambob']);
    held[0]!.close();
    await eventually(async () => streams.openStreams().byPrincipal['user:streambob'], (n) => n === 2);
    expect((await open(keys.bob)).status).toBe(200);
    for (const stream of opened.splice(0)) stream.close();
    await eventually(async () => streams.openStreams().total, (n) => n === 0);
    expect(stack.bus.listSubscriptions().filter((s) => s.subscriberId.startsWith('stream:'))).toEqual([]);
  });

  test('closeAll (the API stopping) ends every open stream', async () => {
    const stream = await open(keys.admin, { type: 'agent.*' });
    const ended = stream.readUntil(() => false, 10_000);
    await eventually(async () => streams.openStreams().total, (n) => n === 1);
    streams.closeAll();
    await expect(ended).resolves.toEqual([]);
    expect(streams.openStreams().total).toBe(0);
  });

  test('a reader that falls maxBuffered events behind is cut off with overflow, not buffered without bound', async () => {
    const tag = newId(6);
    const small = createEventStreams({ events: stack.bus, maxBuffered: 10 });
    const stream = small.open('admin', { type: 'agent.started' });
    // Nothing pulls while 50 events arrive: the stream keeps 10 and then reports the overflow.
    for (let n = 0; n < 50; n++) stack.bus.emit('agent.started', { agentId: tag, n }, 'local');
    await eventually(async () => stack.bus.metrics().subscribers, (subs) => Object.entries(subs).some(([id, m]) => id.startsWith('stream:admin:') && m.delivered >= 50));
    const got: number[] = [];
    let end: IteratorResult<unknown, unknown>;
    while (!(end = await stream.events.next()).done) got.push(((end.value as { data: { n: number } }).data).n);
    expect(end.value).toBe('overflow');
    expect(got).toEqual(Array.from({ length: 10 }, (_, n) => n));
    expect(small.openStreams().total).toBe(0);
  });

  test('over HTTP, a reader that stops reading is sent an overflow frame and the stream ends', async () => {
    const tag = newId(6);
    const small = createEventStreams({ events: stack.bus, maxBuffered: 10 });
    const app = await serve(stackApp(stack, { streams: small }));
    try {
      const stream = await openStream(`${app.url}/api/v1/events/stream?type=agent.started`, { authorization: `Bearer ${keys.admin}` });
      opened.push(stream);
      await eventually(async () => small.openStreams().total, (n) => n === 1);
      // Nothing is read: once the socket's buffers are full the stream waits, its buffer fills, and it overflows.
      const padding = 'x'.repeat(2_000);
      for (let n = 0; n < 3_000 && small.openStreams().total > 0; n++) {
        stack.bus.emit('agent.started', { agentId: tag, n, padding }, 'local');
        if (n % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      }
      await eventually(async () => small.openStreams().total, (n) => n === 0);
      const frames = await stream.readUntil(() => false);
      expect(frames[frames.length - 1]).toMatchObject({ event: 'overflow' });
      const ns = frames.slice(0, -1).map((f) => (eventOf(f).data as { n: number }).n);
      expect(ns).toEqual(Array.from({ length: ns.length }, (_, n) => n)); // what was sent is a gapless prefix
    } finally {
      await app.close();
    }
  });
});
