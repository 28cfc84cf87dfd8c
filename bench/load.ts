import autocannon from 'autocannon';
import { percentiles, type Benchmark, type BenchFigure } from './bench-types';
import { LOAD_ENV, startLoadStack, type LoadStack } from './load-stack';

/** Sizes (env-configurable; the defaults are the issue's, BENCH_LOAD_SMOKE=1 a quick version). */
const SMOKE = process.env.BENCH_LOAD_SMOKE === '1';
const num = (name: string, full: number, smoke: number) => Number(process.env[name] ?? (SMOKE ? smoke : full));
const SIZES = {
  burst: num('BENCH_LOAD_BURST', 1000, 100),
  /** HTTP requests in flight while the burst is started. */
  burstConcurrency: num('BENCH_LOAD_BURST_CONCURRENCY', 50, 20),
  apiSeconds: num('BENCH_LOAD_API_SECONDS', 20, 5),
  apiConnections: num('BENCH_LOAD_API_CONNECTIONS', 10, 10),
  /** Requests/s over all connections; 0 = as fast as the API answers. */
  apiRate: num('BENCH_LOAD_API_RATE', 0, 0),
  memoryRuns: num('BENCH_LOAD_MEMORY_RUNS', 10_000, 300),
  memoryInFlight: num('BENCH_LOAD_MEMORY_IN_FLIGHT', 50, 50),
  /** Heap growth (MB) between the 20 % and the last sample that fails the memory benchmark. */
  heapBoundMb: num('BENCH_LOAD_HEAP_BOUND_MB', 40, 40),
  rssBoundMb: num('BENCH_LOAD_RSS_BOUND_MB', 120, 120),
};
const FINISHED = ['completed', 'failed', 'cancelled', 'rolled_back'];
/** A plan may not have more than 1000 runs in flight (plan schema), so bursts spread over plans. */
const RUNS_PER_PLAN = 1000;

async function api<T>(stack: LoadStack, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.base}/api/v1${path}`, { method, headers: stack.headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Creates a plan of three no-op (core.echo) tool steps in sequence; returns its id. */
async function createNoopPlan(stack: LoadStack, name: string): Promise<string> {
  const ids = ['a', 'b', 'c'];
  const plan = await api<{ id: string }>(stack, 'POST', '/plans', {
    name, maxConcurrentRuns: RUNS_PER_PLAN, concurrency: 1, onFailure: 'fail',
    steps: ids.map((id, i) => ({ id, kind: 'tool', tool: 'core.echo', args: { i }, dependsOn: i === 0 ? [] : [ids[i - 1]] })),
  });
  return plan.id;
}

/** Starts `count` runs over `planIds` with `concurrency` requests in flight; returns the run ids. */
async function startRuns(stack: LoadStack, planIds: string[], count: number, concurrency: number): Promise<string[]> {
  const runIds: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) {
      const { runId } = await api<{ runId: string }>(stack, 'POST', `/plans/${planIds[i % planIds.length]}/execute`, {});
      runIds.push(runId);
    }
  }));
  return runIds;
}

/** Waits (polling the database every 250 ms) until `count` runs of `planIds` have ended; throws after `timeoutMs`. */
async function waitForFinished(stack: LoadStack, planIds: string[], count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = await stack.prisma.planRun.count({ where: { planId: { in: planIds }, status: { in: FINISHED } } });
    if (done >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${count} plan runs finished within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const plansFor = async (stack: LoadStack, runs: number, label: string) =>
  Promise.all(Array.from({ length: Math.ceil(runs / RUNS_PER_PLAN) }, (_, i) => createNoopPlan(stack, `${label}-${i}`)));

/**
 * 1,000 plan runs (3 no-op tool steps) started in one burst through the API, executed by two
 * real worker processes: all must complete. Latency per run is the database's started_at →
 * finished_at, so the polling interval does not enter it.
 */
export const loadBurst: Benchmark = {
  name: 'load-burst: plan runs started in a burst, real API + worker processes',
  async run() {
    const stack = await startLoadStack();
    try {
      const planIds = await plansFor(stack, SIZES.burst, 'burst');
      const began = Date.now();
      await startRuns(stack, planIds, SIZES.burst, SIZES.burstConcurrency);
      const startedMs = Date.now() - began;
      await waitForFinished(stack, planIds, SIZES.burst, 30 * 60_000);
      const runs = await stack.prisma.planRun.findMany({ where: { planId: { in: planIds } }, select: { status: true, startedAt: true, finishedAt: true } });
      const completed = runs.filter((r) => r.status === 'completed');
      if (completed.length !== SIZES.burst) throw new Error(`${SIZES.burst - completed.length} of ${SIZES.burst} runs did not complete: ${[...new Set(runs.map((r) => r.status))].join(', ')}`);
      const latencies = completed.map((r) => r.finishedAt!.getTime() - r.startedAt.getTime());
      const drainMs = Math.max(...completed.map((r) => r.finishedAt!.getTime())) - began;
      const { p50, p99 } = percentiles(latencies);
      return [
        { name: `runs started (${SIZES.burst}, ${SIZES.burstConcurrency} requests in flight) and completed`, value: completed.length, unit: 'runs' },
        { name: `workers (processes)`, value: LOAD_ENV.workers, unit: '' },
        { name: 'time to start them all (API answers 202)', value: startedMs, unit: 'ms' },
        { name: 'time to drain (first request → last run finished)', value: drainMs, unit: 'ms' },
        { name: 'plan latency (started_at → finished_at): p50', value: p50, unit: 'ms' },
        { name: 'plan latency (started_at → finished_at): p99', value: p99, unit: 'ms' },
        { name: 'throughput over the drain', value: SIZES.burst / (drainMs / 1000), unit: 'plans/s', target: 50, higherIsBetter: true },
      ];
    } catch (error) {
      throw stack.explain(error);
    } finally {
      await stack.stop();
    }
  },
};

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * The API under sustained load with autocannon for a fixed duration: reads (plan list, one run)
 * and plan starts (POST /:id/execute). Every non-2xx answer counts as an error.
 */
export const loadApi: Benchmark = {
  name: 'load-api: autocannon on reads and plan starts, real API + worker processes',
  async run() {
    const stack = await startLoadStack();
    try {
      const planIds = await plansFor(stack, 1, 'api');
      const [runId] = await startRuns(stack, planIds, 1, 1);
      await waitForFinished(stack, planIds, 1, 60_000);
      const scenarios: { label: string; method: 'GET' | 'POST'; path: string; body?: string }[] = [
        { label: 'GET /api/v1/plans', method: 'GET', path: '/api/v1/plans' },
        { label: 'GET /api/v1/plans/runs/:runId', method: 'GET', path: `/api/v1/plans/runs/${runId}` },
        { label: 'POST /api/v1/plans/:id/execute', method: 'POST', path: `/api/v1/plans/${planIds[0]}/execute`, body: '{}' },
      ];
      const figures: BenchFigure[] = [];
      for (const s of scenarios) {
        // A plan admits 1000 runs in flight: a start scenario past that answers 409 and counts as errors.
        const result = await cannon({
          url: `${stack.base}${s.path}`, method: s.method, headers: stack.headers, body: s.body,
          duration: SIZES.apiSeconds, connections: SIZES.apiConnections, ...(SIZES.apiRate > 0 ? { overallRate: SIZES.apiRate } : {}),
        });
        const total = result.requests.total;
        figures.push(
          { name: `${s.label}: p50`, value: result.latency.p50, unit: 'ms' },
          { name: `${s.label}: p99`, value: result.latency.p99, unit: 'ms' },
          { name: `${s.label}: requests/s (${SIZES.apiConnections} connections, ${SIZES.apiSeconds} s)`, value: result.requests.average, unit: 'req/s' },
          { name: `${s.label}: requests`, value: total, unit: 'requests' },
          { name: `${s.label}: errors (non-2xx answers + socket errors)`, value: result.non2xx + result.errors, unit: `of ${total}` },
        );
      }
      return figures;
    } catch (error) {
      throw stack.explain(error);
    } finally {
      await stack.stop();
    }
  },
};

/** Process memory and metric cardinality read from one Prometheus scrape. */
function memoryOf(text: string): { rssMb: number; heapMb: number; series: number } {
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rssMb: value('process_resident_memory_bytes') / 2 ** 20,
    heapMb: value('nodejs_heap_size_used_bytes') / 2 ** 20,
    series: text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
  };
}

/**
 * Memory of the worker and API processes over `BENCH_LOAD_MEMORY_RUNS` plan runs, sampled every
 * tenth; fails when heap or RSS grows past the bound between the 20 % sample and the last one,
 * or when the number of metric series grows (a label with unbounded values).
 */
export const loadMemory: Benchmark = {
  name: 'load-memory: worker and API memory over many plan runs',
  async run() {
    const stack = await startLoadStack();
    try {
      const planIds = await plansFor(stack, SIZES.memoryInFlight, 'memory');
      const step = Math.ceil(SIZES.memoryRuns / 10);
      const samples: { runs: number; byProcess: Record<string, ReturnType<typeof memoryOf>> }[] = [];
      const sample = async (runs: number) => {
        // Lowest heap of three scrapes 300 ms apart: garbage not yet collected is not a leak.
        const byProcess: Record<string, ReturnType<typeof memoryOf>> = {};
        for (const p of stack.processes) {
          const reads = [];
          for (let i = 0; i < 3; i++) {
            reads.push(memoryOf(await stack.scrape(p)));
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          byProcess[p.name] = { rssMb: Math.min(...reads.map((r) => r.rssMb)), heapMb: Math.min(...reads.map((r) => r.heapMb)), series: reads[reads.length - 1]!.series };
        }
        samples.push({ runs, byProcess });
        console.log(`  … ${runs} runs: ${Object.entries(byProcess).map(([n, m]) => `${n} rss ${m.rssMb.toFixed(0)} MB heap ${m.heapMb.toFixed(0)} MB series ${m.series}`).join('; ')}`);
      };
      const began = Date.now();
      for (let done = 0; done < SIZES.memoryRuns; done += step) {
        const count = Math.min(step, SIZES.memoryRuns - done);
        const ids = await startRuns(stack, planIds, count, SIZES.memoryInFlight);
        await waitForFinished(stack, planIds, done + count, 30 * 60_000);
        if (ids.length !== count) throw new Error(`started ${ids.length} of ${count} runs`);
        await sample(done + count);
      }
      const elapsed = Date.now() - began;
      // Heap "used" swings by tens of MB with uncollected garbage (nobody can force a GC in
      // another process), so each side is the floor (minimum) of a window of samples: the
      // 20–50 % window against the last 30 %. A leak raises the floor; garbage does not.
      const window = (lo: number, hi: number) => samples.slice(Math.max(0, Math.ceil(samples.length * lo) - 1), Math.max(1, Math.ceil(samples.length * hi)));
      const early = window(0.2, 0.5);
      const late = samples.slice(-Math.max(1, Math.round(samples.length * 0.3)));
      const floor = (list: typeof samples, name: string) => ({
        rssMb: Math.min(...list.map((s) => s.byProcess[name]!.rssMb)),
        heapMb: Math.min(...list.map((s) => s.byProcess[name]!.heapMb)),
        series: Math.max(...list.map((s) => s.byProcess[name]!.series)),
      });
      const to = samples[samples.length - 1]!;
      const from = { runs: `${early[0]!.runs}–${early[early.length - 1]!.runs}` };
      const figures: BenchFigure[] = [{ name: `plan runs (all finished), ${SIZES.memoryInFlight} in flight`, value: to.runs, unit: 'runs' }, { name: 'throughput', value: to.runs / (elapsed / 1000), unit: 'plans/s' }];
      const failures: string[] = [];
      for (const name of Object.keys(to.byProcess)) {
        const a = floor(early, name);
        const b = { ...floor(late, name), series: to.byProcess[name]!.series };
        const heap = b.heapMb - a.heapMb;
        const rss = b.rssMb - a.rssMb;
        figures.push(
          { name: `${name}: RSS at ${to.runs} runs`, value: to.byProcess[name]!.rssMb, unit: 'MB' },
          { name: `${name}: heap used at ${to.runs} runs`, value: to.byProcess[name]!.heapMb, unit: 'MB' },
          { name: `${name}: heap floor growth (${from.runs} runs → last 30 %)`, value: heap, unit: 'MB', target: SIZES.heapBoundMb },
          { name: `${name}: RSS floor growth (${from.runs} runs → last 30 %)`, value: rss, unit: 'MB', target: SIZES.rssBoundMb },
          { name: `${name}: metric series growth (must be 0)`, value: b.series - a.series, unit: 'series' },
        );
        if (heap > SIZES.heapBoundMb) failures.push(`${name} heap grew ${heap.toFixed(1)} MB (bound ${SIZES.heapBoundMb} MB)`);
        if (rss > SIZES.rssBoundMb) failures.push(`${name} RSS grew ${rss.toFixed(1)} MB (bound ${SIZES.rssBoundMb} MB)`);
        if (b.series > a.series) failures.push(`${name} metric series grew ${a.series} → ${b.series} (a label with unbounded values?)`);
      }
      if (failures.length > 0) {
        for (const figure of figures) console.log(`  ${figure.name}: ${figure.value.toFixed(1)} ${figure.unit}`);
        throw new Error(`load-memory FAILED: ${failures.join('; ')}`);
      }
      return figures;
    } catch (error) {
      throw stack.explain(error);
    } finally {
      await stack.stop();
    }
  },
};
