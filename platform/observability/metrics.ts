import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type Labels = Record<string, string>;
/** One sample a scrape-time reader returns: its labels and current value. */
export type Sample = [labels: Labels, value: number];

/** Seconds buckets shared by every duration histogram (1 ms .. 5 min). */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * A Prometheus registry for one process (`service` label on every series) with Node's default
 * metrics. Services keep their own counters; `readCounter`/`readGauge` read them at scrape time.
 */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });

  const readInto = (metric: Counter | Gauge, read: () => Sample[]) => {
    metric.reset();
    for (const [labels, value] of read()) {
      if (Number.isFinite(value) && value >= 0) metric.inc(labels, value);
    }
  };

  return {
    registry,

    /** A counter whose values come from `read()` at each scrape (a service's own monotonic counters). */
    readCounter(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
      new Counter({ name, help, labelNames, registers: [registry], collect() { readInto(this, read); } });
    },

    /** A gauge whose values come from `read()` at each scrape. */
    readGauge(name: string, help: string, labelNames: string[], read: () => Sample[]): void {
      new Gauge({ name, help, labelNames, registers: [registry], collect() { readInto(this, read); } });
    },

    /** A counter the caller increments. */
    counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
      return new Counter({ name, help, labelNames, registers: [registry] });
    },

    /** A duration histogram in seconds the caller observes. */
    histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
      return new Histogram({ name, help, labelNames, buckets: DURATION_BUCKETS, registers: [registry] });
    },

    /** The exposition text and its content type. */
    async scrape(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
