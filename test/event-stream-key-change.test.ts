import { createApiKeyService, type ApiKeyService } from '../activities/auth/api-key-service';
import { createEventStreams, type EventStreams } from '../activities/events/event-stream';
import { listenForAuthChanges } from '../api/auth-change-listener';
import { newId } from '../platform/ids';
import type { NotifyListener } from '../platform/pg-notify-listener';
import { authed, createTestKey } from './support/api-auth';
import { eventOf, openStream, type OpenStream } from './support/event-stream-client';
import { testPluginManifest } from './support/plugin-fixtures';
import { serve, type Served } from './support/serve';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';

// A live stream authenticates once; key revocations and plugin status changes (NOTIFY ownpilot_auth)
// must end the streams whose key no longer passes, and only those.
describe('an event stream ends when its key stops passing', () => {
  let stack: TestStack;
  let keys: ApiKeyService;
  let streams: EventStreams;
  let listener: NotifyListener;
  let served: Served;
  let admin: ReturnType<typeof authed>;
  let adminKey: string;
  const pluginId = `sk_${newId(6).toLowerCase()}`;
  const opened: OpenStream[] = [];

  const url = (query: Record<string, string>) => `${served.url}/api/v1/events/stream?${new URLSearchParams(query).toString()}`;
  const open = async (key: string, query: Record<string, string> = {}) => {
    const stream = await openStream(url(query), { authorization: `Bearer ${key}` });
    expect(stream.status).toBe(200);
    opened.push(stream);
    return stream;
  };
  /** Reads until the stream ends; returns its last frame. */
  const lastFrame = async (stream: OpenStream) => (await stream.readUntil(() => false)).at(-1);
  /** The admin stream still delivers: an event emitted now arrives on it. */
  const stillLive = async (stream: OpenStream) => {
    const tag = newId(6);
    await stack.bus.emitAsync('agent.started', { agentId: tag }, 'test', { until: 'committed' });
    const frames = await stream.readUntil((read) => read.some((f) => (eventOf(f).data as { agentId?: string }).agentId === tag));
    expect(frames.some((f) => (eventOf(f).data as { agentId?: string }).agentId === tag)).toBe(true);
  };

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    // Cached for an hour: only the announcement on the auth channel can make a check see the change.
    keys = createApiKeyService({ prisma: stack.prisma, cacheTtlMs: 3_600_000 });
    streams = createEventStreams({ events: stack.bus });
    listener = await listenForAuthChanges(stack.info.databaseUrl, keys, streams);
    const app = stackApp(stack, { keys, streams });
    served = await serve(app);
    adminKey = await createTestKey(keys, 'admin');
    admin = authed(app, adminKey);
    const started = await admin.post('/api/v1/plugins').send(testPluginManifest(pluginId, { permissions: ['tools', 'tables', 'events.subscribe', 'events.emit', 'storage'] })).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
  });
  afterEach(() => {
    for (const stream of opened.splice(0)) stream.close();
  });
  afterAll(async () => {
    streams.closeAll();
    await listener.close();
    await served.close();
    await stack.close();
  });

  test('a revoked key: its stream ends with an UNAUTHENTICATED error frame; another key\'s stream goes on', async () => {
    const alice = await keys.createApiKey({ name: 'alice', principal: 'user:skalice' });
    const other = await open(adminKey);
    const stream = await open(alice.key);
    await admin.delete(`/api/v1/keys/${alice.id}`).expect(200);
    const last = await lastFrame(stream);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last!.data)).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'the API key is invalid or revoked', details: null } });
    await eventually(async () => streams.openStreams().byPrincipal['user:skalice'], (n) => n === undefined);
    await stillLive(other);
  });

  test("a plugin disabled, then uninstalled: its key's stream ends with a FORBIDDEN error frame naming the status", async () => {
    const other = await open(adminKey);
    const pluginKey = await createTestKey(keys, `plugin:${pluginId}`);
    const own = { type: `plugin.${pluginId}.**` }; // a plugin reads its own events
    const stream = await open(pluginKey, own);
    await admin.post(`/api/v1/plugins/${pluginId}/disable`).expect(200);
    const last = await lastFrame(stream);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last!.data)).toEqual({
      error: { code: 'FORBIDDEN', message: `plugin '${pluginId}' is disabled: its key may only read its own plugin until it is enabled`, details: { pluginId, status: 'disabled' } },
    });
    await stillLive(other);

    // Enabled again a new stream opens; uninstalled, that one ends too (the key is revoked).
    await admin.post(`/api/v1/plugins/${pluginId}/enable`).expect(200);
    const again = await eventually(() => openStream(url(own), { authorization: `Bearer ${pluginKey}` }), (s) => s.status === 200 || (s.close(), false));
    opened.push(again);
    const uninstall = await admin.delete(`/api/v1/plugins/${pluginId}`).expect(202);
    const ended = await lastFrame(again);
    expect(ended?.event).toBe('error');
    expect(JSON.parse(ended!.data).error.code).toMatch(/^(FORBIDDEN|UNAUTHENTICATED)$/);
    await stack.client.workflow.getHandle(uninstall.body.workflowId).result();
    await stillLive(other);
  });
  test('a key revoked between the request\'s check and the stream\'s registration (no notification reaches it) still ends the stream', async () => {
    const key = await keys.createApiKey({ name: 'gap', principal: 'user:skgap' });
    const passed = await keys.authenticate(key.key); // the request's check
    // Revoked behind the key service's back: no notification, so only the check at registration can see it.
    await stack.prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
    const plain = createApiKeyService({ prisma: stack.prisma });
    const stream = streams.open(passed.principal, {}, { keyId: passed.keyId, check: async () => void (await plain.authenticate(key.key)) });
    const end = await stream.events.next();
    expect(end).toEqual({ done: true, value: { refused: expect.objectContaining({ code: 'UNAUTHENTICATED' }) } });
  });
});
