import request from 'supertest';
import type { createApp } from '../api/app';
import { apiDocument } from '../api/openapi/api-document';
import { createMetrics } from '../platform/observability/metrics';
import { createTestKey, testKeyService } from './support/api-auth';
import { listExpressRoutes } from './support/express-routes';
import { createResponseChecker } from './support/openapi-check';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { buildTriggerApp } from './support/trigger-app';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../activities/triggers/webhook-signature';
import { eventually } from './support/wait';

describe('OpenAPI 3.1 document at /api/v1/openapi.json', () => {
  let stack: TestStack;
  let app: ReturnType<typeof createApp>;
  let adminKey: string;
  let userKey: string;

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    const t = await buildTriggerApp(stack);
    app = stackApp(stack, { metrics: createMetrics('api'), plans: t.plans, triggers: t.triggers, webhooks: t.webhooks });
    adminKey = await createTestKey(testKeyService(stack.prisma), 'admin');
    userKey = await createTestKey(testKeyService(stack.prisma), 'user:openapi');
  });
  afterAll(() => stack.close());

  test('documents exactly the routes the app serves (fails when a route is missing)', async () => {
    const served = listExpressRoutes(app);
    expect(served.length).toBeGreaterThan(15);
    const document = (await request(app).get('/api/v1/openapi.json').expect(200)).body as ReturnType<typeof apiDocument>;
    const documented = Object.entries(document.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`))
      .sort();
    expect(served.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((r) => !served.includes(r))).toEqual([]);
  });

  test('is OpenAPI 3.1 with bearer auth, params from the zod schemas and the error shape on every operation', async () => {
    const document = (await request(app).get('/api/v1/openapi.json').expect(200)).body;
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const execute = document.paths['/api/v1/plans/{id}/execute'].post;
    expect(execute.security).toEqual([{ apiKey: [] }]);
    expect(execute.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
    expect(execute.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    const create = document.paths['/api/v1/plans'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'steps']));
    expect(document.paths['/api/v1/acl/audit'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['requesterId', 'outcome', 'limit']);
    expect(document.paths['/health'].get.security).toEqual([]);
    for (const [path, ops] of Object.entries(document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) expect([path, method, Object.keys(op.responses)]).toEqual([path, method, expect.arrayContaining(['500'])]);
    }
  });

  test('real responses match their documented schemas (one or more routes per router, errors included)', async () => {
    const checker = createResponseChecker(apiDocument());
    const call = async (method: 'get' | 'post' | 'patch' | 'delete', path: string, template: string, key: string | undefined, body?: object) => {
      let req = request(app)[method](path);
      if (key) req = req.set('authorization', `Bearer ${key}`);
      const res = body === undefined ? await req : await req.send(body);
      expect({ path, status: res.status, errors: checker.check(method, template, res.status, res.body) }).toEqual({ path, status: res.status, errors: null });
      return res;
    };
    await call('get', '/health', '/health', undefined);
    const created = await call('post', '/api/v1/keys', '/api/v1/keys', adminKey, { name: 'doc', principal: 'user:doc' });
    expect(created.status).toBe(201);
    await call('get', '/api/v1/keys', '/api/v1/keys', adminKey);
    expect((await call('get', '/api/v1/keys', '/api/v1/keys', userKey)).status).toBe(403);
    expect((await call('delete', `/api/v1/keys/${created.body.id}`, '/api/v1/keys/{id}', adminKey)).status).toBe(200);
    await call('get', '/api/v1/acl/tables', '/api/v1/acl/tables', userKey);
    expect((await call('get', '/api/v1/acl/tables/plans', '/api/v1/acl/tables/{name}', adminKey)).status).toBe(200);
    expect((await call('post', '/api/v1/db/query', '/api/v1/db/query', adminKey, { sql: 'SELECT 1 AS one' })).status).toBe(200);
    expect((await call('post', '/api/v1/db/query', '/api/v1/db/query', userKey, { sql: 'SELECT * FROM api_keys' })).status).toBe(403);
    expect((await call('post', '/api/v1/plans', '/api/v1/plans', userKey, { name: '' })).status).toBe(400);
    expect((await call('post', '/api/v1/plans', '/api/v1/plans', undefined, { name: 'x' })).status).toBe(401);
    const plan = await call('post', '/api/v1/plans', '/api/v1/plans', userKey, { name: 'doc', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] });
    const started = await call('post', `/api/v1/plans/${plan.body.id}/execute`, '/api/v1/plans/{id}/execute', userKey, {});
    await eventually(async () => (await request(app).get(`/api/v1/plans/runs/${started.body.runId}`).set('authorization', `Bearer ${userKey}`)).body.status, (s) => s === 'completed');
    await call('get', `/api/v1/plans/runs/${started.body.runId}`, '/api/v1/plans/runs/{runId}', userKey);
    await call('get', `/api/v1/plans/${plan.body.id}`, '/api/v1/plans/{id}', userKey);
    await call('get', '/api/v1/plans?limit=5', '/api/v1/plans', userKey);
    await call('get', `/api/v1/plans/${plan.body.id}/runs`, '/api/v1/plans/{id}/runs', userKey);
    await call('get', `/api/v1/plans/${plan.body.id}/history`, '/api/v1/plans/{id}/history', userKey);
    await call('get', `/api/v1/plans/${plan.body.id}/steps`, '/api/v1/plans/{id}/steps', userKey);
    expect((await call('post', `/api/v1/plans/runs/${started.body.runId}/pause`, '/api/v1/plans/runs/{runId}/pause', userKey)).status).toBe(409);
    expect((await call('get', '/api/v1/plans/missing', '/api/v1/plans/{id}', userKey)).status).toBe(404);
    // Run control answers with the workflow's state (pause/resume), a checkpoint, a step (decide).
    const gated = await call('post', '/api/v1/plans', '/api/v1/plans', userKey, { name: 'gated', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }, { id: 'gate', kind: 'approval', approvers: ['user:openapi'], dependsOn: ['a'] }] });
    const gatedRun = (await call('post', `/api/v1/plans/${gated.body.id}/execute`, '/api/v1/plans/{id}/execute', userKey, {})).body.runId as string;
    await eventually(async () => (await request(app).get(`/api/v1/plans/runs/${gatedRun}`).set('authorization', `Bearer ${userKey}`)).body.steps?.gate?.status, (s) => s === 'waiting_approval');
    await call('get', `/api/v1/plans/runs/${gatedRun}`, '/api/v1/plans/runs/{runId}', userKey);
    expect((await call('post', `/api/v1/plans/runs/${gatedRun}/checkpoint`, '/api/v1/plans/runs/{runId}/checkpoint', userKey, { name: 'cp' })).status).toBe(201);
    expect((await call('post', `/api/v1/plans/runs/${gatedRun}/pause`, '/api/v1/plans/runs/{runId}/pause', userKey)).body.status).toBe('paused');
    expect((await call('post', `/api/v1/plans/runs/${gatedRun}/resume`, '/api/v1/plans/runs/{runId}/resume', userKey)).body.status).toBe('running');
    expect((await call('post', `/api/v1/plans/runs/${gatedRun}/steps/gate/approve`, '/api/v1/plans/runs/{runId}/steps/{stepId}/approve', userKey, {})).body.status).toBe('completed');
    await eventually(async () => (await request(app).get(`/api/v1/plans/runs/${gatedRun}`).set('authorization', `Bearer ${userKey}`)).body.status, (s) => s === 'completed');
    await call('get', `/api/v1/plans/${gated.body.id}/history`, '/api/v1/plans/{id}/history', userKey);
    await call('get', '/api/v1/openapi.json', '/api/v1/openapi.json', undefined);
    await call('get', '/api/v1/tools?q=echo', '/api/v1/tools', userKey);
    await call('get', '/api/v1/tools/core.echo', '/api/v1/tools/{name}', userKey);
    expect((await call('post', '/api/v1/tools/core.echo/execute', '/api/v1/tools/{name}/execute', userKey, { args: { hi: 1 } })).status).toBe(200);
    await call('get', '/api/v1/custom-tools', '/api/v1/custom-tools', userKey);
    expect((await call('post', '/api/v1/events', '/api/v1/events', userKey, { type: 'agent.started', data: { agentId: 'doc' } })).status).toBe(201);
    await call('get', '/api/v1/events?category=agent&limit=5', '/api/v1/events', userKey);
    await call('get', '/api/v1/events/metrics', '/api/v1/events/metrics', adminKey);
    await call('get', '/api/v1/events/subscriptions', '/api/v1/events/subscriptions', adminKey);
    // A plugin row as an install stores it: the manifest as submitted (defaults not filled in).
    const pluginId = `docplugin${Date.now()}`;
    await stack.prisma.plugin.create({ data: { id: pluginId, manifest: { id: pluginId, name: 'Doc', version: '1.0.0', tools: [{ name: 'x', description: 'y' }] }, status: 'installed', installedAt: new Date(), updatedAt: new Date() } });
    await call('get', '/api/v1/plugins', '/api/v1/plugins', adminKey);
    await call('get', `/api/v1/plugins/${pluginId}`, '/api/v1/plugins/{id}', adminKey);
    await stack.prisma.plugin.delete({ where: { id: pluginId } });
    const note = await call('post', '/api/v1/resources/notes', '/api/v1/resources/{resource}', userKey, { title: 'doc' });
    expect(note.status).toBe(201);
    await call('get', '/api/v1/resources/notes', '/api/v1/resources/{resource}', userKey);
    await call('get', `/api/v1/resources/notes/${note.body.id}`, '/api/v1/resources/{resource}/{id}', userKey);
    const task = await call('post', '/api/v1/resources/tasks', '/api/v1/resources/{resource}', userKey, { title: 'doc', dueAt: '2030-01-02T03:04:05Z', tags: ['a'] });
    await call('patch', `/api/v1/resources/tasks/${task.body.id}`, '/api/v1/resources/{resource}/{id}', userKey, { status: 'done' });
    expect((await call('delete', `/api/v1/resources/tasks/${task.body.id}`, '/api/v1/resources/{resource}/{id}', userKey)).body).toEqual({ id: task.body.id, deleted: true });
    await call('get', '/api/v1/acl/audit?limit=5', '/api/v1/acl/audit', adminKey);
    const custom = await call('post', '/api/v1/custom-tools', '/api/v1/custom-tools', userKey, { name: 'doc_tool', description: 'doc', code: 'return args;', parameters: { type: 'object' } });
    expect(custom.status).toBe(201);
    const otherKey = await createTestKey(testKeyService(stack.prisma), 'user:openapi-other');
    expect((await call('post', '/api/v1/plans', '/api/v1/plans', otherKey, { name: 'not mine', steps: [{ id: 'a', kind: 'tool', tool: 'custom.doc_tool', args: {} }] })).status).toBe(403);
    await call('get', `/api/v1/custom-tools/${custom.body.id}`, '/api/v1/custom-tools/{id}', userKey);
    const hook = await call('post', '/api/v1/triggers', '/api/v1/triggers', adminKey, { name: 'doc', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } });
    expect(hook.status).toBe(201);
    await call('get', '/api/v1/triggers', '/api/v1/triggers', adminKey);
    await call('get', `/api/v1/triggers/${hook.body.id}`, '/api/v1/triggers/{id}', adminKey);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const delivered = await request(app).post(`/api/v1/webhooks/${hook.body.id}`).set('content-type', 'application/json')
      .set(TIMESTAMP_HEADER, timestamp).set(DELIVERY_HEADER, 'doc-1').set(SIGNATURE_HEADER, signWebhook(hook.body.webhookSecret, timestamp, Buffer.from('{"a":1}'))).send('{"a":1}');
    expect({ status: delivered.status, errors: checker.check('post', '/api/v1/webhooks/{id}', delivered.status, delivered.body) }).toEqual({ status: 202, errors: null });
    const unsigned = await request(app).post(`/api/v1/webhooks/${hook.body.id}`).send('{}');
    expect({ status: unsigned.status, errors: checker.check('post', '/api/v1/webhooks/{id}', unsigned.status, unsigned.body) }).toEqual({ status: 401, errors: null });
    await call('get', `/api/v1/triggers/${hook.body.id}/history`, '/api/v1/triggers/{id}/history', adminKey);
    // Every trigger route, with a schedule trigger too (schedule state, fire through the schedule, backfill).
    const fired = await call('post', `/api/v1/triggers/${hook.body.id}/execute`, '/api/v1/triggers/{id}/execute', adminKey, { payload: { a: 2 } });
    expect(fired.body.via).toBe('workflow');
    await eventually(async () => (await request(app).get(`/api/v1/triggers/${hook.body.id}/history`).set('authorization', `Bearer ${adminKey}`)).body.items, (items: { status: string }[]) => items.length === 2 && items.every((i) => i.status === 'succeeded'));
    expect((await call('get', `/api/v1/triggers/${hook.body.id}/history?limit=1`, '/api/v1/triggers/{id}/history', adminKey)).body.nextCursor).not.toBeNull();
    await call('post', `/api/v1/triggers/${hook.body.id}/rotate-secret`, '/api/v1/triggers/{id}/rotate-secret', adminKey);
    const cron = await call('post', '/api/v1/triggers', '/api/v1/triggers', adminKey, { name: 'doc cron', type: 'schedule', config: { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, action: { kind: 'plan', planId: plan.body.id } });
    expect(cron.status).toBe(201);
    expect((await call('get', `/api/v1/triggers/${cron.body.id}`, '/api/v1/triggers/{id}', adminKey)).body.schedule.paused).toBe(false);
    await call('patch', `/api/v1/triggers/${cron.body.id}`, '/api/v1/triggers/{id}', adminKey, { name: 'doc cron 2' });
    await call('post', `/api/v1/triggers/${cron.body.id}/disable`, '/api/v1/triggers/{id}/disable', adminKey);
    await call('post', `/api/v1/triggers/${cron.body.id}/enable`, '/api/v1/triggers/{id}/enable', adminKey);
    expect((await call('post', `/api/v1/triggers/${cron.body.id}/execute`, '/api/v1/triggers/{id}/execute', adminKey, {})).body.via).toBe('schedule');
    const end = new Date();
    expect((await call('post', `/api/v1/triggers/${cron.body.id}/backfill`, '/api/v1/triggers/{id}/backfill', adminKey, { start: new Date(end.getTime() - 3_600_000), end })).status).toBe(202);
    await request(app).post(`/api/v1/triggers/${cron.body.id}/disable`).set('authorization', `Bearer ${adminKey}`).expect(200);
    expect((await call('post', `/api/v1/triggers/${cron.body.id}/backfill`, '/api/v1/triggers/{id}/backfill', adminKey, { start: new Date(end.getTime() - 3_600_000), end })).status).toBe(409);
    await call('post', '/api/v1/triggers/reconcile', '/api/v1/triggers/reconcile', adminKey);
    await call('get', '/api/v1/triggers?type=schedule', '/api/v1/triggers', adminKey);
    await request(app).delete(`/api/v1/triggers/${cron.body.id}`).set('authorization', `Bearer ${adminKey}`).expect(204);
    expect(checker.checked().length).toBeGreaterThanOrEqual(25);
    // the checker bites: a body missing documented fields, or carrying undocumented ones, is reported
    expect(checker.check('post', '/api/v1/triggers/reconcile', 200, { recreated: [], realigned: [], repaired: [], removed: [], failed: [], extra: 1 })).not.toBeNull();
    expect(checker.check('get', '/api/v1/tools', 200, { tools: [{ name: 'x' }] })).not.toBeNull();
  });

  test('a documented path asked with another method answers 405 with Allow; an unknown path 404', async () => {
    const auth = { authorization: `Bearer ${adminKey}` };
    const put = await request(app).put('/api/v1/plans').set(auth).expect(405);
    expect(put.headers.allow).toBe('GET, POST');
    expect(put.body).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'PUT is not served on /api/v1/plans; use GET or POST', details: { allowed: ['GET', 'POST'] } } });
    expect((await request(app).get('/api/v1/plans/runs/plan-x-1/pause').set(auth).expect(405)).headers.allow).toBe('POST');
    expect((await request(app).delete('/api/v1/plans/').set(auth).expect(405)).headers.allow).toBe('GET, POST');
    const unknown = await request(app).get('/api/v1/plans/a/b/c/d').set(auth).expect(404);
    expect(unknown.body.error).toEqual({ code: 'NOT_FOUND', message: 'no route for GET /api/v1/plans/a/b/c/d', details: null });
    // Authentication still comes first: no key, no hint of which methods exist.
    expect((await request(app).put('/api/v1/plans').expect(401)).headers.allow).toBeUndefined();
  });
});
