import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../platform/local/ports';
import { newId } from '../platform/ids';
import { openStream } from './support/event-stream-client';
import { startAppProcess, type AppProcess } from './support/app-process';
import { metricNames } from './support/prometheus-text';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { eventually } from './support/wait';

interface AlertRules {
  groups: { name: string; rules: { alert: string; expr: string }[] }[];
}

// The real entry points as child processes on the run's PostgreSQL and Temporal.
describe('API and worker processes: exported metrics and graceful shutdown', () => {
  let stack: TestStack;
  let api: AppProcess;
  let worker: AppProcess;
  let apiUrl: string;
  let workerMetricsUrl: string;
  const adminKey = `processes-admin-${newId(20)}`;
  const metricsToken = `processes-metrics-${newId(12)}`;
  const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

  beforeAll(async () => {
    stack = await openTestStack();
    const [apiPort, workerPort] = [await freePort(), await freePort()];
    const env = {
      DATABASE_URL: stackInfo().databaseUrl,
      TEMPORAL_ADDRESS: stackInfo().temporalAddress,
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      API_PORT: String(apiPort),
      WORKER_METRICS_PORT: String(workerPort),
      OWNPILOT_ADMIN_KEY: adminKey,
      METRICS_TOKEN: metricsToken,
      SHUTDOWN_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'debug',
    };
    [worker, api] = await Promise.all([
      startAppProcess('workers/main.ts', env, 'worker ready'),
      startAppProcess('api/main.ts', env, 'api ready'),
    ]);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    workerMetricsUrl = `http://127.0.0.1:${workerPort}/metrics`;
  });
  afterAll(async () => {
    for (const p of [api, worker]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await stack.close();
  });

  test('every metric the alert rules use is exported by the API or the worker', async () => {
    const rules = parse(fs.readFileSync(path.join(__dirname, '..', 'temporal-docker', 'prometheus', 'alerts.yml'), 'utf8')) as AlertRules;
    const used = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/\b(ownpilot_[a-z0-9_]+)/g)].map((m) => m[1]!))));
    expect(used.size).toBeGreaterThanOrEqual(6);
    const scrape = async (url: string) => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(res.status).toBe(200);
      return metricNames(await res.text());
    };
    const exported = new Set([...(await scrape(`${apiUrl}/metrics`)), ...(await scrape(workerMetricsUrl))]);
    const family = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    const missing = [...used].filter((name) => !exported.has(name) && !exported.has(family(name)));
    expect(missing).toEqual([]);
  });

  test('SIGTERM: an in-flight request completes with 200, an in-flight activity finishes, both processes exit 0', async () => {
    // A plan whose step is in flight on the worker when it is told to stop.
    const created = await fetch(`${apiUrl}/api/v1/plans`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ name: 'drain', steps: [{ id: 'slow', kind: 'tool', tool: 'core.wait', args: { ms: 2500 } }] }),
    });
    expect(created.status).toBe(201);
    const { runId } = (await (await fetch(`${apiUrl}/api/v1/plans/${((await created.json()) as { id: string }).id}/execute`, { method: 'POST', headers: auth, body: '{}' })).json()) as { runId: string };
    const handle = stack.client.workflow.getHandle(runId);
    const stepLog = (msg: string) => worker.output().split('\n').find((l) => l.includes('"stepId":"slow"') && l.includes(`"msg":"${msg}"`));
    await eventually(async () => stepLog('activity started'), Boolean);

    // A slow HTTP request the API has begun serving.
    const requestId = `drain-${newId(8)}`;
    const slow = fetch(`${apiUrl}/api/v1/tools/core.wait/execute`, {
      method: 'POST', headers: { ...auth, 'x-request-id': requestId }, body: JSON.stringify({ args: { ms: 2000 } }),
    });
    await eventually(async () => api.output(), (text) => text.includes(`"requestId":"${requestId}","method":"POST","msg":"request started"`));

    // A reader following the live event stream: it must not hold the API for the drain timeout.
    const stream = await openStream(`${apiUrl}/api/v1/events/stream`, { authorization: auth.authorization });
    expect(stream.status).toBe(200);
    const streamEnded = stream.readUntil(() => false, 15_000);

    api.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain('2000');
    await streamEnded;
    expect(await api.exited).toBe(0);
    expect(api.output()).not.toContain('api drain timed out');
    expect(await worker.exited).toBe(0);
    expect(stepLog('activity finished')).toContain('"outcome":"success"');
    const history = (await handle.fetchHistory()).events ?? [];
    expect(history.some((e) => e.activityTaskCompletedEventAttributes !== null && e.activityTaskCompletedEventAttributes !== undefined)).toBe(true);

    // Both processes wrote structured JSON only, each line tagged with its service.
    for (const [proc, service] of [[api, 'api'], [worker, 'worker']] as const) {
      const lines = proc.output().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('[ownpilot]'));
      expect(lines.filter((l) => { try { return (JSON.parse(l) as { service?: string }).service !== service; } catch { return true; } })).toEqual([]);
    }

    // The run finishes on the next worker.
    await stack.startWorker();
    await handle.result();
  });
});
