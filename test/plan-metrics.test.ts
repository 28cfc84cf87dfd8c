import { openEventBus } from '../activities/events/open-event-bus';
import type { EventBus } from '../activities/events/event-bus';
import { createEventMetrics } from '../activities/observability/service-metrics';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { authed, createTestKey, testKeyService } from './support/api-auth';
import { sampleValue } from './support/prometheus-text';
import { stackInfo } from './support/stack-info';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';
import { eventually } from './support/wait';

// The worker's composition (workers/main.ts): its bus observes every event it emits into the
// worker's registry. Plan runs and steps must land in the duration histograms, not only counters.
describe('plan run and step duration metrics in the worker that runs them', () => {
  let stack: TestStack;
  let workerBus: EventBus;
  const metrics = createMetrics('worker');

  beforeAll(async () => {
    stack = await openTestStack();
    workerBus = await openEventBus(stackInfo().databaseUrl, createLogger('worker-bus', 'silent'), { observe: createEventMetrics(metrics).observe });
    await stack.startWorker({ events: workerBus });
  });
  afterAll(async () => {
    await stack.close();
    await workerBus.close();
  });

  test('after a completed and a failed run: run and step durations by outcome, and plan events carry durationMs', async () => {
    const api = authed(stackApp(stack), await createTestKey(testKeyService(stack.prisma), 'user:plan-metrics'));
    const seen: { type: string; data: { runId?: string; stepId?: string | null; durationMs?: number } }[] = [];
    workerBus.subscribe('plan-metrics-probe', 'plan.**', (e) => void seen.push({ type: e.type, data: e.data as never }));
    const ok = await api.post('/api/v1/plans').send({
      name: 'two steps',
      steps: [
        { id: 'a', kind: 'tool', tool: 'core.echo', args: { x: 1 } },
        { id: 'b', kind: 'tool', tool: 'core.echo', args: { y: '{{steps.a.output.x}}' }, dependsOn: ['a'] },
      ],
    }).expect(201);
    const bad = await api.post('/api/v1/plans').send({ name: 'divides by zero', steps: [{ id: 'd', kind: 'tool', tool: 'core.math', args: { op: 'div', values: [1, 0] } }] }).expect(201);
    const runs: string[] = [];
    for (const plan of [ok.body.id, bad.body.id]) {
      const { runId } = (await api.post(`/api/v1/plans/${plan}/execute`).send({}).expect(202)).body;
      runs.push(runId);
      await eventually(async () => (await api.get(`/api/v1/plans/runs/${runId}`)).body.status, (s) => s === 'completed' || s === 'failed', 60_000);
    }
    const text = (await eventually(() => metrics.scrape(), (r) => sampleValue(r.body, 'ownpilot_plan_run_duration_seconds_count', { outcome: 'failed' }) >= 1)).body;
    expect(sampleValue(text, 'ownpilot_plan_run_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect(sampleValue(text, 'ownpilot_plan_run_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(sampleValue(text, 'ownpilot_plan_step_duration_seconds_count', { outcome: 'completed' })).toBe(2);
    expect(sampleValue(text, 'ownpilot_plan_step_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(sampleValue(text, 'ownpilot_plan_runs_total', { outcome: 'completed' })).toBe(1);
    expect(sampleValue(text, 'ownpilot_plan_steps_total', { outcome: 'failed' })).toBe(1);
    expect(sampleValue(text, 'ownpilot_plan_run_duration_seconds_sum', { outcome: 'completed' })).toBeGreaterThan(0);

    // The numbers come from the events: the run's lasts at least as long as its steps together.
    const completed = await eventually(async () => seen.find((e) => e.type === 'plan.completed' && e.data.runId === runs[0]), (e) => e !== undefined);
    const stepEnds = seen.filter((e) => e.type === 'plan.step_completed' && e.data.runId === runs[0]);
    expect(stepEnds.map((e) => e.data.stepId).sort()).toEqual(['a', 'b']);
    for (const e of stepEnds) expect(e.data.durationMs).toEqual(expect.any(Number));
    expect(completed!.data.durationMs).toBeGreaterThanOrEqual(stepEnds.reduce((sum, e) => sum + e.data.durationMs!, 0));
    // Events without a duration (starts) carry none.
    expect(seen.find((e) => e.type === 'plan.started')?.data.durationMs).toBeUndefined();
  });
});
