import request from 'supertest';
import { createDatabaseAcl } from '../activities/acl/acl-service';
import { openEventBus } from '../activities/events/open-event-bus';
import { createAclMetrics, createEventMetrics, registerEventBusMetrics, registerToolMetrics } from '../activities/observability/service-metrics';
import type { createApp } from '../api/app';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { startMetricsServer } from '../platform/observability/metrics-endpoint';
import { activityObservability } from '../workers/activity-observability';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { sampleValue } from './support/prometheus-text';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';

describe('Prometheus metrics: API /metrics and the worker exporter move with real actions', () => {
  let stack: TestStack;
  const apiMetrics = createMetrics('api');
  const workerMetrics = createMetrics('worker');
  let app: ReturnType<typeof createApp>;
  let exporter: Awaited<ReturnType<typeof startMetricsServer>>;
  const token = 'metrics-token-for-tests';

  beforeAll(async () => {
    stack = await openTestStack();
    const acl = createDatabaseAcl({ prisma: stack.prisma, pool: stack.pool, events: stack.events, metrics: createAclMetrics(apiMetrics) });
    app = stackApp(stack, { acl, metrics: apiMetrics, metricsToken: token });
    registerToolMetrics(apiMetrics, stack.tools.metrics);
    await stack.startWorker({ acl }, { activity: [activityObservability(workerMetrics, createLogger('worker-test', 'silent'))] });
    exporter = await startMetricsServer(workerMetrics, { host: '127.0.0.1', port: 0, token });
  });
  afterAll(async () => {
    await exporter.close();
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

  test('tool executions by source and outcome come from the registry\'s own counters', async () => {
    const user = authed(app, await createTestKey(testKeyService(stack.prisma), 'user:metrics'));
    const before = await scrapeApi();
    await user.post('/api/v1/tools/core.echo/execute').send({ args: { a: 1 } }).expect(200);
    await user.post('/api/v1/tools/core.math/execute').send({ args: { op: 'nope' } }).expect(422);
    const after = await scrapeApi();
    const moved = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(moved('ownpilot_tool_executions_total', { source: 'builtin', outcome: 'success' })).toBe(1);
    expect(moved('ownpilot_tool_executions_total', { source: 'builtin' })).toBe(2);
    expect(moved('ownpilot_tool_execution_seconds_total', { source: 'builtin' })).toBeGreaterThanOrEqual(0);
  });

  test('events: emitted per namespace, delivered and rate-limit drops per subscriber, lifecycle/plan/trigger counters', async () => {
    const metrics = createMetrics('api');
    const eventMetrics = createEventMetrics(metrics);
    const bus = await openEventBus(stackInfo().databaseUrl, createLogger('bus', 'silent'), { observe: eventMetrics.observe });
    registerEventBusMetrics(metrics, bus);
    try {
      let handled = 0;
      bus.subscribe('metrics-probe', 'agent.*', () => void handled++, { ratePerSecond: 0.001, burst: 2, policy: 'drop' });
      for (let i = 0; i < 5; i++) bus.emit('agent.started', { agentId: `a${i}` }, 'test');
      bus.emit('plugin.installed', { pluginId: 'p1' }, 'test');
      bus.emit('plugin.install_failed', { pluginId: 'p2', error: 'boom' }, 'test');
      bus.emit('trigger.fired', { triggerId: 't1' }, 'test');
      bus.emit('trigger.failed', { triggerId: 't1', durationMs: 250 }, 'test');
      bus.emit('plan.completed', { planId: 'x', runId: 'x-1', durationMs: 1500 }, 'test');
      bus.emit('plan.step_failed', { planId: 'x', runId: 'x-1', stepId: 's' }, 'test');
      const text = (await eventually(() => metrics.scrape(), (r) => sampleValue(r.body, 'ownpilot_events_delivered_total', { subscriber: 'metrics-probe' }) === 2)).body;
      expect(handled).toBe(2);
      expect(sampleValue(text, 'ownpilot_events_emitted_total', { namespace: 'agent' })).toBe(5);
      await bus.flush();
      const logged = (await eventually(() => metrics.scrape(), (r) => sampleValue(r.body, 'ownpilot_event_log_writes_total', { outcome: 'written' }) >= 11)).body;
      expect(sampleValue(logged, 'ownpilot_event_log_writes_total', { outcome: 'dropped' })).toBe(0);
      expect(sampleValue(text, 'ownpilot_events_emitted_total', { namespace: 'plugin' })).toBe(2);
      expect(sampleValue(text, 'ownpilot_events_rate_limited_total', { subscriber: 'metrics-probe' })).toBe(3);
      expect(sampleValue(text, 'ownpilot_plugin_lifecycle_total', { event: 'installed' })).toBe(1);
      expect(sampleValue(text, 'ownpilot_plugin_lifecycle_total', { event: 'install_failed' })).toBe(1);
      expect(sampleValue(text, 'ownpilot_trigger_firings_total', { outcome: 'fired' })).toBe(1);
      expect(sampleValue(text, 'ownpilot_trigger_firings_total', { outcome: 'failed' })).toBe(1);
      expect(sampleValue(text, 'ownpilot_trigger_run_duration_seconds_sum', { outcome: 'failed' })).toBe(0.25);
      expect(sampleValue(text, 'ownpilot_plan_runs_total', { outcome: 'completed' })).toBe(1);
      expect(sampleValue(text, 'ownpilot_plan_run_duration_seconds_sum', { outcome: 'completed' })).toBe(1.5);
      expect(sampleValue(text, 'ownpilot_plan_steps_total', { outcome: 'failed' })).toBe(1);
    } finally {
      await bus.close();
    }
  });
});
