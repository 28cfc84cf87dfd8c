import type { Express } from 'express';
import request from 'supertest';
import { newId } from '../platform/ids';
import { pluginFootprint, testPluginManifest } from './support/plugin-fixtures';
import { buildTriggerApp } from './support/trigger-app';
import { openTestStack, type TestStack } from './support/test-stack';
import { PRINCIPAL_HEADER, toolTestApp } from './support/tool-test-app';

describe('plugin uninstall while saved triggers or plans use its tools', () => {
  let stack: TestStack;
  let app: Express;
  let t: Awaited<ReturnType<typeof buildTriggerApp>>;
  const admin = (method: 'post' | 'delete' | 'get', url: string) => request(app)[method](url).set(PRINCIPAL_HEADER, 'admin');

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    app = toolTestApp(stack);
    t = await buildTriggerApp(stack);
  });
  afterAll(() => stack.close());

  const install = async (id: string) => {
    const started = await admin('post', '/api/v1/plugins').send(testPluginManifest(id)).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
  };

  test('is refused (409 naming them) until they are gone; the plugin stays as it was', async () => {
    const id = `us_${newId(6)}`;
    await install(id);
    const trigger = (await t.api.post('/api/v1/triggers').send({ name: 'doubles', type: 'event', config: { pattern: `agent.${id}` }, action: { kind: 'tool', tool: `plugin.${id}.double`, args: { n: 2 } } }).expect(201)).body;
    const plan = (await admin('post', '/api/v1/plans').send({ name: 'doubles', steps: [{ id: 'a', kind: 'tool', tool: `plugin.${id}.double`, args: { n: 1 } }] }).expect(201)).body;
    const before = await pluginFootprint(stack.prisma, id);

    const refused = await admin('delete', `/api/v1/plugins/${id}`).expect(409);
    expect(refused.body.error).toMatchObject({
      code: 'CONFLICT',
      details: { triggers: [{ id: trigger.id, name: 'doubles' }], plans: [{ id: plan.id, name: 'doubles' }] },
    });
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toMatchObject({ status: 'enabled' });
    expect(await pluginFootprint(stack.prisma, id)).toEqual(before);

    await t.api.delete(`/api/v1/triggers/${trigger.id}`).expect(204);
    expect((await admin('delete', `/api/v1/plugins/${id}`).expect(409)).body.error.details).toEqual({ triggers: [], plans: [{ id: plan.id, name: 'doubles' }] });
    await admin('delete', `/api/v1/plans/${plan.id}`).expect(204);
    const started = await admin('delete', `/api/v1/plugins/${id}`).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toBeNull();
  });

  test('force=true uninstalls anyway; a plugin whose id is a prefix of another’s is not confused with it', async () => {
    const id = `uf_${newId(6)}`;
    await install(id);
    await install(`${id}x`);
    await admin('post', '/api/v1/plans').send({ name: 'uses the other plugin', steps: [{ id: 'a', kind: 'tool', tool: `plugin.${id}x.double`, args: { n: 1 } }] }).expect(201);
    const plan = (await admin('post', '/api/v1/plans').send({ name: 'uses this one', steps: [{ id: 'a', kind: 'tool', tool: `plugin.${id}.double`, args: { n: 1 } }] }).expect(201)).body;
    expect((await admin('delete', `/api/v1/plugins/${id}`).expect(409)).body.error.details).toEqual({ triggers: [], plans: [{ id: plan.id, name: 'uses this one' }] });
    await admin('delete', `/api/v1/plugins/${id}`).query({ force: 'nope' }).expect(400);
    const started = await admin('delete', `/api/v1/plugins/${id}`).query({ force: 'true' }).expect(202);
    await stack.client.workflow.getHandle(started.body.workflowId).result();
    expect(await stack.prisma.plugin.findUnique({ where: { id } })).toBeNull();
  });
});
