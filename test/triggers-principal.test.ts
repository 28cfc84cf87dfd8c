import { WebhookConfig } from '../activities/triggers/trigger-schemas';
import { newId } from '../platform/ids';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { testPluginManifest } from './support/plugin-fixtures';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

type HistoryRow = { id: string; status: string; error: string | null; workflowId: string; planWorkflowId: string | null };

describe('trigger firings act for their creator, through the trigger', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  const tag = newId(6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const alice = `user:alice${tag}`;
  const bob = `user:bob${tag}`;
  const as = async (principal: string) => authed(t.app, await createTestKey(testKeyService(stack.prisma), principal));

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  const history = async (id: string) => (await t.api.get(`/api/v1/triggers/${id}/history?limit=100`).expect(200)).body.items as HistoryRow[];
  /** Fires a (webhook) trigger by hand and waits for that one firing to end; answers its history row. */
  const fire = async (id: string, payload: unknown = {}) => {
    const before = (await history(id)).length;
    await t.api.post(`/api/v1/triggers/${id}/execute`).send({ payload }).expect(202);
    const rows = await eventually(() => history(id), (r) => r.length === before + 1 && r[0]!.status !== 'running');
    return rows[0]!;
  };
  const toolExecuted = (key: string) => eventually(() => stack.prisma.eventLog.findMany({ where: { eventType: 'tool.executed', data: { path: ['idempotencyKey'], equals: key } } }), (rows) => rows.length === 1);

  test('a tool action creates the resource for its creator: they list it, and the audit trail says "creator via trigger"', async () => {
    const user = await as(alice);
    const trigger = (await user.post('/api/v1/triggers').send({ name: 'note', type: 'webhook', action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'from trigger {{payload.n}}' } } }).expect(201)).body.id as string;
    const fired = await fire(trigger, { n: 1 });
    expect(fired.status).toBe('succeeded');

    const listed = (await user.get('/api/v1/resources/notes').expect(200)).body.items as { title: string; ownerId: string }[];
    expect(listed).toEqual([expect.objectContaining({ title: 'from trigger 1', ownerId: alice })]);
    expect((await (await as(bob)).get('/api/v1/resources/notes').expect(200)).body.items).toEqual([]);

    const [executed] = await toolExecuted(fired.workflowId);
    expect(executed!.data).toMatchObject({ tool: 'core.notes.create', requesterId: alice, via: `trigger:${trigger}`, outcome: 'success' });
    const [created] = await stack.prisma.eventLog.findMany({ where: { eventType: 'resource.created', source: alice } });
    expect(created!.cause).toEqual({ requesterId: alice, via: `trigger:${trigger}`, idempotencyKey: fired.workflowId });
  });

  test('a condition on the creator’s own list sees the creator’s data', async () => {
    const title = `buy milk ${tag}`;
    await stack.resources.create('tasks', bob, { title });
    const user = await as(bob);
    const trigger = (
      await user
        .post('/api/v1/triggers')
        .send({
          name: 'has tasks',
          type: 'condition',
          config: { tool: 'core.tasks.list', args: {}, expression: { path: 'result.items.0.title', op: 'eq', value: title }, intervalSeconds: 1 },
          action: { kind: 'tool', tool: 'core.echo', args: { first: '{{payload.result.items.0.title}}' } },
        })
        .expect(201)
    ).body.id as string;
    const [fired] = await eventually(() => history(trigger), (rows) => rows.some((r) => r.status === 'succeeded'));
    expect(await stack.client.workflow.getHandle(fired!.workflowId).result()).toMatchObject({ status: 'succeeded', output: { first: title } });
    await user.post(`/api/v1/triggers/${trigger}/disable`).expect(200);
  });

  test('a plan a trigger starts is the creator’s run: they read it, its steps act for them, and its start key is the firing’s', async () => {
    const carol = `user:carol${tag}`;
    const user = await as(carol);
    const planId = (await user.post('/api/v1/plans').send({ name: 'note plan', steps: [{ id: 'make', kind: 'tool', tool: 'core.notes.create', args: { title: 'from plan' } }] }).expect(201)).body.id as string;
    const trigger = (await user.post('/api/v1/triggers').send({ name: 'plan', type: 'webhook', action: { kind: 'plan', planId } }).expect(201)).body.id as string;
    const fired = await fire(trigger);
    expect(fired.status).toBe('succeeded');

    const run = await eventually(() => user.get(`/api/v1/plans/runs/${fired.planWorkflowId}`).expect(200).then((r) => r.body), (r) => r.status === 'completed');
    expect(run).toMatchObject({ startedBy: carol, startKey: `trigger:${fired.id}` });
    expect((await user.get('/api/v1/resources/notes').expect(200)).body.items).toEqual([expect.objectContaining({ title: 'from plan', ownerId: carol })]);
    await (await as(bob)).get(`/api/v1/plans/runs/${fired.planWorkflowId}`).expect(403);

    // The firing's start key is reserved: no caller may start (or find) a run with it.
    const refused = await user.post(`/api/v1/plans/${planId}/execute`).send({ startKey: `trigger:${fired.id}` }).expect(400);
    expect(JSON.stringify(refused.body.error)).toContain('reserved for trigger firings');
  });

  test('a plan run a trigger starts shows its via, and its steps, compensations and sub-plans call through it; a run started directly has none', async () => {
    const gina = `user:gina${tag}`;
    const user = await as(gina);
    const child = (await user.post('/api/v1/plans').send({ name: 'inner', steps: [{ id: 'inner', kind: 'tool', tool: 'core.notes.create', args: { title: `inner ${tag}` } }] }).expect(201)).body.id as string;
    const parent = (
      await user
        .post('/api/v1/plans')
        .send({
          name: 'outer',
          onFailure: 'rollback',
          steps: [
            { id: 'make', kind: 'tool', tool: 'core.notes.create', args: { title: `outer ${tag}` }, compensation: { tool: 'core.notes.delete', args: { id: '{{ steps.make.output.id }}' } } },
            { id: 'sub', kind: 'sub_plan', planId: child, dependsOn: ['make'] },
            // Fails once the others are done, so the run rolls back and make's compensation runs.
            { id: 'boom', kind: 'tool', tool: 'core.math', args: { op: 'div', values: [1, 0] }, retry: { maximumAttempts: 1 }, dependsOn: ['sub'] },
          ],
        })
        .expect(201)
    ).body.id as string;
    const trigger = (await user.post('/api/v1/triggers').send({ name: 'outer plan', type: 'webhook', action: { kind: 'plan', planId: parent } }).expect(201)).body.id as string;
    const via = `trigger:${trigger}`;
    const fired = await fire(trigger);
    expect(fired.status).toBe('succeeded');

    const runId = fired.planWorkflowId!;
    const run = await eventually(() => user.get(`/api/v1/plans/runs/${runId}`).expect(200).then((r) => r.body), (r) => r.status === 'rolled_back');
    expect(run).toMatchObject({ startedBy: gina, via, startKey: `trigger:${fired.id}` });
    expect((await user.get(`/api/v1/plans/${parent}/runs`).expect(200)).body).toEqual([expect.objectContaining({ id: runId, via })]);
    const childRunId = (run.steps.sub.output as { runId: string }).runId;
    expect((await user.get(`/api/v1/plans/runs/${childRunId}`).expect(200)).body).toMatchObject({ startedBy: gina, via, parentRunId: runId });

    // Each call is the creator's, through the trigger: the step's, the sub-plan step's and the compensation's.
    for (const key of [`${runId}/make/0`, `${childRunId}/inner/0`, `${runId}/make/0/compensate`]) {
      const [executed] = await toolExecuted(key);
      expect(executed!.data).toMatchObject({ requesterId: gina, via, outcome: 'success' });
    }
    const causes = async (eventType: string) => (await stack.prisma.eventLog.findMany({ where: { eventType, source: gina }, orderBy: { timestamp: 'asc' } })).map((e) => e.cause);
    expect(await causes('resource.created')).toEqual(
      expect.arrayContaining([
        { requesterId: gina, via, idempotencyKey: `${runId}/make/0` },
        { requesterId: gina, via, idempotencyKey: `${childRunId}/inner/0` },
      ]),
    );
    expect(await causes('resource.deleted')).toEqual([{ requesterId: gina, via, idempotencyKey: `${runId}/make/0/compensate` }]);

    // Started directly, the same kind of run names no trigger anywhere.
    const direct = (await user.post(`/api/v1/plans/${child}/execute`).send({}).expect(202)).body.runId as string;
    expect(await eventually(() => user.get(`/api/v1/plans/runs/${direct}`).expect(200).then((r) => r.body), (r) => r.status === 'completed')).toMatchObject({ startedBy: gina, via: null });
    const [executed] = await toolExecuted(`${direct}/inner/0`);
    expect(executed!.data).not.toHaveProperty('via');
    expect((await stack.prisma.eventLog.findMany({ where: { eventType: 'resource.created', source: gina, cause: { path: ['idempotencyKey'], equals: `${direct}/inner/0` } } })).map((e) => e.cause)).toEqual([
      { requesterId: gina, idempotencyKey: `${direct}/inner/0` },
    ]);
  });

  test('permissions are checked at firing time: a plugin’s trigger acts as the plugin while it is enabled, and fails once it is not', async () => {
    const pluginId = `own${tag}`;
    await stack.prisma.plugin.create({ data: { id: pluginId, manifest: testPluginManifest(pluginId) as object, status: 'enabled', installedAt: new Date(), updatedAt: new Date() } });
    const plugin = await as(`plugin:${pluginId}`);
    const trigger = (await plugin.post('/api/v1/triggers').send({ name: 'plugin note', type: 'webhook', action: { kind: 'tool', tool: 'core.notes.create', args: { title: 'by plugin' } } }).expect(201)).body.id as string;
    expect((await fire(trigger)).status).toBe('succeeded');
    expect(await stack.prisma.note.count({ where: { ownerId: `plugin:${pluginId}`, title: 'by plugin' } })).toBe(1);

    await stack.prisma.plugin.update({ where: { id: pluginId }, data: { status: 'disabled' } });
    const refused = await fire(trigger);
    expect(refused).toMatchObject({ status: 'failed', error: `trigger '${trigger}' acts for plugin:${pluginId}, which is not enabled` });
    expect(await stack.prisma.note.count({ where: { title: 'by plugin' } })).toBe(1);
  });

  test('permissions are checked at firing time: a creator no longer allowed to run the tool gets a failed firing', async () => {
    const dave = `dave${tag}`;
    const name = `mine_${tag}`;
    const toolId = await stack.tools.registerCustomTool(dave, { name, description: 'answers', requiresApproval: false, parameters: { type: 'object' }, code: 'return { by: "dave" };' });
    const user = await as(`user:${dave}`);
    const trigger = (await user.post('/api/v1/triggers').send({ name: 'custom', type: 'webhook', action: { kind: 'tool', tool: `custom.${name}`, args: {} } }).expect(201)).body.id as string;
    const ok = await fire(trigger);
    expect(ok.status).toBe('succeeded');
    expect(await stack.client.workflow.getHandle(ok.workflowId).result()).toMatchObject({ output: { by: 'dave' } });

    // The name now belongs to someone else's tool: dave may not run it, and neither may his trigger.
    await stack.tools.deleteCustomTool(toolId, `user:${dave}`);
    await stack.tools.registerCustomTool(`eve${tag}`, { name, description: 'answers', requiresApproval: false, parameters: { type: 'object' }, code: 'return { by: "eve" };' });
    const refused = await fire(trigger);
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain(`user:${dave} may not run tool 'custom.${name}'`);
  });

  test('a user whose keys are all revoked has been let go: their triggers fail until they have a key again', async () => {
    const frank = `user:frank${tag}`;
    const keys = testKeyService(stack.prisma);
    const key = await keys.createApiKey({ name: 'frank', principal: frank });
    const trigger = (await authed(t.app, key.key).post('/api/v1/triggers').send({ name: 'echo', type: 'webhook', action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body.id as string;
    expect((await fire(trigger)).status).toBe('succeeded');

    await keys.revokeApiKey(key.id);
    const refused = await fire(trigger);
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain(`acts for ${frank}, who has no API key that is not revoked`);

    await createTestKey(keys, frank);
    expect((await fire(trigger)).status).toBe('succeeded');
  });

  test('a trigger stored without a creator (legacy row) acts as itself: nobody’s data, no more than before', async () => {
    const id = newId();
    // A stored config as the API writes it (other suites sharing the database list every trigger).
    await stack.prisma.trigger.create({ data: { id, name: 'legacy', type: 'webhook', config: WebhookConfig.parse({}), action: { kind: 'tool', tool: 'core.notes.create', args: { title: `legacy ${tag}` } }, isEnabled: true, createdBy: null } });
    const fired = await fire(id);
    expect(fired.status).toBe('succeeded');
    expect(await stack.prisma.note.findMany({ where: { title: `legacy ${tag}` }, select: { ownerId: true } })).toEqual([{ ownerId: `trigger:${id}` }]);
    const [executed] = await toolExecuted(fired.workflowId);
    expect(executed!.data).toMatchObject({ requesterId: `trigger:${id}`, via: `trigger:${id}` });
    await t.api.delete(`/api/v1/triggers/${id}`).expect(204);
  });
});
