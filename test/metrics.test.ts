import { NativeConnection, type Worker } from '@temporalio/worker';
import request from 'supertest';
import { createActivities } from '../activities';
import { createDatabaseAcl } from '../activities/acl/acl-service';
import { createAclMetrics } from '../activities/observability/service-metrics';
import { createPlanService } from '../activities/plans/plan-service';
import { BUILTIN_TOOLS } from '../activities/tools/builtin-tools';
import { createToolExecutor } from '../activities/tools/tool-executor';
import { createApp } from '../api/app';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { startMetricsServer } from '../platform/observability/metrics-endpoint';
import { activityObservability } from '../workers/activity-observability';
import { createOwnPilotWorker } from '../workers/create-worker';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { sampleValue } from './support/prometheus-text';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

describe('Prometheus metrics: API /metrics and the worker exporter move with real actions', () => {
  let stack: TestStack;
  const apiMetrics = createMetrics('api');
  const workerMetrics = createMetrics('worker');
  let app: ReturnType<typeof createApp>;
  let exporter: Awaited<ReturnType<typeof startMetricsServer>>;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  const token = 'metrics-token-for-tests';

  beforeAll(async () => {
    stack = await openTestStack();
    const acl = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, metrics: createAclMetrics(apiMetrics) });
    const tools = createToolExecutor(BUILTIN_TOOLS);
    app = createApp({
      logger: createLogger('test', 'silent'),
      health: { postgres: () => stack.prisma.$queryRaw`SELECT 1`, temporal: () => stack.client.connection.workflowService.getSystemInfo({}) },
      plans: createPlanService({ prisma: stack.prisma, temporal: stack.client, taskQueue: stack.taskQueue, tools }),
      keys: testKeyService(stack.prisma),
      acl,
      metrics: apiMetrics,
      metricsToken: token,
    });
    native = await NativeConnection.connect({ address: stackInfo().temporalAddress });
    worker = await createOwnPilotWorker({
      connection: native,
      namespace: 'default',
      taskQueue: stack.taskQueue,
      interceptors: { activity: [activityObservability(workerMetrics, createLogger('worker-test', 'silent'))] },
      activities: createActivities({ prisma: stack.prisma, tools, acl }),
    });
    running = worker.run();
    exporter = await startMetricsServer(workerMetrics, { host: '127.0.0.1', port: 0, token });
  });
  afterAll(async () => {
    await exporter.close();
    worker.shutdown();
    await running;
    await native.close();
    await stack.close();
  });

  const scrapeApi = async () => (await request(app).get('/metrics').set('authorization', `Bearer ${token}`).expect(200)).text;
  const scrapeWorker = async () => {
    const res = await fetch(`http://127.0.0.1:${exporter.port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.text();
  };

  test('without the metrics token both endpoints answer 401', async () => {
    await request(app).get('/metrics').expect(401);
    await request(app).get('/metrics').set('authorization', 'Bearer wrong').expect(401);
    expect((await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${exporter.port}/other`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  test('HTTP requests are counted by route template and status; ACL statements and denials by requester kind', async () => {
    const user = authed(app, await createTestKey(testKeyService(stack.prisma), 'user:metrics'));
    const before = await scrapeApi();
    await user.post('/api/v1/db/query').send({ sql: 'SELECT * FROM api_keys', params: [] }).expect(403);
    await user.get('/api/v1/plans/does-not-exist').expect(404);
    const after = await scrapeApi();
    const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('ownpilot_http_requests_total', { route: '/api/v1/db/query', method: 'POST', status: '403' })).toBe(1);
    expect(moved('ownpilot_http_requests_total', { route: '/api/v1/plans/:id', method: 'GET', status: '404' })).toBe(1);
    expect(moved('ownpilot_http_request_duration_seconds_count', { route: '/api/v1/plans/:id', status: '404' })).toBe(1);
    expect(moved('ownpilot_db_queries_total', { requester_kind: 'user', outcome: 'denied' })).toBe(1);
    expect(moved('ownpilot_acl_denials_total', { requester_kind: 'user', action: 'query' })).toBe(1);
    expect(sampleValue(after, 'process_cpu_user_seconds_total', { service: 'api' })).toBeGreaterThan(0);
  });

  test('plan steps run as activities: the worker exporter counts and times them by activity and outcome', async () => {
    const api = authed(app, await createTestKey(testKeyService(stack.prisma), 'user:metrics'));
    const before = await scrapeWorker();
    const ok = await api.post('/api/v1/plans').send({ name: 'm', steps: [{ id: 'a', kind: 'tool', tool: 'core.echo', args: { x: 1 } }] }).expect(201);
    const bad = await api.post('/api/v1/plans').send({ name: 'm', steps: [{ id: 'd', kind: 'tool', tool: 'core.math', args: { op: 'div', values: [1, 0] } }] }).expect(201);
    for (const plan of [ok.body.id, bad.body.id]) {
      const { runId } = (await api.post(`/api/v1/plans/${plan}/execute`).send({}).expect(202)).body;
      await eventually(async () => (await api.get(`/api/v1/plans/runs/${runId}`)).body.status, (s) => s === 'completed' || s === 'failed', 60_000);
    }
    const after = await eventually(scrapeWorker, (text) =>
      sampleValue(text, 'ownpilot_activity_executions_total', { outcome: 'failure' }) > sampleValue(before, 'ownpilot_activity_executions_total', { outcome: 'failure' }));
    const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('ownpilot_activity_executions_total', { outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(moved('ownpilot_activity_duration_seconds_count', { service: 'worker' })).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/ownpilot_activity_executions_total\{[^}]*activity="\w+"/);
  });
});
