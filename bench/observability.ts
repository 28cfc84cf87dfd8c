import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { createEventMetrics, registerEventBusMetrics, registerToolMetrics } from '../activities/observability/service-metrics';
import { httpObservability } from '../api/http-observability';
import { createLogger } from '../platform/logger';
import { createMetrics } from '../platform/observability/metrics';
import { percentiles, type Benchmark } from './bench-types';

const REQUESTS = 3_000;

/** Sequential requests per second against a one-route app, with or without the observability middleware. */
async function requestsPerSecond(withObservability: boolean): Promise<number> {
  const app = express();
  if (withObservability) {
    const sink = new Writable({ write: (_c, _e, done) => done() });
    app.use(httpObservability(createLogger('bench', 'info', sink), createMetrics('bench')));
  }
  app.get('/api/v1/items/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  try {
    for (let i = 0; i < 300; i++) await (await fetch(`${base}/api/v1/items/${i}`)).arrayBuffer();
    const t = performance.now();
    for (let i = 0; i < REQUESTS; i++) await (await fetch(`${base}/api/v1/items/${i}`)).arrayBuffer();
    return REQUESTS / ((performance.now() - t) / 1000);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Per-request cost of the metrics + request log middleware, and /metrics scrape time with a busy registry. */
export const observabilityBench: Benchmark = {
  name: 'observability',
  async run() {
    const plain = await requestsPerSecond(false);
    const observed = await requestsPerSecond(true);

    const metrics = createMetrics('bench');
    const events = createEventMetrics(metrics);
    const subscribers = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`plugin:p${i}`, { delivered: i, failed: 0, timedOut: 0, rateDropped: 0, overflowed: 0, queued: 0 }]));
    registerEventBusMetrics(metrics, { metrics: () => ({ received: 0, subscribers }) });
    registerToolMetrics(metrics, { snapshot: () => ({ builtin: { count: 1, byOutcome: { success: 1 }, totalMs: 1 } }) });
    for (let i = 0; i < 10_000; i++) events.observe({ type: 'plan.completed', category: 'plan', data: { durationMs: i } });
    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await metrics.scrape();
      samples.push(performance.now() - t);
    }
    const { p50, p99 } = percentiles(samples);
    return [
      { name: 'HTTP requests/s without observability (sequential)', value: plain, unit: 'req/s' },
      { name: 'HTTP requests/s with metrics + request log', value: observed, unit: 'req/s' },
      { name: 'observed / plain throughput', value: observed / plain, unit: 'ratio', target: 0.85, higherIsBetter: true },
      { name: '/metrics scrape p50 (200 subscribers, default metrics)', value: p50, unit: 'ms', target: 50 },
      { name: '/metrics scrape p99', value: p99, unit: 'ms' },
    ];
  },
};
