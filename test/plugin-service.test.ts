import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import type { EventBus } from '../activities/events/event-bus';
import { openEventBus } from '../activities/events/open-event-bus';
import type { PluginManifestInput } from '../activities/plugins/plugin-manifest';
import { createPluginSubscriptionHost, type PluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { PLUGIN_INSTALL_STEPS, pluginInstallWorkflowId } from '../workflows/plugin-types';
import { createDeafenableRole } from './support/deafenable-role';
import { openTestStack, type TestStack } from './support/test-stack';
import { pluginFootprint, testPluginManifest as manifest } from './support/plugin-fixtures';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';
import { eventually } from './support/wait';

const logger = createLogger('test', 'silent');
const example = (file: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'plugins', file), 'utf8')) as PluginManifestInput;

describe('plugin service: install/uninstall workflows, lifecycle, storage, isolation', () => {
  let stack: TestStack;
  let app: Express;
  const as = (principal: string) => ({
    get: (url: string) => request(app).get(url).set(PRINCIPAL_HEADER, principal),
    post: (url: string) => request(app).post(url).set(PRINCIPAL_HEADER, principal),
    put: (url: string) => request(app).put(url).set(PRINCIPAL_HEADER, principal),
    delete: (url: string) => request(app).delete(url).set(PRINCIPAL_HEADER, principal),
  });
  const admin = () => as('admin');
  const extraBuses: EventBus[] = [];
  const hosts: PluginSubscriptionHost[] = [];
  /** A host (a worker process's) on `bus`, stopped after the file. */
  const startHost = async (bus: EventBus, resyncIntervalMs?: number) => {
    const host = createPluginSubscriptionHost({ prisma: stack.prisma, bus, tools: stack.tools, logger, resyncIntervalMs });
    hosts.push(host);
    await host.start();
    return host;
  };

  /** Installs through the API (one request) and waits for the workflow; returns its result. */
  const install = async (m: PluginManifestInput) => {
    const started = await admin().post('/api/v1/plugins').send(m).expect(202);
    expect(started.body).toEqual({ pluginId: m.id, workflowId: `plugin-install-${m.id}` });
    return stack.client.workflow.getHandle(started.body.workflowId).result();
  };
  /** Starts the install workflow directly (bypassing the API's checks) and returns its failure. */
  const installFailing = async (m: unknown, id: string) => {
    const error = await stack.client.workflow
      .execute('pluginInstallWorkflow', { taskQueue: stack.taskQueue, workflowId: pluginInstallWorkflowId(id), args: [{ manifest: m, requestedBy: 'admin' }] })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return error as WorkflowFailedError;
  };
  const footprint = (id: string) => pluginFootprint(stack.prisma, id);
  const nothing = { tables: [], metadata: [], tools: [], subscriptions: 0, storage: 0 };
  const rowsOf = (table: string) => stack.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM ${table}`);

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    await startHost(stack.bus);
    app = toolTestApp(stack);
  });
  afterAll(async () => {
    for (const host of hosts) host.stop();
    for (const bus of extraBuses) await bus.close();
    await stack.close();
  });

  test('the daily-digest example installs with one request, records resource events in its table and summarises them', async () => {
    const result = await install(example('daily-digest.json'));
    expect(result).toEqual({ pluginId: 'daily_digest', status: 'enabled', tables: ['plugin_daily_digest_entries'], tools: ['plugin.daily_digest.record', 'plugin.daily_digest.summary'], subscriptions: 1 });
    expect((await admin().get('/api/v1/plugins/daily_digest').expect(200)).body).toMatchObject({ status: 'enabled', workflowId: 'plugin-install-daily_digest', subscriptions: [{ eventPattern: 'resource.*', toolName: 'plugin.daily_digest.record' }] });

    const note = (await stack.resources.create('notes', 'user:alice', { title: 'groceries' })) as { id: string };
    await stack.resources.update('notes', 'user:alice', note.id, { title: 'groceries!' });
    const entries = await eventually(() => rowsOf('plugin_daily_digest_entries'), (rows) => rows.length === 2);
    expect(entries.map((r) => [r.resource_type, r.resource_id, r.action])).toEqual(expect.arrayContaining([['notes', note.id, 'created'], ['notes', note.id, 'updated']]));
    const summary = await stack.tools.executeTool('plugin.daily_digest.summary', { hours: 1 }, { requesterId: 'user:alice' });
    expect(summary).toMatchObject({ status: 'completed', output: { hours: 1, changes: expect.arrayContaining([{ resource_type: 'notes', action: 'created', n: 1 }]) } });
  });

  test('the plan-health example keeps plan outcomes and reports failure rates', async () => {
    await install(example('plan-health.json'));
    stack.bus.emit('plan.completed', { planId: 'p1', runId: 'plan-p1-1' }, 'test');
    stack.bus.emit('plan.failed', { planId: 'p1', runId: 'plan-p1-2', error: 'step x failed' }, 'test');
    await eventually(() => rowsOf('plugin_plan_health_runs'), (rows) => rows.length === 2);
    const report = await stack.tools.executeTool('plugin.plan_health.report', {}, { requesterId: 'admin' });
    expect(report).toMatchObject({ output: { plans: [{ plan_id: 'p1', runs: 2, failures: 1, last_error: 'step x failed', failureRate: 0.5 }] } });
  });

  test('bad manifests are refused before any workflow starts: 400 (schema), 422 (inconsistent), 409 (installed)', async () => {
    const id = `bad_${newId(6)}`;
    expect((await admin().post('/api/v1/plugins').send({ ...manifest(id), version: 'one' }).expect(400)).body.error.code).toBe('VALIDATION_FAILED');
    const inconsistent = await admin().post('/api/v1/plugins').send(manifest(id, { permissions: ['tools'], subscriptions: [{ pattern: 'agent.x', tool: 'missing' }] })).expect(422);
    expect(inconsistent.body.error.details.issues.map((i: { message: string }) => i.message).join('\n')).toMatch(/does not declare[\s\S]*'tables' permission[\s\S]*'events.subscribe' permission/);
    await admin().post('/api/v1/plugins').send(manifest(id, { config: { schema: { type: 'object', properties: { level: { type: 'integer' } } }, defaults: { level: 'high' } } })).expect(422);
    await admin().post('/api/v1/plugins').send(example('daily-digest.json')).expect(409);
    expect(await stack.prisma.plugin.count({ where: { id } })).toBe(0);
    await as('plugin:daily_digest').post('/api/v1/plugins').send(manifest(id)).expect(403);
    // Lifecycle is admin-only: a plugin's subscriptions would see every user's events.
    await as('user:mallory').post('/api/v1/plugins').send(manifest(id)).expect(403);
  });

  describe('a failed install undoes every completed step and leaves the plugin in `error`', () => {
    const failedSteps = new Set<string>();
    /** The step a failed install names (`failed at <step>:`), remembered for the coverage check below. */
    const failedAt = (failure: WorkflowFailedError) => {
      const step = /failed at (\w+)/.exec(failure.cause?.message ?? '')?.[1];
      if (step) failedSteps.add(step);
      return step;
    };

    test('validate: an inconsistent manifest started directly', async () => {
      const id = `fv_${newId(6)}`;
      const failure = await installFailing(manifest(id, { subscriptions: [{ pattern: 'agent.x', tool: 'missing' }] }), id);
      expect(failedAt(failure)).toBe('validate');
      expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error', errorMessage: expect.stringMatching(/^validate: /) });
      expect(await footprint(id)).toEqual(nothing);
    });

    test('record: the id belongs to an installed plugin, which is left untouched', async () => {
      const id = `fr_${newId(6)}`;
      await install(manifest(id));
      const before = await footprint(id);
      const failure = await installFailing(manifest(id, { version: '2.0.0' }), id);
      expect(failure.cause?.message).toMatch(/failed at record: plugin '.*' is already installed/);
      expect(failedAt(failure)).toBe('record');
      expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'enabled', errorMessage: null, manifest: expect.objectContaining({ version: '1.0.0' }) });
      expect(await footprint(id)).toEqual(before);
    });

    test('tables: the second table name is already taken; the first table is dropped, the foreign one kept', async () => {
      const id = `ft_${newId(6)}`;
      await stack.prisma.$executeRawUnsafe(`CREATE TABLE plugin_${id}_second (x int)`);
      const m = manifest(id, { tables: [{ name: 'first', columns: [{ name: 'a', type: 'text' }] }, { name: 'second', columns: [{ name: 'b', type: 'text' }] }] });
      const failure = await installFailing(m, id);
      expect(failedAt(failure)).toBe('tables');
      expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error', errorMessage: expect.stringMatching(/^tables: /) });
      expect(await footprint(id)).toEqual({ ...nothing, tables: [`plugin_${id}_second`] });
      await stack.prisma.$executeRawUnsafe(`DROP TABLE plugin_${id}_second`);
    });

    test('tools: the second tool has an invalid JSON schema; the first tool and the table are removed', async () => {
      const id = `fo_${newId(6)}`;
      const base = manifest(id);
      const m = { ...base, tools: [base.tools![1]!, { name: 'broken', description: 'bad schema', parameters: { type: 'object', properties: { x: { type: 'nonsense' } } }, code: 'return 1;' }], subscriptions: [] };
      const failure = await installFailing(m, id);
      expect(failedAt(failure)).toBe('tools');
      expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error', errorMessage: expect.stringMatching(/^tools: /) });
      expect(await footprint(id)).toEqual(nothing);
    });

    test('subscriptions: a subscription declared twice violates the unique index; tools and table are removed', async () => {
      const id = `fs_${newId(6)}`;
      const m = manifest(id, { subscriptions: [{ pattern: 'agent.x', tool: 'on_event' }, { pattern: 'agent.x', tool: 'on_event' }] });
      const failure = await installFailing(m, id);
      expect(failure.cause?.message).toMatch(/failed at subscriptions: .*twice/);
      expect(failedAt(failure)).toBe('subscriptions');
      expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error', errorMessage: expect.stringMatching(/^subscriptions: .*twice/) });
      expect(await footprint(id)).toEqual(nothing);
      // a fixed manifest installs over the `error` row
      expect(await install(manifest(id))).toMatchObject({ status: 'enabled' });
    });

    test('activate: the database refuses the final status change; subscriptions, tools and table are removed', async () => {
      const id = `fa_${newId(6)}`;
      // a real PostgreSQL trigger makes exactly this plugin's switch to `enabled` fail (every retry too)
      await stack.prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_${id}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation of ${id} refused'; END $$`);
      await stack.prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_${id} BEFORE UPDATE ON plugins FOR EACH ROW WHEN (NEW.id = '${id}' AND NEW.status = 'enabled') EXECUTE FUNCTION refuse_${id}()`);
      try {
        const failure = await installFailing(manifest(id), id);
        expect(failedAt(failure)).toBe('activate');
        expect(failure.cause?.message).toMatch(new RegExp(`failed at activate: [\\s\\S]*activation of ${id} refused`));
        expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'error', errorMessage: expect.stringMatching(new RegExp(`^activate: [\\s\\S]*activation of ${id} refused`)) });
        expect(await footprint(id)).toEqual(nothing);
        await eventually(() => stack.bus.getEventHistory({ type: 'plugin.install_failed', limit: 50 }), (events) => events.some((e) => (e.data as { pluginId: string }).pluginId === id));
        expect(stack.bus.listSubscriptions(`plugin:${id}`)).toEqual([]);
        await expect(stack.tools.executeTool(`plugin.${id}.double`, { n: 1 }, { requesterId: 'admin' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      } finally {
        await stack.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_${id} ON plugins`);
        await stack.prisma.$executeRawUnsafe(`DROP FUNCTION refuse_${id}()`);
      }
    }, 60_000);

    test('every install step has been made to fail above', () => {
      expect([...failedSteps].sort()).toEqual([...PLUGIN_INSTALL_STEPS].sort());
    });
  });

  test('uninstall is a workflow that drops tables, unregisters tools, removes subscriptions and clears storage', async () => {
    const id = `un_${newId(6)}`;
    await install(manifest(id));
    await as(`plugin:${id}`).put(`/api/v1/plugins/${id}/storage/greeting`).send({ value: { hello: 'world' } }).expect(204);
    expect(await footprint(id)).toEqual({ tables: [`plugin_${id}_items`], metadata: [`plugin_${id}_items`], tools: [`plugin.${id}.double`, `plugin.${id}.on_event`], subscriptions: 1, storage: 1 });
    const started = await admin().delete(`/api/v1/plugins/${id}`).expect(202);
    expect(started.body.workflowId).toBe(`plugin-uninstall-${id}`);
    expect(await stack.client.workflow.getHandle(started.body.workflowId).result()).toMatchObject({ pluginId: id, subscriptions: 1, storageKeys: 1 });
    expect(await footprint(id)).toEqual(nothing);
    await admin().get(`/api/v1/plugins/${id}`).expect(404);
    await admin().delete(`/api/v1/plugins/${id}`).expect(404);
  });

  test('a disabled plugin’s tools cannot run and its subscriptions receive nothing; enabling restores both', async () => {
    const id = `en_${newId(6)}`;
    await install(manifest(id));
    const table = `plugin_${id}_items`;
    stack.bus.emit(`agent.${id}`, { agentId: 'a', n: 1 }, 'test');
    await eventually(() => rowsOf(table), (rows) => rows.length === 1);

    expect((await admin().post(`/api/v1/plugins/${id}/disable`).expect(200)).body.status).toBe('disabled');
    await expect(stack.tools.executeTool(`plugin.${id}.double`, { n: 2 }, { requesterId: 'admin' })).rejects.toMatchObject({ code: 'TOOL_DISABLED' });
    const ignored = stack.bus.emit(`agent.${id}`, { agentId: 'a', n: 2 }, 'test');
    const marker = stack.bus.emit('agent.marker', { agentId: id }, 'test');
    await eventually(async () => (await stack.bus.getEventHistory({ type: 'agent.marker', limit: 5 })).map((e) => e.id), (ids) => ids.includes(marker.id));
    await stack.bus.flush();
    expect(await stack.prisma.pluginEventDelivery.count({ where: { eventId: ignored.id } })).toBe(0);

    expect((await admin().post(`/api/v1/plugins/${id}/enable`).expect(200)).body.status).toBe('enabled');
    expect(await stack.tools.executeTool(`plugin.${id}.double`, { n: 2 }, { requesterId: 'admin' })).toMatchObject({ output: { n: 4 } });
    stack.bus.emit(`agent.${id}`, { agentId: 'a', n: 3 }, 'test');
    const rows = await eventually(() => rowsOf(table), (r) => r.length === 2);
    expect(rows.map((r) => r.k)).not.toContain(ignored.id);
  });

  test('updateConfig is validated against the manifest’s config schema; only admin and the plugin read the config', async () => {
    const id = `cf_${newId(6)}`;
    await install(manifest(id));
    expect((await admin().get(`/api/v1/plugins/${id}`)).body.config).toEqual({ level: 1 });
    expect((await admin().put(`/api/v1/plugins/${id}/config`).send({ config: { level: 3 } }).expect(200)).body.config).toEqual({ level: 3 });
    const bad = await admin().put(`/api/v1/plugins/${id}/config`).send({ config: { level: 0, extra: true } }).expect(422);
    expect(bad.body.error.details.issues.length).toBeGreaterThanOrEqual(1);
    await as(`plugin:${id}`).put(`/api/v1/plugins/${id}/config`).send({ config: { level: 9 } }).expect(403);
    expect((await admin().get(`/api/v1/plugins/${id}`)).body.config).toEqual({ level: 3 });
    expect((await admin().get('/api/v1/plugins?status=enabled')).body.map((p: { id: string }) => p.id)).toContain(id);
    await admin().get('/api/v1/plugins?status=weird').expect(400);
    // A config may hold credentials: users see the plugin without it, the plugin itself sees its own.
    const user = as('user:configreader');
    expect((await user.get(`/api/v1/plugins/${id}`).expect(200)).body).not.toHaveProperty('config');
    expect((await user.get('/api/v1/plugins').expect(200)).body.every((p: object) => !('config' in p))).toBe(true);
    expect((await as(`plugin:${id}`).get(`/api/v1/plugins/${id}`).expect(200)).body.config).toEqual({ level: 3 });
  });

  test('storage is scoped: get/set/delete/list/clear with size limits', async () => {
    const id = `st_${newId(6)}`;
    await install(manifest(id));
    const me = as(`plugin:${id}`);
    await me.put(`/api/v1/plugins/${id}/storage/a.1`).send({ value: 1 }).expect(204);
    await me.put(`/api/v1/plugins/${id}/storage/a.2`).send({ value: { deep: [1, 2] } }).expect(204);
    await me.put(`/api/v1/plugins/${id}/storage/b`).send({ value: 'x' }).expect(204);
    expect((await me.get(`/api/v1/plugins/${id}/storage/a.2`).expect(200)).body).toEqual({ key: 'a.2', value: { deep: [1, 2] } });
    expect((await me.get(`/api/v1/plugins/${id}/storage?prefix=a.`).expect(200)).body.map((e: { key: string }) => e.key)).toEqual(['a.1', 'a.2']);
    await me.delete(`/api/v1/plugins/${id}/storage/a.1`).expect(204);
    await me.get(`/api/v1/plugins/${id}/storage/a.1`).expect(404);
    await me.put(`/api/v1/plugins/${id}/storage/${'k'.repeat(300)}`).send({ value: 1 }).expect(400);
    await me.put(`/api/v1/plugins/${id}/storage/big`).send({ value: 'x'.repeat(70 * 1024) }).expect(400);
    expect((await me.delete(`/api/v1/plugins/${id}/storage`).expect(200)).body).toEqual({ cleared: 2 });
    // A user never reads what a plugin kept (it may hold other users' events); admin may.
    await as('user:mallory').get(`/api/v1/plugins/${id}/storage`).expect(403);
    await as('user:mallory').put(`/api/v1/plugins/${id}/storage/x`).send({ value: 1 }).expect(403);
    await admin().get(`/api/v1/plugins/${id}/storage`).expect(200);
  });

  test('plugin code reaches its own storage through core.storage.* and no other', async () => {
    const id = `sc_${newId(6)}`;
    const counter = {
      name: 'count',
      description: 'counts calls in storage',
      parameters: { type: 'object' },
      allowedTools: ['core.storage.get', 'core.storage.set'],
      code: "const cur = await tools.call('core.storage.get', { key: 'n' }); const n = (cur.value || 0) + 1; await tools.call('core.storage.set', { key: 'n', value: n }); return { n };",
    };
    const base = manifest(id);
    await install({ ...base, tools: [...base.tools!, counter] });
    await stack.tools.executeTool(`plugin.${id}.count`, {}, { requesterId: 'admin' });
    expect(await stack.tools.executeTool(`plugin.${id}.count`, {}, { requesterId: 'admin' })).toMatchObject({ output: { n: 2 } });
    expect(await stack.prisma.pluginStorage.findUnique({ where: { pluginId_key: { pluginId: id, key: 'n' } } })).toMatchObject({ value: 2 });
    await expect(stack.tools.executeTool('core.storage.get', { key: 'n' }, { requesterId: 'user:alice' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // a plugin without the storage permission is refused
    const noPerm = `sn_${newId(6)}`;
    await install({ ...manifest(noPerm), permissions: ['tools', 'tables', 'events.subscribe'] });
    await expect(stack.tools.executeTool('core.storage.get', { key: 'n' }, { requesterId: `plugin:${noPerm}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  // Cross-plugin isolation (storage, tables, tools, subscriptions) is proven in test/security/cross-plugin.test.ts.

  test('a plugin emits only under plugin.<its id>.* and only while enabled with the events.emit permission', async () => {
    const loud = `em_${newId(6)}`;
    const mute = `mu_${newId(6)}`;
    const shout = { name: 'shout', description: 'emits an event of the given type', parameters: { type: 'object', properties: { type: { type: 'string' } }, required: ['type'] }, allowedTools: ['core.events.emit'], code: "return await tools.call('core.events.emit', { type: args.type, data: { n: 1 } });" };
    // a manifest whose code may call core.events.emit must ask for the permission
    const refused = await admin().post('/api/v1/plugins').send({ ...manifest(mute), tools: [...manifest(mute).tools!, shout] }).expect(422);
    expect(JSON.stringify(refused.body.error.details.issues)).toMatch(/'events.emit' permission/);
    await install({ ...manifest(loud), permissions: ['tools', 'tables', 'events.subscribe', 'events.emit'], tools: [...manifest(loud).tools!, shout] });
    await install(manifest(mute)); // no events.emit

    const run = (type: string) => stack.tools.executeTool(`plugin.${loud}.shout`, { type }, { requesterId: 'admin' });
    expect(await run(`plugin.${loud}.ping`)).toMatchObject({ output: { emitted: `plugin.${loud}.ping` } });
    const logged = await eventually(() => stack.bus.getEventHistory({ type: `plugin.${loud}.ping`, limit: 5 }), (e) => e.length === 1);
    expect(logged[0]).toMatchObject({ source: `plugin:${loud}`, data: { n: 1 } });
    // other namespaces, another plugin's (also one whose id extends this one's), and no sub-type at all
    for (const type of [`plugin.${mute}.ping`, `plugin.${loud}x.ping`, `plugin.${loud}_2.ping`, 'agent.ping', 'system.started', 'plugin.installed', 'resource.created', 'tool.executed']) {
      await expect(run(type)).rejects.toMatchObject({ message: expect.stringMatching(/may not emit/) });
    }
    await expect(run(`plugin.${loud}`)).rejects.toThrow();
    // the grant is checked at the tool, whoever calls it: a plugin without the permission gets FORBIDDEN, also at the API
    await expect(stack.tools.executeTool('core.events.emit', { type: `plugin.${mute}.ping` }, { requesterId: `plugin:${mute}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await as(`plugin:${mute}`).post('/api/v1/events').send({ type: `plugin.${mute}.ping`, data: {} }).expect(403);
    await as(`plugin:${loud}`).post('/api/v1/events').send({ type: `plugin.${loud}.api`, data: {} }).expect(201);
    await as(`plugin:${loud}`).post('/api/v1/events').send({ type: `plugin.${mute}.api`, data: {} }).expect(403);
    // a disabled plugin emits nothing, through either door
    await admin().post(`/api/v1/plugins/${loud}/disable`).expect(200);
    await expect(stack.tools.executeTool('core.events.emit', { type: `plugin.${loud}.ping` }, { requesterId: `plugin:${loud}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await as(`plugin:${loud}`).post('/api/v1/events').send({ type: `plugin.${loud}.api`, data: {} }).expect(403);
    await stack.bus.flush();
    const mine = await stack.bus.getEventHistory({ source: `plugin:${loud}`, limit: 50 });
    const theirs = await stack.bus.getEventHistory({ source: `plugin:${mute}`, limit: 50 });
    expect(mine.map((e) => e.type).sort()).toEqual([`plugin.${loud}.api`, `plugin.${loud}.ping`]);
    expect(theirs).toEqual([]);
  });

  test('a host that missed lifecycle events converges: on its periodic re-sync, and when its listener reconnects', async () => {
    const id = `cv_${newId(6)}`;
    await install(manifest(id));
    const role = await createDeafenableRole(); // two more worker processes whose connection can be cut
    const busB = await openEventBus(role.url, logger);
    const busC = await openEventBus(role.url, logger);
    try {
      await startHost(busB, 0); // re-syncs only when its listener reconnects
      await startHost(busC, 200); // re-syncs every 200 ms
      const subs = (bus: EventBus) => bus.listSubscriptions(`plugin:${id}`).length;
      expect([subs(stack.bus), subs(busB), subs(busC)]).toEqual([1, 1, 1]);

      // B and C lose their connection and cannot get it back while the plugin is disabled
      await role.deafen(busB.metrics().store!.listenerPid!);
      await role.deafen(busC.metrics().store!.listenerPid!);
      await eventually(async () => [busB.metrics().store!.listening, busC.metrics().store!.listening], (l) => l.every((x) => !x));
      await admin().post(`/api/v1/plugins/${id}/disable`).expect(200);
      await eventually(async () => subs(stack.bus), (n) => n === 0); // A heard plugin.disabled
      await eventually(async () => subs(busC), (n) => n === 0); // C, still deaf, converged on its own
      expect(busC.metrics().store!.listening).toBe(false);
      expect(subs(busB)).toBe(1); // B missed the event and has no timer

      await role.restore();
      await eventually(async () => subs(busB), (n) => n === 0, 60_000); // B re-synced once its listener was back
      expect(busB.metrics().store!.listenerReconnects).toBeGreaterThanOrEqual(1);

      // and with everyone listening again, the next lifecycle event reaches all three
      await admin().post(`/api/v1/plugins/${id}/enable`).expect(200);
      await eventually(async () => [subs(stack.bus), subs(busB), subs(busC)], (n) => n.every((x) => x === 1), 60_000);
    } finally {
      await role.restore();
      for (const host of hosts.splice(1)) host.stop();
      await busB.close();
      await busC.close();
      await role.drop();
    }
  }, 120_000);

  test('subscriptions survive a restart: a new process restores them, and two hosts run the tool once per event', async () => {
    const id = `rs_${newId(6)}`;
    await install(manifest(id));
    const restarted = await openEventBus(stack.info.databaseUrl, logger); // a freshly started worker process
    extraBuses.push(restarted);
    expect(restarted.listSubscriptions(`plugin:${id}`)).toHaveLength(0);
    await startHost(restarted);
    expect(restarted.listSubscriptions(`plugin:${id}`)).toEqual([expect.objectContaining({ pattern: `agent.${id}` })]);

    const events = [restarted.emit(`agent.${id}`, { agentId: '1' }, 'test'), stack.bus.emit(`agent.${id}`, { agentId: '2' }, 'test')];
    const rows = await eventually(() => rowsOf(`plugin_${id}_items`), (r) => r.length === 2);
    expect(rows.map((r) => r.k).sort()).toEqual(events.map((e) => e.id).sort());
    const deliveries = await eventually(
      () => stack.prisma.pluginEventDelivery.findMany({ where: { eventId: { in: events.map((e) => e.id) } } }),
      (d) => d.length === 2 && d.every((x) => x.status === 'succeeded'),
    );
    expect(deliveries).toHaveLength(2);
  });
});
