import fc from 'fast-check';
import request from 'supertest';
import type { Express } from 'express';
import { ErrorResponse } from '../../api/openapi/route-spec';
import { apiDocument } from '../../api/openapi/api-document';
import { createMetrics } from '../../platform/observability/metrics';
import { authed, createTestKey, testKeyService } from '../support/api-auth';
import { operationsOf, requestsFor, type FuzzOperation, type FuzzRequest } from '../support/openapi-fuzz';
import { createResponseChecker } from '../support/openapi-check';
import { requestOnce, streamingOperations } from '../support/event-stream-client';
import { openTestStack, type TestStack } from '../support/test-stack';
import { stackApp } from '../support/tool-test-app';
import { buildTriggerApp } from '../support/trigger-app';

// Property-based fuzzing of every operation in the served OpenAPI document. Fixed seed, printed;
// FUZZ_RUNS raises the runs per operation by hand (e.g. FUZZ_RUNS=2000), FUZZ_SEED replays a run.
const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

const OPERATIONS = operationsOf(apiDocument() as unknown as Parameters<typeof operationsOf>[0]);
/** Operations answering with an event stream: sent by `requestOnce`, which closes a stream once its headers are in. */
const STREAMING = streamingOperations(apiDocument() as unknown as Parameters<typeof streamingOperations>[0]);
const COMPONENTS = { schemas: apiDocument().components.schemas } as Record<string, unknown>;

/** Text that must never appear in a response: stack frames, source paths, internal module names. */
const LEAKS = [/\n\s+at .+\(?.*:\d+:\d+\)?/, new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), /node_modules/, /\.ts:\d+/, /PrismaClient|prisma\.\w+\.\w+\(\)/, /\/work\//];

/** Known-valid bodies (from the README and the route tests): the fuzzer also sends them and their mutants. */
const EXAMPLES: Record<string, unknown> = {
  'POST /api/v1/keys': { name: 'fuzz key', principal: 'user:fuzzed' },
  'POST /api/v1/acl/tables': { name: 'fuzz_t', columns: [{ name: 'id', type: 'serial', primaryKey: true }, { name: 'title', type: 'text', nullable: false, default: { literal: 'x' } }], indexes: [['title']] },
  'POST /api/v1/acl/tables/{name}/grants': { grantee: 'user:fuzzed', privilege: 'read' },
  'POST /api/v1/db/query': { sql: 'SELECT id, name FROM plans WHERE name = $1', params: ['fuzz'] },
  'POST /api/v1/plans': {
    name: 'fuzz', steps: [
      { id: 'a', kind: 'tool', tool: 'core.echo', args: { x: '{{input.x}}' }, retry: { maximumAttempts: 2 } },
      { id: 'b', kind: 'tool', tool: 'core.math', args: { op: 'add', values: [1, 2] }, dependsOn: ['a'], compensation: { tool: 'core.echo', args: {} } },
      { id: 'gate', kind: 'approval', approvers: ['admin'], dependsOn: ['b'] },
    ],
  },
  'POST /api/v1/plans/{id}/steps': { id: 'z', kind: 'tool', tool: 'core.echo', args: {} },
  'PUT /api/v1/plans/{id}/steps': [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }],
  'PATCH /api/v1/plans/{id}': { name: 'renamed', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] },
  'POST /api/v1/plans/{id}/execute': { input: { x: 1 }, startKey: 'fuzz-start' },
  'POST /api/v1/events': { type: 'agent.fuzz', data: { agentId: 'fuzz', n: 1 } },
  'POST /api/v1/tools/{name}/execute': { args: { op: 'add', values: [1, 2] } },
  'POST /api/v1/custom-tools': { name: 'fuzz_tool', description: 'fuzz', code: 'return args', parameters: { type: 'object' }, allowedTools: ['core.echo'] },
  'PATCH /api/v1/custom-tools/{id}': { code: 'return 1', description: 'changed' },
  'POST /api/v1/resources/{resource}': { title: 'fuzz note', body: 'text', tags: ['a'] },
  'PATCH /api/v1/resources/{resource}/{id}': { title: 'changed' },
  'POST /api/v1/triggers': { name: 'fuzz', type: 'schedule', config: { cron: '0 9 * * *', timezone: 'Europe/Paris' }, action: { kind: 'tool', tool: 'core.echo', args: { at: '{{firedAt}}' } } },
  'PATCH /api/v1/triggers/{id}': { name: 'renamed', config: {} },
  'POST /api/v1/triggers/{id}/backfill': { start: '2026-01-01T00:00:00Z', end: '2026-01-01T06:00:00Z' },
  'POST /api/v1/plugins': {
    id: 'fuzz_plugin', name: 'fuzz', version: '1.0.0', permissions: ['tools', 'tables', 'storage'],
    tables: [{ name: 'items', columns: [{ name: 'k', type: 'text', primaryKey: true }] }],
    tools: [{ name: 'double', description: 'doubles', parameters: { type: 'object', properties: { n: { type: 'number' } } }, code: 'return { n: args.n * 2 };' }],
  },
  'PUT /api/v1/plugins/{id}/config': { config: { level: 2 } },
  'PUT /api/v1/plugins/{id}/storage/{key}': { value: { deep: [1, 2, { x: null }] } },
};

/** Statuses any route may answer whatever it documents: no such route (404), a fuzzed path another route serves under other methods (405), body too large (413). */
function genericStatus(status: number, body: unknown): boolean {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (status === 404 && typeof error?.message === 'string' && error.message.startsWith('no route for ')) return true;
  if (status === 405 && error?.code === 'METHOD_NOT_ALLOWED') return true;
  return status === 413;
}

describe('API fuzzing from the OpenAPI document (every operation: params, query, body)', () => {
  let stack: TestStack;
  let app: Express;
  const keys: Record<'admin' | 'user' | 'plugin', string> = { admin: '', user: '', plugin: '' };
  const known: string[] = [];
  const checker = createResponseChecker(apiDocument());
  const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const tally = new Map<string, Map<number, number>>();

  beforeAll(async () => {
    stack = await openTestStack();
    await stack.startWorker();
    const t = await buildTriggerApp(stack);
    app = stackApp(stack, { metrics: createMetrics('api'), plans: t.plans, triggers: t.triggers, webhooks: t.webhooks });
    const service = testKeyService(stack.prisma);
    keys.admin = await createTestKey(service, 'admin');
    keys.user = await createTestKey(service, 'user:fuzzer');
    keys.plugin = await createTestKey(service, 'plugin:fuzzer');
    // Real ids, so shaped requests also reach the code behind the not-found checks.
    const admin = authed(app, keys.admin);
    const plan = await admin.post('/api/v1/plans').send({ name: 'fuzz', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: {} }] }).expect(201);
    const run = await admin.post(`/api/v1/plans/${plan.body.id}/execute`).send({}).expect(202);
    const trigger = await admin.post('/api/v1/triggers').send({ name: 'fuzz', type: 'webhook', config: {}, action: { kind: 'tool', tool: 'core.echo', args: {} } }).expect(201);
    const note = await authed(app, keys.user).post('/api/v1/resources/notes').send({ title: 'fuzz' }).expect(201);
    known.push(plan.body.id, run.body.runId, trigger.body.id, note.body.id, 'core.echo', 'core.math', 'notes', 'tasks', 'a', 'plans', 'fuzzer');
    console.log(`API fuzz: seed ${SEED}, ${RUNS} runs per operation, ${OPERATIONS.length} operations (FUZZ_SEED / FUZZ_RUNS to change)`);
  });
  afterAll(async () => {
    const lines = [...tally].map(([op, statuses]) => `${op}: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    console.log(`API fuzz status tally (seed ${SEED}):\n${lines.join('\n')}`);
    await stack.close();
  });

  test('the served document is the one the fuzzer enumerates', async () => {
    const served = (await request(app).get('/api/v1/openapi.json').expect(200)).body;
    expect(served).toEqual(JSON.parse(JSON.stringify(apiDocument())));
    expect(OPERATIONS.length).toBeGreaterThan(50);
  });

  const send = (op: FuzzOperation, req: FuzzRequest, key: string | undefined) => {
    if (STREAMING.has(`${op.method} ${op.template}`)) {
      const headers = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(req.body === undefined ? {} : { 'content-type': req.contentType ?? 'application/json' }) };
      return requestOnce(app, op.method, req.url, headers, req.body);
    }
    let call = (request(app) as unknown as Record<string, (url: string) => request.Test>)[op.method]!(req.url);
    if (key) call = call.set('authorization', `Bearer ${key}`);
    if (req.body !== undefined) call = call.set('content-type', req.contentType ?? 'application/json').send(req.body);
    return call;
  };

  // Each was a 500 or an undocumented status until fixed; kept as fixed examples.
  test.each([
    ['NUL in a path param (PostgreSQL cannot store it)', 'delete', '/api/v1/keys/%00', undefined, 400],
    ['NUL in a run id', 'post', '/api/v1/plans/runs/a%00b/rollback', '{}', 400],
    ['NUL inside a JSON body', 'post', '/api/v1/resources/notes', '{"title":"a\\u0000b"}', 400],
    ['NUL in a query value', 'get', '/api/v1/plans?createdBy=%00', undefined, 400],
    ['a lone surrogate in a plan (jsonb refuses it)', 'post', '/api/v1/plans', '{"name":"s","steps":[{"id":"a","kind":"tool","tool":"core.echo","args":{"x":"\\ud800"}}]}', 400],
    ['a lone surrogate in a custom tool', 'post', '/api/v1/custom-tools', '{"name":"surrogate","description":"\\udc00","userId":"u","parameters":{"type":"object"},"code":"return 1"}', 400],
    ['a lone surrogate in a column default', 'post', '/api/v1/acl/tables', '{"name":"fz_surrogate","columns":[{"name":"a","type":"text","default":{"literal":"\\ud800"}}]}', 400],
    ['a default the column type cannot hold', 'post', '/api/v1/acl/tables', '{"name":"fz_bad_default","columns":[{"name":"a","type":"double","default":{"literal":""}}]}', 422],
    ['a JSON string as the body of a route without one', 'post', '/api/v1/triggers/reconcile', '""', 400],
    ['granting write on a locked table', 'post', '/api/v1/acl/tables/plans/grants', '{"grantee":"admin","privilege":"write"}', 422],
    ['a calendar event that ends before it starts', 'post', '/api/v1/resources/calendar_events', '{"title":"!","startsAt":"0036-02-29T10:00:00+20:00","endsAt":"0000-02-29T20:00:00-10:00"}', 422],
  ] as const)('fuzzer finding stays fixed: %s', async (_label, method, url, body, status) => {
    const op = OPERATIONS.find((o) => o.method === method && new RegExp(`^${o.template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(url.split('?')[0]!))!;
    const res = await send(op, { url, rerouted: false, ...(body === undefined ? {} : { body }) }, keys.admin);
    expect({ status: res.status, documented: op.statuses.includes(res.status), shape: ErrorResponse.safeParse(res.body).success }).toEqual({ status, documented: true, shape: true });
  });


  test.each(OPERATIONS.map((op, i) => [`${op.method.toUpperCase()} ${op.template}`, op, i] as const))('%s', async (label, op, index) => {
    const counts = new Map<number, number>();
    tally.set(label, counts);
    const principal = fc.oneof({ weight: 4, arbitrary: fc.constant(keys.admin) }, { weight: 2, arbitrary: fc.constant(keys.user) }, { weight: 1, arbitrary: fc.constant(keys.plugin) });
    await fc.assert(
      fc.asyncProperty(requestsFor(op, COMPONENTS, known, EXAMPLES[label]), principal, async (req, key) => {
        const res = await send(op, req, key);
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        const where = { request: { method: op.method, url: req.url.slice(0, 300), body: req.body?.slice(0, 300) }, status: res.status };
        expect({ ...where, serverError: res.status >= 500 }).toEqual({ ...where, serverError: false });
        const leaks = LEAKS.filter((pattern) => pattern.test(res.text ?? ''));
        expect({ ...where, leaks }).toEqual({ ...where, leaks: [] });
        // a rerouted URL (un-encoded ../ or \\) may land on another route: only the route-independent checks apply
        const documented = req.rerouted || op.statuses.includes(res.status) || genericStatus(res.status, res.body);
        expect({ ...where, documented, body: res.body }).toEqual({ ...where, documented: true, body: res.body });
        if (res.status >= 400) {
          expect({ ...where, shape: ErrorResponse.safeParse(res.body).success, hasDetails: 'details' in ((res.body as { error?: object }).error ?? {}) })
            .toEqual({ ...where, shape: true, hasDetails: true });
        } else if (!req.rerouted && (res.headers['content-type'] ?? '').startsWith('application/json') && op.statuses.includes(res.status)) {
          expect({ ...where, errors: checker.check(op.method, op.template, res.status, res.body) }).toEqual({ ...where, errors: null });
        }
      }),
      { seed: SEED + index, numRuns: RUNS, endOnFailure: false },
    );
    // nothing a request sent reached this process's prototypes
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 600_000);

  test('fuzzer finding stays fixed: one hand-written tool row without tags or description does not break GET /api/v1/tools (was a 500)', async () => {
    const suffix = `${Date.now()}`;
    await stack.prisma.toolRegistry.create({ data: { id: `fz${suffix}`, name: `custom.fz${suffix}`, source: 'custom', sourceId: 'fuzzer', category: 'misc', definition: { a: 1 }, code: 'return 1' } });
    const res = await request(app).get('/api/v1/tools').set('authorization', `Bearer ${keys.admin}`);
    expect({ status: res.status, errors: checker.check('get', '/api/v1/tools', res.status, res.body) }).toEqual({ status: 200, errors: null });
  });

  test('requests without a key are 401 on every guarded operation even when the input is hostile', async () => {
    const guarded = OPERATIONS.filter((op) => op.security.some((s) => Object.keys(s as object).includes('apiKey')));
    for (const [i, op] of guarded.entries()) {
      await fc.assert(
        fc.asyncProperty(requestsFor(op, COMPONENTS), async (req) => {
          const res = await send(op, req, undefined);
          const where = { op: `${op.method} ${req.url.slice(0, 200)}`, status: res.status };
          // an un-encoded ../ can resolve to another path; the answer is still never data
          expect({ ...where, ok: res.status === 401 || (res.status === 404 && genericStatus(404, res.body)) || res.status === 413 || res.status === 400 })
            .toEqual({ ...where, ok: true });
        }),
        { seed: SEED + 1000 + i, numRuns: Math.max(5, Math.floor(RUNS / 3)) },
      );
    }
  }, 600_000);
});
