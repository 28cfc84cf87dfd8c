import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../api/app';
import { AUTH_CHANNEL, createApiKeyService, type ApiKeyService } from '../activities/auth/api-key-service';
import { createPlanService } from '../activities/plans/plan-service';
import { createPluginService } from '../activities/plugins/plugin-service';
import { createPrisma } from '../platform/database';
import { createLogger } from '../platform/logger';
import { listenForNotifications } from '../platform/pg-notify-listener';
import { authed, createTestKey } from './support/api-auth';
import { migratedScratchDatabase } from './support/scratch-database';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

describe('API keys and authentication', () => {
  let stack: TestStack;
  let keys: ApiKeyService;
  let app: Express;
  let adminKey: string;
  let userKey: string;

  beforeAll(async () => {
    stack = await openTestStack();
    keys = createApiKeyService({ prisma: stack.prisma });
    app = createApp({
      logger: createLogger('test', 'silent'),
      health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: async () => ({}) },
      plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: stack.tools }),
      tools: stack.tools,
      resources: stack.resources,
      events: stack.bus,
      plugins: createPluginService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools }),
      keys,
      acl: stack.acl,
    });
    adminKey = await createTestKey(keys, 'admin');
    userKey = await createTestKey(keys, 'user:alice');
  });
  afterAll(() => stack.close());

  const guarded: [string, string][] = [
    ['get', '/api/v1/plans/some-plan'],
    ['post', '/api/v1/plans'],
    ['get', '/api/v1/keys'],
    ['post', '/api/v1/keys'],
    ['delete', '/api/v1/keys/x'],
    ['get', '/api/v1/acl/tables'],
    ['post', '/api/v1/acl/tables'],
    ['post', '/api/v1/db/query'],
    ['get', '/api/v1/no-such-route'],
  ];

  test.each(guarded)('%s %s without a key is 401 in the standard shape', async (method, path) => {
    const res = await (request(app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path).send({});
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  test.each([
    ['a wrong key', 'Bearer op_thisIsNotARealKeyAtAllxxxxxxxxxxxxxxxxxxxxx'],
    ['a malformed header', 'Basic YWRtaW46YWRtaW4='],
    ['an empty bearer', 'Bearer '],
    ['a huge bearer', `Bearer ${'x'.repeat(5000)}`],
  ])('%s is 401', async (_name, header) => {
    const res = await request(app).get('/api/v1/acl/tables').set('authorization', header);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  test('/health and /api/v1/webhooks/* are not guarded by API keys', async () => {
    await request(app).get('/health').expect(200);
    const hook = await request(app).post('/api/v1/webhooks/abc').send({});
    expect(hook.status).toBe(404); // no route yet, but not a 401: webhooks authenticate by signature
  });

  test('admin creates a key shown once, lists without secrets, and revocation takes effect at once', async () => {
    const admin = authed(app, adminKey);
    const created = await admin.post('/api/v1/keys').send({ name: 'ci bot', principal: 'user:bob' }).expect(201);
    expect(created.body.key).toMatch(/^op_[A-Za-z0-9_-]{43}$/);
    expect(created.body.prefix).toBe(created.body.key.slice(0, 10));
    const row = await stack.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(row.keyHash).not.toContain(created.body.key);
    expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);

    const bob = authed(app, created.body.key);
    expect((await bob.get('/api/v1/acl/tables').expect(200)).body.tables).toEqual(expect.any(Array));
    await eventually(() => stack.prisma.apiKey.findUniqueOrThrow({ where: { id: created.body.id } }), (k) => k.lastUsedAt !== null);

    const listed = await admin.get('/api/v1/keys').expect(200);
    const entry = listed.body.keys.find((k: { id: string }) => k.id === created.body.id);
    expect(entry).toMatchObject({ name: 'ci bot', principal: 'user:bob', revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(JSON.stringify(listed.body)).not.toContain(row.keyHash);

    await admin.delete(`/api/v1/keys/${created.body.id}`).expect(200);
    const after = await bob.get('/api/v1/acl/tables');
    expect(after.status).toBe(401);
    await admin.delete('/api/v1/keys/does-not-exist').expect(404);
  });

  test('a non-admin key is 403 on admin routes; bad bodies are 400 and create nothing', async () => {
    const alice = authed(app, userKey);
    const before = await stack.prisma.apiKey.count();
    expect((await alice.get('/api/v1/keys')).status).toBe(403);
    const denied = await alice.post('/api/v1/keys').send({ name: 'escalate', principal: 'admin' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    const admin = authed(app, adminKey);
    for (const principal of ['root', 'user:', 'plugin:Bad Id', "user:x' OR 1=1 --", 'admin:x']) {
      const bad = await admin.post('/api/v1/keys').send({ name: 'x', principal });
      expect(bad.status).toBe(400);
    }
    expect(await stack.prisma.apiKey.count()).toBe(before);
  });

  test('the request principal is the key’s: plans record who created them', async () => {
    const plan = await authed(app, userKey).post('/api/v1/plans').send({ name: 'mine', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201);
    expect(plan.body.createdBy).toBe('user:alice');
  });

  test('revocation in one process reaches another process’s cache through NOTIFY', async () => {
    const other = createApiKeyService({ prisma: stack.prisma, cacheTtlMs: 3_600_000 });
    const listener = await listenForNotifications(stackInfo().databaseUrl, [AUTH_CHANNEL], () => other.invalidate());
    try {
      const { id, key } = await keys.createApiKey({ name: 'shared', principal: 'plugin:weather' });
      expect(await other.authenticate(key)).toMatchObject({ principal: 'plugin:weather' }); // now cached for an hour
      await keys.revokeApiKey(id);
      await eventually(
        () => other.authenticate(key).then(() => 'accepted', (e: Error) => e.message),
        (outcome) => outcome !== 'accepted',
      );
    } finally {
      await listener.close();
    }
  });

  test('bootstrap: a fresh database gets exactly one admin key, once; OWNPILOT_ADMIN_KEY is stored hashed and idempotently', async () => {
    const url = await migratedScratchDatabase('auth');
    const prisma = createPrisma(url, 4);
    try {
      const service = createApiKeyService({ prisma });
      const [a, b] = await Promise.all([service.ensureAdminKey(undefined), service.ensureAdminKey(undefined)]);
      const generated = [a, b].filter((r) => r.created);
      expect(generated).toHaveLength(1);
      expect(await service.authenticate(generated[0]!.key)).toMatchObject({ principal: 'admin' });
      expect(await service.ensureAdminKey(undefined)).toEqual({ created: false });

      const configured = 'my-operator-chosen-admin-key-0123456789';
      expect(await service.ensureAdminKey(configured)).toEqual({ created: true });
      expect(await service.ensureAdminKey(configured)).toEqual({ created: false });
      expect(await service.authenticate(configured)).toMatchObject({ principal: 'admin' });
      const rows = await prisma.apiKey.findMany();
      expect(rows).toHaveLength(2);
      expect(JSON.stringify(rows)).not.toContain(configured);
      await expect(service.ensureAdminKey('short')).rejects.toThrow(/at least 24/);
    } finally {
      await prisma.$disconnect();
    }
  });
});
