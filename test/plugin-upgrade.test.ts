import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import type { PluginManifestInput } from '../activities/plugins/plugin-manifest';
import { createPluginService } from '../activities/plugins/plugin-service';
import { createPluginSubscriptionHost } from '../activities/plugins/plugin-subscription-host';
import { compareVersions } from '../activities/plugins/plugin-version';
import { newId } from '../platform/ids';
import { createLogger } from '../platform/logger';
import { pluginUpgradeWorkflowId } from '../workflows/plugin-types';
import { holdRead } from './support/gates';
import { pluginFootprint, testPluginManifest } from './support/plugin-fixtures';
import { openTestStack, type TestStack } from './support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';
import { eventually } from './support/wait';

/** Version 2 of the test plugin: a new table and tool, `double` removed, `on_event` changed, a new config key with a default. */
const v2 = (id: string, overrides: Partial<PluginManifestInput> = {}): PluginManifestInput => {
  const v1 = testPluginManifest(id);
  return {
    ...v1,
    version: '2.0.0',
    tables: [...v1.tables!, { name: 'logs', columns: [{ name: 'line', type: 'text' }] }],
    tools: [
      { ...v1.tools![0]!, description: 'stores the event id in the plugin table (v2)' },
      { name: 'triple', description: 'triples a number', parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }, code: 'return { n: args.n * 3 };' },
    ],
    config: { schema: { type: 'object', properties: { level: { type: 'integer', minimum: 1 }, mode: { type: 'string' } }, additionalProperties: false }, defaults: { level: 1, mode: 'fast' } },
    ...overrides,
  };
};

describe('plugin upgrade in place', () => {
  let stack: TestStack;
  let app: Express;
  const admin = (method: 'post' | 'get' | 'put' | 'delete', url: string) => request(app)[method](url).set(PRINCIPAL_HEADER, 'admin');
  const install = async (id: string) => {
    const started = await admin('post', '/api/v1/plugins').send(testPluginManifest(id)).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
  };
  const upgrade = (id: string, body: Record<string, unknown>, query = '') => admin('post', `/api/v1/plugins/${id}/upgrade${query}`).send(body);
  /** Upgrades through the API and waits for the workflow's result. */
  const upgraded = async (id: string, body: Record<string, unknown>, query = '') => {
    const started = await upgrade(id, body, query).expect(202);
    return stack.client.workflow.getHandle(started.body.workflowId).result();
  };
  const row = (id: string) => stack.prisma.plugin.findUniqueOrThrow({ where: { id } });
  const toolRows = (id: string) => stack.prisma.toolRegistry.findMany({ where: { source: 'plugin', sourceId: id }, orderBy: { name: 'asc' }, select: { name: true, definition: true, code: true, isEnabled: true } });
  const subscriptionRows = (id: string) => stack.prisma.pluginEventSubscription.findMany({ where: { pluginId: id }, orderBy: { id: 'asc' }, select: { id: true, eventPattern: true, toolName: true } });
  /** Everything an upgrade may change, to compare before and after. */
  const state = async (id: string) => {
    const { status, manifest, config, workflowId } = await row(id);
    return { status, manifest, config, workflowId, footprint: await pluginFootprint(stack.prisma, id), tools: await toolRows(id), subscriptions: await subscriptionRows(id) };
  };
  const run = (name: string, args: unknown) => stack.tools.executeTool(name, args, { requesterId: 'admin' });

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    app = toolTestApp(stack);
    const host = createPluginSubscriptionHost({ prisma: stack.prisma, bus: stack.bus, tools: stack.tools, logger: createLogger('test', 'silent') });
    await host.start();
  });
  afterAll(() => stack.close());

  test('versions are ordered by semver: numbers by value, a prerelease before its release, build metadata ignored', () => {
    expect(compareVersions('1.10.0', '1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('2.0.0-rc.1', '2.0.0')).toBeLessThan(0);
    expect(compareVersions('2.0.0-rc.2', '2.0.0-rc.10')).toBeLessThan(0);
    expect(compareVersions('2.0.0-alpha', '2.0.0-1')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0+a', '1.0.0+b')).toBe(0);
  });

  test('keeps storage, config and table rows; creates new tables; adds, changes and removes tools; follows the new subscriptions', async () => {
    const id = `up_${newId(6)}`;
    await install(id);
    await admin('put', `/api/v1/plugins/${id}/config`).send({ config: { level: 3 } }).expect(200);
    await admin('put', `/api/v1/plugins/${id}/storage/token`).send({ value: { kept: true } }).expect(204);
    await stack.prisma.$executeRawUnsafe(`INSERT INTO plugin_${id}_items (k, v) VALUES ('before', '{}')`);

    const result = await upgraded(id, { manifest: v2(id) });
    expect(result).toMatchObject({ pluginId: id, fromVersion: '1.0.0', toVersion: '2.0.0', tablesCreated: [`plugin_${id}_logs`], toolsRemoved: ['double'], subscriptions: 1 });
    const after = await row(id);
    expect(after).toMatchObject({ status: 'enabled', workflowId: pluginUpgradeWorkflowId(id, '2.0.0'), errorMessage: null, config: { level: 3, mode: 'fast' }, manifest: { version: '2.0.0' } });
    expect((await admin('get', `/api/v1/plugins/${id}/storage/token`).expect(200)).body.value).toEqual({ kept: true });
    expect((await stack.prisma.$queryRawUnsafe<{ k: string }[]>(`SELECT k FROM plugin_${id}_items`)).map((r) => r.k)).toEqual(['before']);
    expect(await pluginFootprint(stack.prisma, id)).toMatchObject({ tables: [`plugin_${id}_items`, `plugin_${id}_logs`].sort(), tools: [`plugin.${id}.on_event`, `plugin.${id}.triple`], subscriptions: 1, storage: 1 });
    expect(await run(`plugin.${id}.triple`, { n: 2 })).toMatchObject({ output: { n: 6 } });
    await expect(run(`plugin.${id}.double`, { n: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await toolRows(id)).find((t) => t.name.endsWith('.on_event'))?.definition).toMatchObject({ description: 'stores the event id in the plugin table (v2)', subscriptionHandler: true });
    // the subscription delivers to the upgraded handler
    const event = stack.bus.emit(`agent.${id}`, { agentId: 'a' }, 'test');
    await eventually(() => stack.prisma.$queryRawUnsafe<{ k: string }[]>(`SELECT k FROM plugin_${id}_items`), (rows) => rows.some((r) => r.k === event.id));
    await eventually(() => stack.bus.getEventHistory({ type: 'plugin.upgraded', limit: 50 }), (events) => events.some((e) => (e.data as { pluginId: string }).pluginId === id));

    // A table the new version no longer declares is kept, rows and all, unless the body says to drop it.
    const v3 = v2(id, { version: '3.0.0', tables: testPluginManifest(id).tables });
    expect(await upgraded(id, { manifest: v3 })).toMatchObject({ tablesDropped: [] });
    expect((await pluginFootprint(stack.prisma, id)).tables).toContain(`plugin_${id}_logs`);
    // declared again with its definition, the kept table is reused as it is
    await upgraded(id, { manifest: v2(id, { version: '3.1.0' }) });
    expect(await upgraded(id, { manifest: { ...v3, version: '4.0.0' }, dropRemovedTables: true })).toMatchObject({ tablesDropped: [`plugin_${id}_logs`] });
    expect((await pluginFootprint(stack.prisma, id)).tables).toEqual([`plugin_${id}_items`]);
    expect((await stack.prisma.$queryRawUnsafe<unknown[]>(`SELECT k FROM plugin_${id}_items`)).length).toBeGreaterThan(0);
  });

  test('a disabled plugin stays disabled, its new tools too', async () => {
    const id = `ud_${newId(6)}`;
    await install(id);
    await admin('post', `/api/v1/plugins/${id}/disable`).expect(200);
    await upgraded(id, { manifest: v2(id) });
    expect((await row(id)).status).toBe('disabled');
    expect((await toolRows(id)).map((t) => t.isEnabled)).toEqual([false, false]);
  });

  test('refuses (409 naming them) to remove a tool saved plans or triggers use; force=true upgrades anyway', async () => {
    const id = `uu_${newId(6)}`;
    await install(id);
    const plan = (await admin('post', '/api/v1/plans').send({ name: 'doubles', steps: [{ id: 'a', kind: 'tool', tool: `plugin.${id}.double`, args: { n: 1 } }] }).expect(201)).body;
    const before = await state(id);
    const refused = await upgrade(id, { manifest: v2(id) }).expect(409);
    expect(refused.body.error).toMatchObject({ code: 'CONFLICT', details: { plans: [{ id: plan.id, name: 'doubles' }], triggers: [], tools: ['double'] } });
    expect(await state(id)).toEqual(before);
    await upgraded(id, { manifest: v2(id) }, '?force=true');
    expect((await row(id)).manifest).toMatchObject({ version: '2.0.0' });
  });

  test('refuses the same or an older version, another plugin’s manifest and a changed table, before anything changes', async () => {
    const id = `uv_${newId(6)}`;
    await install(id);
    const before = await state(id);
    for (const version of ['1.0.0', '0.9.0', '1.0.0-rc.1', '1.0.0+build']) {
      expect((await upgrade(id, { manifest: v2(id, { version }) }).expect(409)).body.error).toMatchObject({ code: 'CONFLICT', details: { installed: '1.0.0', requested: version } });
    }
    expect((await upgrade(id, { manifest: v2(`${id}x`) }).expect(422)).body.error.code).toBe('UNPROCESSABLE');
    const changedTable = v2(id, { tables: [{ name: 'items', columns: [{ name: 'k', type: 'text', primaryKey: true }, { name: 'extra', type: 'text' }] }] });
    expect((await upgrade(id, { manifest: changedTable }).expect(422)).body.error).toMatchObject({ code: 'UNPROCESSABLE', details: { tables: ['items'] } });
    await upgrade(id, { manifest: { ...v2(id), version: 'two' } }).expect(400);
    expect(await state(id)).toEqual(before);
  });

  test('a config the new schema refuses fails 422 with nothing written and no workflow; a config in the body passes', async () => {
    const id = `uc_${newId(6)}`;
    await install(id);
    await admin('put', `/api/v1/plugins/${id}/config`).send({ config: { level: 3 } }).expect(200);
    const strict = v2(id, { config: { schema: { type: 'object', properties: { level: { type: 'integer', maximum: 2 } }, additionalProperties: false }, defaults: { level: 1 } } });
    const before = { ...(await state(id)), updatedAt: (await row(id)).updatedAt };
    const refused = await upgrade(id, { manifest: strict }).expect(422);
    expect(refused.body.error).toMatchObject({ code: 'UNPROCESSABLE', details: { issues: [expect.objectContaining({ path: '/level' })] } });
    expect({ ...(await state(id)), updatedAt: (await row(id)).updatedAt }).toEqual(before);
    await expect(stack.client.workflow.getHandle(pluginUpgradeWorkflowId(id, '2.0.0')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    await upgrade(id, { manifest: strict, config: { level: 5 } }).expect(422);
    await upgraded(id, { manifest: strict, config: { level: 2 } });
    expect((await row(id)).config).toEqual({ level: 2 });
  });

  test('a failure at the last step restores the previous version exactly, and it keeps working', async () => {
    const id = `uf_${newId(6)}`;
    await install(id);
    await admin('put', `/api/v1/plugins/${id}/storage/token`).send({ value: 1 }).expect(204);
    const before = await state(id);
    // The database refuses this plugin's switch back from `upgrading` while it records version 2.0.0.
    const fn = `refuse_${id}`;
    await stack.prisma.$executeRawUnsafe(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'activation refused'; END $$`);
    await stack.prisma.$executeRawUnsafe(
      `CREATE TRIGGER ${fn} BEFORE UPDATE ON plugins FOR EACH ROW WHEN (NEW.id = '${id}' AND OLD.status = 'upgrading' AND NEW.status <> 'upgrading' AND NEW.manifest->>'version' = '2.0.0') EXECUTE FUNCTION ${fn}()`,
    );
    try {
      const started = await upgrade(id, { manifest: v2(id) }).expect(202);
      const failure = await stack.client.workflow.getHandle(started.body.workflowId).result().then(() => undefined, (e: unknown) => e);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause?.message).toMatch(/failed at activate: [\s\S]*activation refused/);
    } finally {
      await stack.prisma.$executeRawUnsafe(`DROP TRIGGER ${fn} ON plugins`);
      await stack.prisma.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
    }
    const after = await state(id);
    expect({ ...after, workflowId: before.workflowId }).toEqual(before);
    expect((await row(id)).errorMessage).toMatch(/^upgrade to 2\.0\.0 failed at activate: /);
    expect(await run(`plugin.${id}.double`, { n: 2 })).toMatchObject({ output: { n: 4 } });
    await expect(run(`plugin.${id}.triple`, { n: 2 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const event = stack.bus.emit(`agent.${id}`, { agentId: 'a' }, 'test');
    await eventually(() => stack.prisma.$queryRawUnsafe<{ k: string }[]>(`SELECT k FROM plugin_${id}_items`), (rows) => rows.some((r) => r.k === event.id));
    await eventually(() => stack.bus.getEventHistory({ type: 'plugin.upgrade_failed', limit: 50 }), (events) => events.some((e) => (e.data as { pluginId: string }).pluginId === id));
    // and it can still be upgraded
    await upgraded(id, { manifest: v2(id, { version: '2.0.1' }) });
    expect((await row(id)).manifest).toMatchObject({ version: '2.0.1' });
  }, 60_000);

  test('concurrent upgrades: one wins, the other is refused 409', async () => {
    const id = `ur_${newId(6)}`;
    await install(id);
    const [a, b] = await Promise.all([upgrade(id, { manifest: v2(id) }), upgrade(id, { manifest: v2(id, { version: '3.0.0' }) })]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const winner = a.status === 202 ? a : b;
    await stack.client.workflow.getHandle(winner.body.workflowId).result();

    // Deterministically: one request has read (and checked) the plugin when the other claims it and upgrades it.
    const service = (prisma = stack.prisma) => createPluginService({ prisma, temporal: stack.client, taskQueue: stack.taskQueue, events: stack.bus, pluginTools: stack.tools });
    const read = holdRead(stack.prisma, 'plugin', 'findUnique');
    const late = service(read.prisma).upgrade(id, { manifest: v2(id, { version: '5.0.0' }) }, 'admin').then(() => 'ok', (e: { code?: string }) => e.code);
    await read.at;
    const first = await service().upgrade(id, { manifest: v2(id, { version: '4.0.0' }) }, 'admin');
    await stack.client.workflow.getHandle(first.workflowId).result();
    read.open();
    // the plugin it checked is no longer there to claim, although it rests in the same status again
    expect(await late).toBe('CONFLICT');
    expect((await row(id)).manifest).toMatchObject({ version: '4.0.0' });
    await expect(stack.client.workflow.getHandle(pluginUpgradeWorkflowId(id, '5.0.0')).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });
});
