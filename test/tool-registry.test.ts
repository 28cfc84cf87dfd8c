import request from 'supertest';
import { createToolRegistry } from '../activities/tools/tool-registry';
import { z } from 'zod';
import { createPrisma } from '../platform/database';
import { newId } from '../platform/ids';
import { createCollectingPublisher } from './support/collecting-publisher';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';
import { eventually } from './support/wait';

describe('tool registry: rules, events, search, approval, cache', () => {
  let stack: TestStack;
  let app: ReturnType<typeof toolTestApp>;
  const as = (principal: string) => ({ [PRINCIPAL_HEADER]: principal });
  const alice = `user:alice${newId(4)}`;
  const bob = `user:bob${newId(4)}`;
  const aliceId = alice.slice('user:'.length);

  beforeAll(async () => {
    stack = await openTestStack();
    app = toolTestApp(stack);
  });
  afterAll(() => stack.close());

  const createCustom = (owner: string, name: string, extra: Record<string, unknown> = {}) =>
    request(app)
      .post('/api/v1/custom-tools')
      .set(as(owner))
      .send({ name, description: `adds one (${name})`, code: 'return { value: args.n + 1 }', parameters: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'], additionalProperties: false }, requiresApproval: false, tags: ['arith'], ...extra });

  test('built-ins are registered locked and nobody (admin included) may disable, delete or replace them', async () => {
    const echo = await request(app).get('/api/v1/tools/core.echo').set(as('admin')).expect(200);
    expect(echo.body).toMatchObject({ name: 'core.echo', source: 'builtin', isLocked: true, isEnabled: true });
    for (const principal of ['admin', alice, 'plugin:p1']) {
      const disable = await request(app).post('/api/v1/tools/core.echo/disable').set(as(principal)).expect(403);
      expect(disable.body.error.code).toBe('TOOL_LOCKED');
      const del = await request(app).delete('/api/v1/tools/core.math').set(as(principal)).expect(403);
      expect(del.body.error.code).toBe('TOOL_LOCKED');
    }
    // "replace": a custom tool can never take a core.* name, nor can a plugin.
    await request(app).post('/api/v1/custom-tools').set(as('admin')).send({ userId: 'x', name: 'core.echo', description: 'evil', code: 'return 1' }).expect(400);
    await expect(stack.tools.registerPluginTool('p1', { name: 'core.echo', description: 'evil', category: 'x', parameters: { type: 'object' }, tags: [] }, 'return 1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(stack.tools.unregisterTool('core.echo', 'admin')).rejects.toMatchObject({ code: 'TOOL_LOCKED' });
    const row = await stack.prisma.toolRegistry.findUniqueOrThrow({ where: { name: 'core.echo' } });
    expect(row).toMatchObject({ isEnabled: true, isLocked: true, source: 'builtin' });
    expect((row.definition as { description: string }).description).toBe('Returns its arguments unchanged');
    // registering built-ins again (a second process starting) is idempotent
    const before = await stack.prisma.toolRegistry.count({ where: { source: 'builtin' } });
    const again = createToolRegistry({ prisma: stack.prisma, events: createCollectingPublisher() });
    await again.registerBuiltinTools([]);
    expect(await stack.prisma.toolRegistry.count({ where: { source: 'builtin' } })).toBe(before);
  });

  test('a user manages only their own custom tools; admin manages any; events are emitted', async () => {
    stack.events.clear();
    const created = await createCustom(alice, `inc_${newId(5)}`).expect(201);
    const name = `custom.${created.body.name}`;
    expect(stack.events.ofType('tool.registered').map((e) => e.data)).toEqual([expect.objectContaining({ tool: name, source: 'custom', userId: aliceId })]);

    // bob can neither see, run, disable, change nor delete it
    await request(app).get(`/api/v1/tools/${name}`).set(as(bob)).expect(404);
    expect((await request(app).post(`/api/v1/tools/${name}/execute`).set(as(bob)).send({ args: { n: 1 } }).expect(403)).body.error.code).toBe('FORBIDDEN');
    await request(app).post(`/api/v1/tools/${name}/disable`).set(as(bob)).expect(403);
    await request(app).delete(`/api/v1/tools/${name}`).set(as(bob)).expect(403);
    await request(app).patch(`/api/v1/custom-tools/${created.body.id}`).set(as(bob)).send({ code: 'return 666' }).expect(403);
    await request(app).delete(`/api/v1/custom-tools/${created.body.id}`).set(as(bob)).expect(403);
    await request(app).get(`/api/v1/custom-tools/${created.body.id}`).set(as(bob)).expect(403);
    expect((await request(app).get('/api/v1/custom-tools').set(as(bob)).expect(200)).body.customTools).toEqual([]);
    // a plugin principal may not touch it either, nor create custom tools
    await request(app).post(`/api/v1/tools/${name}/disable`).set(as('plugin:p1')).expect(403);
    await createCustom('plugin:p1', `nope_${newId(5)}`).expect(403);
    await createCustom(alice, `evil_${newId(5)}`, { userId: bob.slice(5) }).expect(403);
    const stored = await stack.prisma.customTool.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(stored.code).toBe('return { value: args.n + 1 }');

    // the owner runs it and manages it
    const run = await request(app).post(`/api/v1/tools/${name}/execute`).set(as(alice)).send({ args: { n: 41 } }).expect(200);
    expect(run.body).toMatchObject({ status: 'completed', output: { value: 42 } });
    stack.events.clear();
    await request(app).post(`/api/v1/tools/${name}/disable`).set(as(alice)).expect(200);
    expect(stack.events.ofType('tool.disabled')).toHaveLength(1);
    const disabled = await request(app).post(`/api/v1/tools/${name}/execute`).set(as(alice)).send({ args: { n: 1 } }).expect(409);
    expect(disabled.body.error.code).toBe('TOOL_DISABLED');
    // admin re-enables and the name is taken for everyone
    await request(app).post(`/api/v1/tools/${name}/enable`).set(as('admin')).expect(200);
    expect(stack.events.ofType('tool.enabled')).toHaveLength(1);
    await createCustom(bob, created.body.name).expect(409);
    // the owner updates the code; the next run uses it
    await request(app).patch(`/api/v1/custom-tools/${created.body.id}`).set(as(alice)).send({ code: 'return { value: args.n * 10 }' }).expect(200);
    expect((await request(app).post(`/api/v1/tools/${name}/execute`).set(as('admin')).send({ args: { n: 4 } }).expect(200)).body.output).toEqual({ value: 40 });
    // admin deletes it
    stack.events.clear();
    await request(app).delete(`/api/v1/custom-tools/${created.body.id}`).set(as('admin')).expect(204);
    expect(stack.events.ofType('tool.unregistered').map((e) => e.data)).toEqual([expect.objectContaining({ tool: name, by: 'admin' })]);
    expect(await stack.prisma.customTool.count({ where: { id: created.body.id } })).toBe(0);
    expect(await stack.tools.exists(name)).toBe(false);
  });

  test('a plugin unregisters only its own tools', async () => {
    const p1 = `p${newId(6)}`;
    const p2 = `p${newId(6)}`;
    const def = (plugin: string, tool: string) => ({ name: `plugin.${plugin}.${tool}`, description: 'doubles', category: 'math', parameters: { type: 'object', properties: { x: { type: 'number' } } }, tags: ['plugin'] });
    await stack.tools.registerPluginTool(p1, def(p1, 'double'), 'return { y: args.x * 2 }');
    await stack.tools.registerPluginTool(p2, def(p2, 'double'), 'return { y: args.x * 2 }');
    await expect(stack.tools.registerPluginTool(p2, def(p1, 'steal'), 'return 1')).rejects.toMatchObject({ code: 'FORBIDDEN' });

    const denied = await request(app).delete(`/api/v1/tools/plugin.${p1}.double`).set(as(`plugin:${p2}`)).expect(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    await request(app).post(`/api/v1/tools/plugin.${p1}.double/disable`).set(as(`plugin:${p2}`)).expect(403);
    await request(app).delete(`/api/v1/tools/plugin.${p1}.double`).set(as(alice)).expect(403);
    expect(await stack.tools.exists(`plugin.${p1}.double`)).toBe(true);

    const ran = await request(app).post(`/api/v1/tools/plugin.${p1}.double/execute`).set(as(alice)).send({ args: { x: 21 } }).expect(200);
    expect(ran.body.output).toEqual({ y: 42 });

    await request(app).delete(`/api/v1/tools/plugin.${p1}.double`).set(as(`plugin:${p1}`)).expect(204);
    expect(await stack.tools.exists(`plugin.${p1}.double`)).toBe(false);
    await request(app).delete(`/api/v1/tools/plugin.${p2}.double`).set(as('admin')).expect(204);
    await stack.tools.registerPluginTool(p2, def(p2, 'a'), 'return 1');
    await stack.tools.registerPluginTool(p2, def(p2, 'b'), 'return 2');
    expect((await stack.tools.unregisterPluginTools(p2)).sort()).toEqual([`plugin.${p2}.a`, `plugin.${p2}.b`]);
    expect(await stack.tools.unregisterPluginTools(p2)).toEqual([]);
  });

  test('search by words and filters, list by source, custom tools only for their owner', async () => {
    const mine = await createCustom(alice, `searchable_${newId(5)}`, { category: 'finance', tags: ['money', 'arith'] }).expect(201);
    const all = await request(app).get('/api/v1/tools').set(as(alice)).expect(200);
    expect(all.body.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['core.echo', 'core.json.get', 'core.tasks.create', `custom.${mine.body.name}`]));
    const json = await request(app).get('/api/v1/tools').query({ q: 'json path' }).set(as(alice)).expect(200);
    expect(json.body.tools.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['core.json.get', 'core.json.set']));
    expect(json.body.tools.every((t: { name: string }) => t.name.startsWith('core.json.'))).toBe(true);
    const byCategory = await request(app).get('/api/v1/tools').query({ category: 'finance', tag: ['money'] }).set(as(alice)).expect(200);
    expect(byCategory.body.tools.map((t: { name: string }) => t.name)).toEqual([`custom.${mine.body.name}`]);
    const bobView = await request(app).get('/api/v1/tools').query({ source: 'custom' }).set(as(bob)).expect(200);
    expect(bobView.body.tools.map((t: { name: string }) => t.name)).not.toContain(`custom.${mine.body.name}`);
    const builtins = await stack.tools.listTools('builtin');
    expect(builtins.length).toBeGreaterThanOrEqual(45);
    expect(builtins.every((t) => t.isLocked && t.name.startsWith('core.'))).toBe(true);
    const searched = await stack.tools.searchTools('', { description: 'DEEP-MERGES' });
    expect(searched.map((t) => t.name)).toEqual(['core.json.merge']);
  });

  test('requires_approval returns an approval-required result until admin approves; tool.executed carries outcome and duration', async () => {
    const created = await createCustom(alice, `approve_${newId(5)}`, { requiresApproval: true }).expect(201);
    const name = `custom.${created.body.name}`;
    stack.events.clear();
    const pending = await request(app).post(`/api/v1/tools/${name}/execute`).set(as(alice)).send({ args: { n: 1 } }).expect(202);
    expect(pending.body).toMatchObject({ status: 'approval_required', tool: name });
    await request(app).post(`/api/v1/tools/${name}/execute`).set(as(alice)).send({ args: { n: 1 }, approved: true }).expect(403);
    const approved = await request(app).post(`/api/v1/tools/${name}/execute`).set(as('admin')).send({ args: { n: 1 }, approved: true }).expect(200);
    expect(approved.body.output).toEqual({ value: 2 });
    await expect(stack.tools.execute(name, { n: 1 }, { requesterId: alice })).rejects.toMatchObject({ code: 'APPROVAL_REQUIRED' });
    const outcomes = stack.events.ofType('tool.executed').map((e) => e.data as { outcome: string; durationMs: number; tool: string });
    expect(outcomes.map((o) => o.outcome)).toEqual(['approval_required', 'success', 'approval_required']);
    expect(outcomes.every((o) => o.tool === name && typeof o.durationMs === 'number' && o.durationMs >= 0)).toBe(true);
    const metrics = stack.tools.metrics.snapshot();
    expect(metrics.custom.byOutcome.approval_required).toBeGreaterThanOrEqual(2);
    expect(metrics.custom.byOutcome.success).toBeGreaterThanOrEqual(1);
  });

  test('arguments are validated against the JSON schema with every problem listed (422)', async () => {
    const created = await createCustom(alice, `strict_${newId(5)}`, {
      parameters: { type: 'object', properties: { n: { type: 'number' }, s: { type: 'string', maxLength: 3 } }, required: ['n', 's'], additionalProperties: false },
    }).expect(201);
    const res = await request(app).post(`/api/v1/tools/custom.${created.body.name}/execute`).set(as(alice)).send({ args: { n: 'x', s: 'toolong', extra: 1 } }).expect(422);
    expect(res.body.error.code).toBe('UNPROCESSABLE');
    expect(res.body.error.details.issues.length).toBeGreaterThanOrEqual(3);
    // The message names the first problem: a plan step's error and the CLI show only the message.
    const [first] = res.body.error.details.issues as { path: string; message: string }[];
    expect(res.body.error.message).toBe(`invalid arguments for custom.${created.body.name}: ${first!.path} ${first!.message} (and ${res.body.error.details.issues.length - 1} more)`);
    const builtin = await request(app).post('/api/v1/tools/core.math/execute').set(as(alice)).send({ args: { op: 'pow', values: ['a'] } }).expect(422);
    expect(builtin.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['/op', '/values/0']);
    expect(builtin.body.error.message).toMatch(/^invalid arguments for core\.math: \/(op|values\/0) .+ \(and 1 more\)$/);
    await createCustom(alice, `badschema_${newId(5)}`, { parameters: { type: 'object', properties: { n: { type: 'nonsense' } } } }).expect(422);
    await request(app).post('/api/v1/tools/core.nope/execute').set(as(alice)).send({}).expect(404);
  });

  test('a tool that runs past its timeout fails with TOOL_TIMEOUT and is aborted', async () => {
    const quick = createToolRegistry({ prisma: stack.prisma, events: createCollectingPublisher(), defaultTimeoutMs: 50 });
    let aborted = false;
    await quick.registerBuiltinTool({
      definition: { name: 'core.wait', description: 'Waits', category: 'core', parameters: { type: 'object' }, tags: [] },
      args: z.object({}).passthrough(),
      execute: (_args, ctx) => new Promise((resolve) => ctx.signal?.addEventListener('abort', () => { aborted = true; resolve(null); })),
    });
    await expect(quick.executeTool('core.wait', {}, { requesterId: 'admin' })).rejects.toMatchObject({ code: 'TOOL_TIMEOUT' });
    expect(aborted).toBe(true);
    expect(quick.metrics.snapshot().builtin.byOutcome.error).toBe(1);
  });

  test('a change made through one instance invalidates another instance’s cache (LISTEN/NOTIFY, separate connections)', async () => {
    const otherPrisma = createPrisma(stackInfo().databaseUrl, 2);
    const other = createToolRegistry({ prisma: otherPrisma, events: createCollectingPublisher(), databaseUrl: stackInfo().databaseUrl });
    try {
      await other.ready();
      const created = await createCustom(alice, `cached_${newId(5)}`).expect(201);
      const name = `custom.${created.body.name}`;
      // warm the other instance's cache, then change through the first instance
      expect((await other.executeTool(name, { n: 1 }, { requesterId: alice })).status).toBe('completed');
      expect((await other.getTool(name))?.isEnabled).toBe(true);
      // the definition really is cached: a write that bypasses the registry (no NOTIFY) is not seen
      const row = await otherPrisma.toolRegistry.findUniqueOrThrow({ where: { name } });
      await otherPrisma.toolRegistry.update({ where: { name }, data: { definition: { ...(row.definition as object), description: 'sneaky' } } });
      expect((await other.getTool(name))?.definition.description).not.toBe('sneaky');
      await stack.tools.disableTool(name, alice);
      const seen = await eventually(async () => other.getTool(name), (tool) => tool?.isEnabled === false, 10_000);
      expect(seen?.definition.description).toBe('sneaky'); // reloaded from the database after the NOTIFY
      await expect(other.executeTool(name, { n: 1 }, { requesterId: alice })).rejects.toMatchObject({ code: 'TOOL_DISABLED' });
      // and the other way round: code changed through the other instance reaches the first
      await other.enableTool(name, 'admin');
      await other.updateCustomTool(created.body.id, alice, { code: 'return { value: "v2" }' });
      await eventually(
        async () => stack.tools.executeTool(name, { n: 1 }, { requesterId: alice }).then((r) => (r.status === 'completed' ? r.output : null), () => null),
        (out) => JSON.stringify(out) === JSON.stringify({ value: 'v2' }),
        10_000,
      );
      await other.unregisterTool(name, alice);
      await eventually(() => stack.tools.exists(name), (exists) => exists === false, 10_000);
    } finally {
      await other.close();
      await otherPrisma.$disconnect();
    }
  });
});
