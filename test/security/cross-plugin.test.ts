import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import type { PluginManifestInput } from '../../activities/plugins/plugin-manifest';
import { createPluginSubscriptionHost } from '../../activities/plugins/plugin-subscription-host';
import { CreatePlanBody } from '../../activities/plans/plan-schemas';
import { createPlanService } from '../../activities/plans/plan-service';
import { newId } from '../../platform/ids';
import { createLogger } from '../../platform/logger';
import { everyToolAllowed } from '../support/plan-harness';
import { pluginFootprint, testPluginManifest as manifest } from '../support/plugin-fixtures';
import { openTestStack, type TestStack } from '../support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from '../support/tool-test-app';
import { buildTriggerApp } from '../support/trigger-app';
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
  const toolB = `plugin.${b}.double`;
  const handlerB = `plugin.${b}.on_event`;
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
    const { plans, triggers, webhooks } = await buildTriggerApp(stack);
    app = toolTestApp(stack, { plans, triggers, webhooks });
    await install(manifest(a));
    await install(manifest(b, { permissions: ['tools', 'tables', 'events.subscribe', 'events.emit', 'storage'] })); // B may emit in its own namespace
    await as(`plugin:${b}`).put(`/api/v1/plugins/${b}/storage/secret`).send({ value: 42 }).expect(204);
    await stack.acl.executeQuery(`INSERT INTO ${tableB} (k, v) VALUES ('b-row', '{"secret": true}')`, [], `plugin:${b}`);
  });
  afterAll(() => stack.close());

  test.each(CROSS_PLUGIN_ATTACKS)('A: %s is refused and B is untouched', async (_label, method, template, body, status) => {
    const fill = (text: string) => text.replaceAll('{victimTable}', tableB).replaceAll('{victimTool}', toolB).replaceAll('{victimHandler}', handlerB).replaceAll('{victim}', b).replaceAll('{attacker}', a);
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

  test('a plugin runs its own tools and handler, and only admin among the others runs B’s handler', async () => {
    const asA = as(`plugin:${a}`);
    // the corpus refusals are about whose tool it is: A's own plan and trigger of its own tools are fine
    expect((await asA.post(`/api/v1/tools/plugin.${a}.double/execute`).send({ args: { n: 2 } }).expect(200)).body.output).toEqual({ n: 4 });
    await asA.post('/api/v1/plans').send({ name: 'own', steps: [{ id: 's', kind: 'tool', tool: `plugin.${a}.on_event`, args: { event: { id: 'x' } } }] }).expect(201);
    await asA.post('/api/v1/triggers').send({ name: 'own', type: 'event', config: { pattern: `plugin.${a}.*` }, action: { kind: 'tool', tool: `plugin.${a}.double`, args: { n: 1 } }, enabled: false }).expect(201);
    expect((await asA.get('/api/v1/tools?source=plugin').expect(200)).body.tools.map((t: { name: string }) => t.name)).toEqual([`plugin.${a}.double`, `plugin.${a}.on_event`]);

    const before = await stateOfB();
    const refused = await asA.post(`/api/v1/tools/${handlerB}/execute`).send({ args: { event: { id: 'forged-by-a' } } }).expect(403);
    expect(refused.body.error.message).toBe(`plugin:${a} may not run tool '${handlerB}': plugins are isolated: it belongs to plugin ${b}`);
    // in process, and from A's own sandboxed code (a tool registered past the manifest check)
    await expect(stack.tools.executeTool(handlerB, { event: { id: 'forged-in-process' } }, { requesterId: `plugin:${a}` })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await stack.tools.registerPluginTool(a, { name: `plugin.${a}.relay`, description: 'calls B', category: 'x', parameters: { type: 'object' }, tags: [] }, `return await tools.call('${handlerB}', { event: { id: 'forged-nested' } });`, { allowedTools: [handlerB] });
    await expect(stack.tools.executeTool(`plugin.${a}.relay`, {}, { requesterId: 'admin' })).rejects.toMatchObject({ message: expect.stringContaining(`plugin:${a} may not run tool '${handlerB}'`) }); // the sandbox reports the refusal as its failure
    await stack.tools.unregisterTool(`plugin.${a}.relay`, 'admin');
    // nor may A's manifest name another plugin's tool
    const relay = manifest(`xr_${newId(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`, { tools: [{ name: 'relay', description: 'calls B', allowedTools: [toolB], code: 'return 1;' }], subscriptions: [], tables: [] });
    expect((await as('admin').post('/api/v1/plugins').send(relay).expect(422)).body.error.details.issues).toEqual([{ path: '/tools/0/allowedTools/0', message: `'${toolB}' is another plugin's tool` }]);
    expect(await stateOfB()).toEqual(before);
  });

  test('B’s subscription handler is for its events only: users, custom tools, plans and triggers are refused; B’s ordinary tool stays open', async () => {
    const bob = as('user:bob');
    const before = await stateOfB();
    const refused = await bob.post(`/api/v1/tools/${handlerB}/execute`).send({ args: { event: { id: 'forged-by-bob', data: { evil: true } } } }).expect(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', message: `user:bob may not run tool '${handlerB}': it is plugin ${b}'s subscription handler, run only by that plugin for its events (and by admin directly)` });
    expect((await bob.post(`/api/v1/tools/${toolB}/execute`).send({ args: { n: 21 } }).expect(200)).body.output).toEqual({ n: 42 });

    // the listing shows each principal what it may run, and marks the handler for admin
    const names = async (principal: string) => (await as(principal).get('/api/v1/tools?source=plugin').expect(200)).body.tools.filter((t: { name: string }) => t.name.startsWith(`plugin.${b}.`));
    expect((await names('user:bob')).map((t: { name: string }) => t.name)).toEqual([toolB]);
    expect((await names('admin')).map((t: { name: string; definition: { subscriptionHandler?: boolean } }) => [t.name, t.definition.subscriptionHandler])).toEqual([[toolB, undefined], [handlerB, true]]);
    await bob.get(`/api/v1/tools/${handlerB}`).expect(404);

    // a custom tool may not list it (its code acts as its caller, admin included), on create or change
    const custom = { name: `relay_${newId(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`, description: 'relays', code: `return await tools.call('${handlerB}', { event: { id: 'forged-by-custom' } });`, requiresApproval: false };
    expect((await bob.post('/api/v1/custom-tools').send({ ...custom, allowedTools: [handlerB] }).expect(403)).body.error.message).toBe(
      `custom tool 'custom.${custom.name}' may not list '${handlerB}' in allowedTools: it is plugin ${b}'s subscription handler, which admin may run only by calling it directly, not through a plan, a trigger or another tool`,
    );
    const created = (await bob.post('/api/v1/custom-tools').send({ ...custom, allowedTools: [toolB] }).expect(201)).body;
    await bob.patch(`/api/v1/custom-tools/${created.id}`).send({ allowedTools: [handlerB] }).expect(403);
    // ... and if it names the handler anyway (registered before the plugin was), the call is refused even for admin
    await stack.prisma.toolRegistry.update({ where: { id: created.id }, data: { allowedTools: [handlerB] } });
    await stack.tools.disableTool(`custom.${custom.name}`, 'admin'); // drops the cached record
    await stack.tools.enableTool(`custom.${custom.name}`, 'admin');
    await expect(stack.tools.executeTool(`custom.${custom.name}`, {}, { requesterId: 'admin' })).rejects.toMatchObject({ message: expect.stringContaining(`admin may not run tool '${handlerB}'`) });

    // a user's plan and trigger are refused when saved
    const savedPlan = await bob.post('/api/v1/plans').send({ name: 'forge', steps: [{ id: 's', kind: 'tool', tool: handlerB, args: { event: { id: 'forged-by-plan' } } }] }).expect(403);
    const savedTrigger = await bob.post('/api/v1/triggers').send({ name: 'forge', type: 'event', config: { pattern: 'agent.bob' }, action: { kind: 'tool', tool: handlerB, args: { event: { id: 'forged-by-trigger' } } } }).expect(403);
    for (const saved of [savedPlan, savedTrigger]) expect(saved.body.error.message).toContain(`user:bob may not run tool '${handlerB}'`);
    // a trigger admin saves is refused too: its firings act for admin, but not as admin calling directly
    const adminTrigger = { name: 'forge', type: 'event', config: { pattern: 'agent.never' }, action: { kind: 'tool', tool: handlerB, args: { event: { id: 'forged-by-admin-trigger' } } } };
    expect((await as('admin').post('/api/v1/triggers').send(adminTrigger).expect(403)).body.error.message).toBe(
      `admin may not run tool '${handlerB}': it is plugin ${b}'s subscription handler, which admin may run only by calling it directly, not through a plan, a trigger or another tool`,
    );
    // and so is a plan admin saves: its steps run for admin, not as admin calling directly
    const forged = { name: 'forge', steps: [{ id: 's', kind: 'tool', tool: handlerB, args: { event: { id: 'forged-by-admin-plan' } } }] };
    expect((await as('admin').post('/api/v1/plans').send(forged).expect(403)).body.error.message).toContain(`admin may not run tool '${handlerB}'`);
    // a plan and a trigger of admin's stored past those checks: refused when they run
    const unchecked = createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools: everyToolAllowed });
    const plan = await unchecked.createPlan(CreatePlanBody.parse(forged), 'admin');
    const run = (await as('admin').post(`/api/v1/plans/${plan.id}/execute`).send({}).expect(202)).body;
    const failed = await eventually(() => as('admin').get(`/api/v1/plans/runs/${run.runId}`).then((r) => r.body), (r) => r.status === 'failed');
    expect(JSON.stringify(failed)).toContain(`admin may not run tool '${handlerB}'`);
    const trigger = (await as('admin').post('/api/v1/triggers').send({ ...adminTrigger, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body;
    await stack.prisma.trigger.update({ where: { id: trigger.id }, data: { action: adminTrigger.action } });
    await as('admin').post(`/api/v1/triggers/${trigger.id}/execute`).send({ payload: {} }).expect(202);
    const firing = await eventually(() => stack.prisma.triggerHistory.findFirst({ where: { triggerId: trigger.id } }), (h) => h?.status === 'failed');
    expect(firing?.error).toContain(`admin may not run tool '${handlerB}'`);
    expect(await stateOfB()).toEqual(before);

    // the subscription host still delivers real events to it, and admin may run it directly
    stack.bus.emit(`agent.${b}`, { agentId: 'real' }, 'test');
    await eventually(() => rowsOf(tableB), (rows) => rows.length === before.rows.length + 1);
    await as('admin').post(`/api/v1/tools/${handlerB}/execute`).send({ args: { event: { id: 'by-admin', data: {} } } }).expect(200);
    expect((await rowsOf(tableB)).map((r) => r.k)).toContain('by-admin');
    await stack.prisma.$executeRawUnsafe(`DELETE FROM ${tableB} WHERE k <> 'b-row'`);
  });

  test('migration 0012 marks a handler installed before handlers were marked', async () => {
    const unmark = `UPDATE tool_registry SET definition = definition - 'subscriptionHandler' WHERE name = '${handlerB}'`;
    await stack.prisma.$executeRawUnsafe(unmark);
    await stack.prisma.$executeRawUnsafe(fs.readFileSync(path.join(__dirname, '../../prisma/migrations/0012_mark_subscription_handlers/migration.sql'), 'utf8'));
    const marked = await stack.prisma.toolRegistry.findMany({ where: { sourceId: b }, select: { name: true, definition: true }, orderBy: { name: 'asc' } });
    expect(marked.map((t) => [t.name, (t.definition as { subscriptionHandler?: boolean }).subscriptionHandler])).toEqual([[toolB, undefined], [handlerB, true]]);
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
    // A's own plan and trigger (saved above) name its tools: refused, unless forced
    await as('admin').delete(`/api/v1/plugins/${a}`).expect(409);
    await as('admin').delete(`/api/v1/plugins/${a}`).query({ force: 'true' }).expect(202);
    await eventually(() => stack.prisma.plugin.count({ where: { id: a } }), (n) => n === 0);
    expect(await pluginFootprint(stack.prisma, b)).toMatchObject({ subscriptions: 1, storage: 1, tools: [`plugin.${b}.double`, `plugin.${b}.on_event`] });
    stack.bus.emit(`agent.${b}`, { agentId: 'x' }, 'test'); // the subscription host delivers to B's handler
    await eventually(() => rowsOf(tableB), (rows) => rows.length === 2);
  });
});
