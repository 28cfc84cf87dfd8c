import request from 'supertest';
import type { Express } from 'express';
import type { PluginManifestInput } from '../../activities/plugins/plugin-manifest';
import { createPluginSubscriptionHost } from '../../activities/plugins/plugin-subscription-host';
import { newId } from '../../platform/ids';
import { createLogger } from '../../platform/logger';
import { pluginFootprint, testPluginManifest as manifest } from '../support/plugin-fixtures';
import { openTestStack, type TestStack } from '../support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from '../support/tool-test-app';
import { eventually } from '../support/wait';
import { CROSS_PLUGIN_ATTACKS } from './corpora/cross-plugin';

// Plugin A, with its own real API key, attacks plugin B: through every route in the corpus and
// through the in-process services (tools, ACL, bus). Nothing of B's may be read or changed.
describe('cross-plugin isolation corpus', () => {
  let stack: TestStack;
  let app: Express;
  const a = `xa_${newId(5)}`;
  const b = `xb_${newId(5)}`;
  const tableB = `plugin_${b}_items`;
  const as = (principal: string) => ({
    get: (url: string) => request(app).get(url).set(PRINCIPAL_HEADER, principal),
    post: (url: string) => request(app).post(url).set(PRINCIPAL_HEADER, principal),
    put: (url: string) => request(app).put(url).set(PRINCIPAL_HEADER, principal),
    patch: (url: string) => request(app).patch(url).set(PRINCIPAL_HEADER, principal),
    delete: (url: string) => request(app).delete(url).set(PRINCIPAL_HEADER, principal),
  });
  const install = async (m: PluginManifestInput) => {
    const started = await as('admin').post('/api/v1/plugins').send(m).expect(202);
    return stack.client.workflow.getHandle(started.body.workflowId).result();
  };
  const rowsOf = (table: string) => stack.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM ${table}`);
  /** B's footprint plus what is inside it: its storage value, table rows and config. */
  const stateOfB = async () => ({
    ...(await pluginFootprint(stack.prisma, b)),
    secret: (await stack.prisma.pluginStorage.findUnique({ where: { pluginId_key: { pluginId: b, key: 'secret' } } }))?.value,
    rows: await rowsOf(tableB),
    plugin: await stack.prisma.plugin.findUnique({ where: { id: b }, select: { status: true, config: true } }),
    toolsEnabled: (await stack.prisma.toolRegistry.findMany({ where: { sourceId: b }, select: { name: true, isEnabled: true }, orderBy: { name: 'asc' } })),
  });

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    await createPluginSubscriptionHost({ prisma: stack.prisma, bus: stack.bus, tools: stack.tools, logger: createLogger('test', 'silent') }).start();
    app = toolTestApp(stack);
    await install(manifest(a));
    await install(manifest(b, { permissions: ['tools', 'tables', 'events.subscribe', 'events.emit', 'storage'] })); // B may emit in its own namespace
    await as(`plugin:${b}`).put(`/api/v1/plugins/${b}/storage/secret`).send({ value: 42 }).expect(204);
    await stack.acl.executeQuery(`INSERT INTO ${tableB} (k, v) VALUES ('b-row', '{"secret": true}')`, [], `plugin:${b}`);
  });
  afterAll(() => stack.close());

  test.each(CROSS_PLUGIN_ATTACKS)('A: %s is refused and B is untouched', async (_label, method, template, body, status) => {
    const fill = (text: string) => text.replaceAll('{victimTable}', tableB).replaceAll('{victimTool}', `plugin.${b}.double`).replaceAll('{victim}', b).replaceAll('{attacker}', a);
    const payload = body === '{victimManifest}' ? manifest(b) : body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body)));
    const before = await stateOfB();
    const call = as(`plugin:${a}`)[method](fill(template));
    const res = payload === undefined ? await call : await call.send(payload);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({ status, code: status === 403 ? 'FORBIDDEN' : expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/b-row|"value":42/);
    expect(await stateOfB()).toEqual(before);
  });

  test('the corpus bites: B itself may do what A was refused', async () => {
    const asB = as(`plugin:${b}`);
    expect((await asB.get(`/api/v1/plugins/${b}/storage/secret`).expect(200)).body).toEqual({ key: 'secret', value: 42 });
    expect((await asB.post('/api/v1/db/query').send({ sql: `SELECT k FROM ${tableB}` }).expect(200)).body.rows).toEqual([{ k: 'b-row' }]);
    await asB.post('/api/v1/events').send({ type: `plugin.${b}.ping`, data: {} }).expect(201);
    expect((await as(`plugin:${a}`).get('/api/v1/plugins')).body.map((p: { id: string }) => p.id)).toEqual([a]);
  });

  test('in process: A’s principal reaches only A’s storage, tables, tools and subscriptions', async () => {
    // through tools, A's principal only ever names A's own keys
    expect(await stack.tools.executeTool('core.storage.get', { key: 'secret' }, { requesterId: `plugin:${a}` })).toMatchObject({ output: { value: null } });
    await stack.tools.executeTool('core.storage.set', { key: 'secret', value: 'mine' }, { requesterId: `plugin:${a}` });
    expect(await stack.prisma.pluginStorage.findUnique({ where: { pluginId_key: { pluginId: b, key: 'secret' } } })).toMatchObject({ value: 42 });

    // tables: A's sandboxed code and A's principal are refused B's table
    await expect(stack.tools.executeTool('core.db.query', { sql: `SELECT * FROM ${tableB}` }, { requesterId: `plugin:${a}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(stack.tools.executeTool('core.db.query', { sql: `DELETE FROM ${tableB}` }, { requesterId: `plugin:${a}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // the ACL prefixes every name with the plugin's own id, so A's drop can never name B's table
    expect(await stack.acl.dropPluginTable(a, `${b}_items`)).toEqual({ table: `plugin_${a}_${b}_items`, dropped: false });
    expect(await pluginFootprint(stack.prisma, b)).toMatchObject({ tables: [tableB] });

    // tools: A can neither remove, disable nor take over B's tools
    await expect(stack.tools.unregisterTool(`plugin.${b}.double`, `plugin:${a}`)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(stack.tools.disableTool(`plugin.${b}.double`, `plugin:${a}`)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      stack.tools.registerPluginTool(a, { name: `plugin.${b}.double`, description: 'hijack', category: 'x', parameters: { type: 'object' }, tags: [] }, 'return 0;'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await stack.tools.executeTool(`plugin.${b}.double`, { n: 5 }, { requesterId: 'admin' })).toMatchObject({ output: { n: 10 } });

    // subscriptions: A subscribes only to what its manifest declares, and cannot touch B's
    const scopedA = stack.bus.forPlugin(a, [`agent.${a}`]);
    expect(() => scopedA.subscribe(`agent.${b}`, () => undefined)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => scopedA.emit(`plugin.${b}.fake`, {})).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    scopedA.clearSubscriptions();
    expect(stack.bus.listSubscriptions(`plugin:${b}`)).toHaveLength(1);
  });

  test('uninstalling A leaves every part of B working', async () => {
    await as('admin').delete(`/api/v1/plugins/${a}`).expect(202);
    await eventually(() => stack.prisma.plugin.count({ where: { id: a } }), (n) => n === 0);
    expect(await pluginFootprint(stack.prisma, b)).toMatchObject({ subscriptions: 1, storage: 1, tools: [`plugin.${b}.double`, `plugin.${b}.on_event`] });
    stack.bus.emit(`agent.${b}`, { agentId: 'x' }, 'test');
    await eventually(() => rowsOf(tableB), (rows) => rows.length === 2);
  });
});
