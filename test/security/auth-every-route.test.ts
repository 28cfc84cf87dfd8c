import type { Express } from 'express';
import request from 'supertest';
import { apiDocument } from '../../api/openapi/api-document';
import { ErrorResponse } from '../../api/openapi/route-spec';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../../activities/triggers/webhook-signature';
import { createMetrics } from '../../platform/observability/metrics';
import { authed, createTestKey, testKeyService } from '../support/api-auth';
import { requestOnce, streamingOperations } from '../support/event-stream-client';
import { openTestStack, type TestStack } from '../support/test-stack';
import { stackApp } from '../support/tool-test-app';
import { buildTriggerApp } from '../support/trigger-app';
import { eventually } from '../support/wait';

type Operation = { security: object[]; 'x-ownpilot-auth': string; responses: Record<string, unknown> };
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * The operations anyone may call without an API key, and how they authenticate instead. Adding
 * an unauthenticated route means adding it here: a conscious choice, reviewed.
 */
const PUBLIC: Record<string, 'none' | 'metrics-token' | 'webhook-signature'> = {
  'GET /api/v1/openapi.json': 'none',
  'GET /docs': 'none',
  'GET /docs/swagger-initializer.js': 'none',
  'GET /health': 'none',
  'GET /metrics': 'metrics-token',
  'POST /api/v1/webhooks/{id}': 'webhook-signature',
};

const OPERATIONS = Object.entries(apiDocument().paths as unknown as Record<string, Record<Method, Operation>>).flatMap(([template, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ label: `${method.toUpperCase()} ${template}`, method: method as Method, template, op })),
);
const GUARDED = OPERATIONS.filter((o) => o.op['x-ownpilot-auth'] === 'bearer' || o.op['x-ownpilot-auth'] === 'admin');
const ADMIN_ONLY = OPERATIONS.filter((o) => o.op['x-ownpilot-auth'] === 'admin');
const METRICS_TOKEN = 'metrics-token-for-auth-test';
/** Operations answering with an event stream: called through `requestOnce`, which closes a stream once its headers are in. */
const STREAMING = streamingOperations(apiDocument() as unknown as Parameters<typeof streamingOperations>[0]);

/** A concrete URL for an operation (auth runs before the route, so any id will do). */
const urlOf = (template: string) => template.replace(/\{[^}]+\}/g, 'authprobe');

describe('authentication and authorization on every route (enumerated from the OpenAPI document)', () => {
  let stack: TestStack;
  let app: Express;
  const keys = { admin: '', alice: '', bob: '', plugin: '', revoked: '' };
  let webhook: { id: string; webhookSecret: string };

  const call = (method: Method, url: string, key?: string, header?: string) => {
    if (STREAMING.has(`${method} ${url}`)) return requestOnce(app, method, url, header !== undefined ? { authorization: header } : key !== undefined ? { authorization: `Bearer ${key}` } : {});
    let req = (request(app) as unknown as Record<Method, (u: string) => request.Test>)[method](url);
    if (header !== undefined) req = req.set('authorization', header);
    else if (key !== undefined) req = req.set('authorization', `Bearer ${key}`);
    return method === 'get' ? req : req.send({});
  };

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    const t = await buildTriggerApp(stack);
    app = stackApp(stack, { metrics: createMetrics('api'), metricsToken: METRICS_TOKEN, plans: t.plans, triggers: t.triggers, webhooks: t.webhooks });
    const service = testKeyService(stack.prisma);
    keys.admin = await createTestKey(service, 'admin');
    keys.alice = await createTestKey(service, 'user:authalice');
    keys.bob = await createTestKey(service, 'user:authbob');
    keys.plugin = await createTestKey(service, 'plugin:authplugin');
    const doomed = await authed(app, keys.admin).post('/api/v1/keys').send({ name: 'doomed', principal: 'user:authalice' }).expect(201);
    keys.revoked = doomed.body.key;
    await authed(app, keys.admin).delete(`/api/v1/keys/${doomed.body.id}`).expect(200);
    webhook = (await t.api.post('/api/v1/triggers').send({ name: 'auth', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body;
  });
  afterAll(() => stack.close());

  test('the only operations without an API key are the explicit public list', () => {
    const unguarded = Object.fromEntries(OPERATIONS.filter((o) => !GUARDED.includes(o)).map((o) => [o.label, o.op['x-ownpilot-auth']]));
    expect(unguarded).toEqual(PUBLIC);
    for (const o of GUARDED) expect([o.label, o.op.security]).toEqual([o.label, [{ apiKey: [] }]]);
    expect(GUARDED.length).toBeGreaterThan(60);
  });

  const refusals: [string, (k: typeof keys) => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['a wrong key', () => 'Bearer op_thisIsNotARealKeyAtAllxxxxxxxxxxxxxxxxxxxxx'],
    ['a revoked key', (k) => `Bearer ${k.revoked}`],
    ['a Basic header', (k) => `Basic ${Buffer.from(`admin:${k.admin}`).toString('base64')}`],
    ['an empty bearer', () => 'Bearer '],
    ['a key with a trailing byte', (k) => `Bearer ${k.admin}x`],
    ['two keys', (k) => `Bearer ${k.alice} ${k.admin}`],
  ];

  test.each(GUARDED.map((o) => [o.label, o] as const))('%s: missing, wrong, revoked and malformed keys are 401', async (_label, o) => {
    expect(o.op.responses['401']).toBeDefined();
    for (const [name, header] of refusals) {
      const value = header(keys);
      const res = await call(o.method, urlOf(o.template), undefined, value);
      expect({ name, status: res.status, code: res.body.error?.code, shape: ErrorResponse.safeParse(res.body).success }).toEqual({ name, status: 401, code: 'UNAUTHENTICATED', shape: true });
    }
    // every valid key gets past authentication (what it may then do is the route's business)
    for (const key of [keys.admin, keys.alice, keys.plugin]) expect((await call(o.method, urlOf(o.template), key)).status).not.toBe(401);
  });

  test.each(ADMIN_ONLY.map((o) => [o.label, o] as const))('%s: user and plugin keys are 403, the admin key is let through', async (_label, o) => {
    expect(o.op.responses['403']).toBeDefined();
    for (const key of [keys.alice, keys.plugin]) {
      const res = await call(o.method, urlOf(o.template), key);
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
    }
    expect([401, 403]).not.toContain((await call(o.method, urlOf(o.template), keys.admin)).status);
  });

  test('webhooks authenticate by signature: unsigned, badly signed and stale deliveries are 401', async () => {
    const now = String(Math.floor(Date.now() / 1000));
    const body = Buffer.from('{"a":1}');
    const post = (headers: Record<string, string>) => {
      let req = request(app).post(`/api/v1/webhooks/${webhook.id}`).set('content-type', 'application/json');
      for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
      return req.send(body.toString());
    };
    expect((await post({})).status).toBe(401);
    expect((await post({ [TIMESTAMP_HEADER]: now, [SIGNATURE_HEADER]: signWebhook('wrong secret', now, body) })).status).toBe(401);
    expect((await post({ [TIMESTAMP_HEADER]: '1000000000', [SIGNATURE_HEADER]: signWebhook(webhook.webhookSecret, '1000000000', body) })).status).toBe(401);
    // an API key is not a webhook signature
    expect((await post({ authorization: `Bearer ${keys.admin}` })).status).toBe(401);
    expect((await post({ [TIMESTAMP_HEADER]: now, [DELIVERY_HEADER]: 'auth-1', [SIGNATURE_HEADER]: signWebhook(webhook.webhookSecret, now, body) })).status).toBe(202);
  });

  test('/metrics needs the metrics token when one is configured; API keys are not it', async () => {
    expect((await request(app).get('/metrics')).status).toBe(401);
    expect((await request(app).get('/metrics').set('authorization', 'Bearer wrong')).status).toBe(401);
    expect((await request(app).get('/metrics').set('authorization', `Bearer ${keys.admin}`)).status).toBe(401);
    expect((await request(app).get('/metrics').set('authorization', `Bearer ${METRICS_TOKEN}`)).status).toBe(200);
  });

  describe('another principal’s key on what it does not own', () => {
    test('users: another user’s custom tool, resources and table are out of reach', async () => {
      const alice = authed(app, keys.alice);
      const bob = authed(app, keys.bob);
      const tool = (await alice.post('/api/v1/custom-tools').send({ name: `authtool${Date.now()}`, description: 'x', code: 'return 1', parameters: { type: 'object' } }).expect(201)).body;
      expect((await bob.get(`/api/v1/custom-tools/${tool.id}`)).status).toBe(403);
      expect((await bob.patch(`/api/v1/custom-tools/${tool.id}`).send({ code: 'return 2' })).status).toBe(403);
      expect((await bob.delete(`/api/v1/custom-tools/${tool.id}`)).status).toBe(403);
      expect((await bob.post(`/api/v1/tools/${encodeURIComponent(tool.name.startsWith('custom.') ? tool.name : `custom.${tool.name}`)}/execute`).send({ args: {} })).status).toBe(403);
      const note = (await alice.post('/api/v1/resources/notes').send({ title: 'alice only' }).expect(201)).body;
      // rows are scoped to their owner: to anyone else they do not exist
      expect((await bob.get(`/api/v1/resources/notes/${note.id}`)).status).toBe(404);
      expect((await bob.patch(`/api/v1/resources/notes/${note.id}`).send({ title: 'bob was here' })).status).toBe(404);
      expect((await bob.delete(`/api/v1/resources/notes/${note.id}`)).status).toBe(404);
      expect((await bob.get('/api/v1/resources/notes')).body.items.map((n: { id: string }) => n.id)).not.toContain(note.id);
      // nor through the event history: resource events carry the row, so they are their owner's
      const aliceSees = await eventually(async () => JSON.stringify((await alice.get('/api/v1/events?type=resource.created&limit=500')).body), (t) => t.includes('alice only'));
      expect(aliceSees).toContain('alice only');
      for (const url of ['/api/v1/events?limit=500', '/api/v1/events?type=resource.*&limit=500', '/api/v1/events?category=resource&limit=500', '/api/v1/events?type=*.created&limit=500']) {
        const res = await bob.get(url);
        expect({ url, status: res.status, leaked: JSON.stringify(res.body).includes('alice only') }).toEqual({ url, status: 200, leaked: false });
      }
      expect((await bob.get('/api/v1/events?category=resource&source=user:authalice')).status).toBe(403);
      const table = (await alice.post('/api/v1/acl/tables').send({ name: `authnotes${Date.now()}`, columns: [{ name: 'body', type: 'text' }] }).expect(201)).body.table;
      // a table bob may not read answers as a missing one
      expect((await bob.get(`/api/v1/acl/tables/${table}`)).status).toBe(404);
      expect((await bob.delete(`/api/v1/acl/tables/${table}`)).status).toBe(404);
      expect((await bob.post(`/api/v1/acl/tables/${table}/grants`).send({ grantee: 'user:authbob', privilege: 'read' })).status).toBe(404);
      expect((await bob.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${table}` })).status).toBe(403);
      // and the owner is not refused: the checks bite on the principal, not the route
      expect((await alice.get(`/api/v1/custom-tools/${tool.id}`)).status).toBe(200);
      expect((await alice.get(`/api/v1/resources/notes/${note.id}`)).status).toBe(200);
      expect((await alice.post('/api/v1/db/query').send({ sql: `SELECT * FROM ${table}` })).status).toBe(200);
    });

    test('plans: only the creator (and admin) reads, edits, runs or deletes a plan; runs are the creator’s, the starter’s and the approvers’', async () => {
      const alice = authed(app, keys.alice);
      const bob = authed(app, keys.bob);
      const plugin = authed(app, keys.plugin);
      const plan = (await alice.post('/api/v1/plans').send({
        name: 'alice plan',
        steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: { secret: 'alice data' } }, { id: 'gate', kind: 'approval', approvers: ['user:authbob'], dependsOn: ['a'] }],
      }).expect(201)).body;
      const attempts: [Method, string, object?][] = [
        ['get', `/api/v1/plans/${plan.id}`], ['patch', `/api/v1/plans/${plan.id}`, { name: 'bob was here' }], ['delete', `/api/v1/plans/${plan.id}`],
        ['get', `/api/v1/plans/${plan.id}/steps`], ['put', `/api/v1/plans/${plan.id}/steps`, [{ id: 'x', kind: 'tool', tool: 'core.echo', args: {} }]],
        ['post', `/api/v1/plans/${plan.id}/steps`, { id: 'x', kind: 'tool', tool: 'core.echo', args: {} }], ['delete', `/api/v1/plans/${plan.id}/steps/a`],
        ['post', `/api/v1/plans/${plan.id}/execute`, {}], ['get', `/api/v1/plans/${plan.id}/runs`], ['get', `/api/v1/plans/${plan.id}/history`],
      ];
      for (const who of [bob, plugin]) {
        for (const [method, url, body] of attempts) {
          const res = await (body === undefined ? who[method](url) : who[method](url).send(body));
          expect({ method, url, status: res.status, leaked: JSON.stringify(res.body).includes('alice data') }).toEqual({ method, url, status: 403, leaked: false });
        }
        expect((await who.get('/api/v1/plans?limit=200')).body.map((p: { id: string }) => p.id)).not.toContain(plan.id);
        expect((await who.get(`/api/v1/plans?createdBy=user:authalice`)).body).toEqual([]);
      }
      expect((await alice.get(`/api/v1/plans/${plan.id}`)).body.name).toBe('alice plan');
      expect((await authed(app, keys.admin).get(`/api/v1/plans/${plan.id}`)).status).toBe(200);

      const run = (await alice.post(`/api/v1/plans/${plan.id}/execute`).send({}).expect(202)).body;
      await eventually(async () => (await alice.get(`/api/v1/plans/runs/${run.runId}`)).body.steps?.gate?.status, (s) => s === 'waiting_approval');
      // bob is an approver: he may read the run he is asked to decide, and decide it, but not control it
      expect((await bob.get(`/api/v1/plans/runs/${run.runId}`)).status).toBe(200);
      for (const action of ['pause', 'cancel', 'checkpoint', 'rollback']) expect({ action, status: (await bob.post(`/api/v1/plans/runs/${run.runId}/${action}`).send({})).status }).toEqual({ action, status: 403 });
      // the plugin is nobody here
      expect((await plugin.get(`/api/v1/plans/runs/${run.runId}`)).status).toBe(403);
      expect((await plugin.post(`/api/v1/plans/runs/${run.runId}/cancel`)).status).toBe(403);
      // refused before anything about the run's steps is told: which exist, which are approvals, which wait
      for (const step of ['gate', 'a', 'nosuch']) {
        const res = await plugin.post(`/api/v1/plans/runs/${run.runId}/steps/${step}/approve`).send({});
        expect({ step, status: res.status, told: /waiting|does not exist|pending|approval step/.test(res.body.error.message) }).toEqual({ step, status: 403, told: false });
      }
      // the run executes the version that names bob, whatever the plan says now
      await alice.patch(`/api/v1/plans/${plan.id}`).send({ steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(200);
      await bob.post(`/api/v1/plans/runs/${run.runId}/steps/gate/approve`).send({ comment: 'ok' }).expect(200);
      await eventually(async () => (await alice.get(`/api/v1/plans/runs/${run.runId}`)).body.status, (s) => s === 'completed');
    });

    test('triggers: only the creator (and admin) reads, changes, fires, rotates or deletes a trigger, and a trigger starts only the creator’s plans', async () => {
      const alice = authed(app, keys.alice);
      const bob = authed(app, keys.bob);
      const plugin = authed(app, keys.plugin);
      const hook = (await alice.post('/api/v1/triggers').send({ name: 'alice hook', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body;
      const attempts: [Method, string, object?][] = [
        ['get', `/api/v1/triggers/${hook.id}`], ['patch', `/api/v1/triggers/${hook.id}`, { name: 'bob was here' }], ['delete', `/api/v1/triggers/${hook.id}`],
        ['post', `/api/v1/triggers/${hook.id}/enable`], ['post', `/api/v1/triggers/${hook.id}/disable`], ['post', `/api/v1/triggers/${hook.id}/execute`, {}],
        ['post', `/api/v1/triggers/${hook.id}/backfill`, { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }], ['post', `/api/v1/triggers/${hook.id}/rotate-secret`],
        ['get', `/api/v1/triggers/${hook.id}/history`],
      ];
      for (const who of [bob, plugin]) {
        for (const [method, url, body] of attempts) {
          const res = await (body === undefined ? who[method](url) : who[method](url).send(body));
          expect({ method, url, status: res.status, secret: 'webhookSecret' in res.body }).toEqual({ method, url, status: 403, secret: false });
        }
        expect((await who.get('/api/v1/triggers')).body.map((t: { id: string }) => t.id)).not.toContain(hook.id);
      }
      // the secret did not change: alice's signed delivery still gets in
      const now = String(Math.floor(Date.now() / 1000));
      const delivered = await request(app).post(`/api/v1/webhooks/${hook.id}`).set('content-type', 'application/json').set(TIMESTAMP_HEADER, now).set(DELIVERY_HEADER, 'alice-1')
        .set(SIGNATURE_HEADER, signWebhook(hook.webhookSecret, now, Buffer.from('{}'))).send('{}');
      expect(delivered.status).toBe(202);
      expect((await alice.get(`/api/v1/triggers/${hook.id}`)).status).toBe(200);
      // bob cannot aim a trigger at alice's plan, nor re-aim his own at it
      const plan = (await alice.post('/api/v1/plans').send({ name: 'alice target', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201)).body;
      expect((await bob.post('/api/v1/triggers').send({ name: 'hijack', type: 'webhook', config: {}, action: { kind: 'plan', planId: plan.id } })).status).toBe(403);
      const own = (await bob.post('/api/v1/triggers').send({ name: 'bob hook', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201)).body;
      expect((await bob.patch(`/api/v1/triggers/${own.id}`).send({ action: { kind: 'plan', planId: plan.id } })).status).toBe(403);
      expect((await alice.post('/api/v1/triggers').send({ name: 'alice runs her plan', type: 'webhook', config: {}, action: { kind: 'plan', planId: plan.id } })).status).toBe(201);
    });

    test('plugins: no plugin lifecycle, no user tables, no bus metrics, only their own event namespace', async () => {
      const plugin = authed(app, keys.plugin);
      expect((await plugin.post('/api/v1/plugins').send({ id: 'authx', name: 'x', version: '1.0.0' })).status).toBe(403);
      for (const [method, url] of [['delete', '/api/v1/plugins/authplugin'], ['post', '/api/v1/plugins/authplugin/enable'], ['post', '/api/v1/plugins/authplugin/disable'], ['put', '/api/v1/plugins/authplugin/config']] as const) {
        expect({ url, status: (await plugin[method](url).send({ config: {} })).status }).toEqual({ url, status: 403 });
      }
      expect((await plugin.post('/api/v1/acl/tables').send({ name: 'x', columns: [{ name: 'a', type: 'text' }] })).status).toBe(403);
      expect((await plugin.get('/api/v1/events/metrics')).status).toBe(403);
      expect((await plugin.get('/api/v1/events')).status).toBe(403);
      expect((await plugin.get('/api/v1/events?type=plugin.authplugin.*')).status).toBe(200);
      expect((await plugin.post('/api/v1/events').send({ type: 'resource.created', data: {} })).status).toBe(403);
      expect((await plugin.get('/api/v1/plugins/someone_else')).status).toBe(403);
    });
  });
});
