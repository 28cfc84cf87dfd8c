import type { Express } from 'express';
import type request from 'supertest';
import { AUTH_CHANNEL, createApiKeyService } from '../activities/auth/api-key-service';
import { createPluginUpgradeClaim } from '../activities/plugins/plugin-upgrade-claim';
import { newId } from '../platform/ids';
import { listenForNotifications } from '../platform/pg-notify-listener';
import { pluginUpgradeWorkflowId } from '../workflows/plugin-types';
import { authed, createTestKey } from './support/api-auth';
import { testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { buildTriggerApp } from './support/trigger-app';
import { eventually } from './support/wait';

describe("a plugin's own API key acts only while the plugin is enabled", () => {
  let stack: TestStack;
  let app: Express;
  let admin: ReturnType<typeof authed>;
  let keys: ReturnType<typeof createApiKeyService>;
  let listener: Awaited<ReturnType<typeof listenForNotifications>>;
  const id = `pk_${newId(6).toLowerCase()}`;
  let plugin: ReturnType<typeof authed>;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    const t = await buildTriggerApp(stack);
    // Cached for an hour: only the status-change announcement can make a lookup see the new status.
    keys = createApiKeyService({ prisma: stack.prisma, cacheTtlMs: 3_600_000 });
    listener = await listenForNotifications(stack.info.databaseUrl, [AUTH_CHANNEL], () => keys.invalidate());
    app = stackApp(stack, { keys, plans: t.plans, triggers: t.triggers, webhooks: t.webhooks });
    admin = authed(app, await createTestKey(keys, 'admin'));
    const started = await admin.post('/api/v1/plugins').send(testPluginManifest(id, { permissions: ['tools', 'tables', 'events.subscribe', 'events.emit', 'storage'] })).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
    plugin = authed(app, await createTestKey(keys, `plugin:${id}`));
  });
  afterAll(async () => {
    await listener.close();
    await stack.close();
  });

  /** Every kind of thing a plugin's key does, each with its status code. */
  const actions: [string, () => request.Test][] = [
    ['create a trigger', () => plugin.post('/api/v1/triggers').send({ name: `t ${newId(4)}`, type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } })],
    ['run a core tool', () => plugin.post('/api/v1/tools/core.echo/execute').send({ args: { hi: 1 } })],
    ['list tools', () => plugin.get('/api/v1/tools')],
    ['query its table', () => plugin.post('/api/v1/db/query').send({ sql: `SELECT count(*) FROM plugin_${id}_items` })],
    ['write its storage', () => plugin.put(`/api/v1/plugins/${id}/storage/k`).send({ value: 1 })],
    ['read its storage', () => plugin.get(`/api/v1/plugins/${id}/storage`)],
    ['emit an event', () => plugin.post('/api/v1/events').send({ type: `plugin.${id}.tick`, data: {} })],
    ['read events', () => plugin.get('/api/v1/events').query({ type: `plugin.${id}.**` })],
    ['list plugins', () => plugin.get('/api/v1/plugins')],
  ];
  const statuses = async () => Promise.all(actions.map(async ([what, act]) => [what, (await act()).status] as const));
  const readOwnPlugin = () => plugin.get(`/api/v1/plugins/${id}`).expect(200);

  test('disabled (or mid-upgrade), every action is 403 naming the status; it may still read its own plugin; enabled again, all work', async () => {
    const allowed = await statuses();
    for (const [what, status] of allowed) expect([what, status < 300]).toEqual([what, true]);

    await admin.post(`/api/v1/plugins/${id}/disable`).expect(200);
    await eventually(() => plugin.get('/api/v1/tools').then((r) => r.status), (status) => status === 403);
    for (const [what, act] of actions) {
      const res = await act();
      expect([what, res.status, res.body.error]).toEqual([what, 403, { code: 'FORBIDDEN', message: `plugin '${id}' is disabled: its key may only read its own plugin until it is enabled`, details: { pluginId: id, status: 'disabled' } }]);
    }
    expect((await readOwnPlugin()).body.status).toBe('disabled');

    await admin.post(`/api/v1/plugins/${id}/enable`).expect(200);
    await eventually(() => plugin.get('/api/v1/tools').then((r) => r.status), (status) => status === 200);
    expect(await statuses()).toEqual(allowed);

    // any status but enabled: here an upgrade's claim
    const claim = createPluginUpgradeClaim({ prisma: stack.prisma, temporal: stack.client });
    const claimId = pluginUpgradeWorkflowId(id, '9.0.0');
    expect(await claim.claim(await stack.prisma.plugin.findUniqueOrThrow({ where: { id } }), 'enabled', claimId)).toBe(true);
    await eventually(() => plugin.get('/api/v1/tools').then((r) => r.status), (status) => status === 403);
    expect((await plugin.post('/api/v1/tools/core.echo/execute').send({ args: {} })).body.error).toMatchObject({ code: 'FORBIDDEN', details: { status: 'upgrading' } });
    expect((await readOwnPlugin()).body.status).toBe('upgrading');
    await claim.giveBack(id, claimId);
    await eventually(() => plugin.get('/api/v1/tools').then((r) => r.status), (status) => status === 200);
  });

  test('uninstalled, its keys are revoked: 401 here (cached for an hour) and anywhere, and a reinstall does not bring them back', async () => {
    const other = createApiKeyService({ prisma: stack.prisma, cacheTtlMs: 3_600_000 });
    const oldKey = await createTestKey(keys, `plugin:${id}`);
    const otherProcess = authed(stackApp(stack, { keys: other }), oldKey);
    const otherListener = await listenForNotifications(stack.info.databaseUrl, [AUTH_CHANNEL], () => other.invalidate());
    try {
      // Both processes now hold both keys in their caches.
      await plugin.get('/api/v1/tools').expect(200);
      await authed(app, oldKey).get('/api/v1/tools').expect(200);
      await otherProcess.get('/api/v1/tools').expect(200);

      const started = await admin.delete(`/api/v1/plugins/${id}`).expect(202);
      await stack.client.workflow.getHandle(started.body.workflowId).result();
      const unauthenticated = { code: 'UNAUTHENTICATED', message: 'the API key is invalid or revoked', details: null };
      for (const client of [plugin, authed(app, oldKey), otherProcess]) {
        const res = await eventually(() => client.get('/api/v1/tools'), (r) => r.status === 401);
        expect(res.body.error).toEqual(unauthenticated);
      }
      const revoked = await stack.prisma.apiKey.findMany({ where: { principal: `plugin:${id}` }, select: { revokedAt: true } });
      expect(revoked.length).toBeGreaterThanOrEqual(2);
      expect(revoked.every((k) => k.revokedAt !== null)).toBe(true);

      const reinstalled = await admin.post('/api/v1/plugins').send(testPluginManifest(id, { permissions: ['tools', 'tables', 'events.subscribe', 'events.emit', 'storage'] })).expect(202);
      await stack.client.workflow.getHandle(reinstalled.body.workflowId).result();
      expect((await admin.get(`/api/v1/plugins/${id}`).expect(200)).body.status).toBe('enabled');
      await authed(app, oldKey).get('/api/v1/tools').expect(401);
      await otherProcess.get('/api/v1/tools').expect(401);
      await authed(app, await createTestKey(keys, `plugin:${id}`)).get('/api/v1/tools').expect(200);
    } finally {
      await otherListener.close();
    }
  });
});
