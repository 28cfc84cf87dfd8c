import { percentiles } from './bench-types';
import { cpuByProcess, cpuSpent } from './process-cpu';

/** Milliseconds since a `process.hrtime.bigint()` reading. */
export const since = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** How many runs `measureLatencyAndThroughput` makes: warm-up, one at a time, then `throughput` with `inFlight` at once. */
export interface MeasureSizes {
  warmup: number;
  sequential: number;
  throughput: number;
  inFlight: number;
}

/** Latency of one-at-a-time runs (p50/p99), then throughput with several runs in flight. */
export async function measureLatencyAndThroughput(once: () => Promise<unknown>, sizes: MeasureSizes): Promise<{ p50: number; p99: number; perSecond: number }> {
  for (let i = 0; i < sizes.warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < sizes.sequential; i++) {
    const t = process.hrtime.bigint();
    await once();
    samples.push(since(t));
  }
  const t = process.hrtime.bigint();
  await runInFlight(once, sizes.throughput, sizes.inFlight);
  return { ...percentiles(samples), perSecond: sizes.throughput / (since(t) / 1000) };
}

/** Runs `once` `count` times with at most `inFlight` at a time. */
async function runInFlight(once: () => Promise<unknown>, count: number, inFlight: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < count) await once();
    }),
  );
}

/** Latency and throughput of one subject of `measureSideBySide`, and CPU ms per run by process kind in its throughput blocks. */
export type SideFigures = { p50: number; p99: number; perSecond: number; cpuPerRun: Record<string, number> };

/**
 * Like `measureLatencyAndThroughput` for two subjects on one machine, interleaved so that drift
 * in the machine's load (other tenants, a compaction) falls on both alike: one-at-a-time runs
 * alternate A, B, B, A, ...; throughput alternates blocks of A and B.
 */
export async function measureSideBySide(a: () => Promise<unknown>, b: () => Promise<unknown>, sizes: MeasureSizes & { blocks: number }): Promise<[SideFigures, SideFigures]> {
  const subjects = [a, b];
  for (let i = 0; i < sizes.warmup; i++) for (const once of subjects) await once();
  const samples: number[][] = [[], []];
  for (let i = 0; i < sizes.sequential; i++) {
    for (const which of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const t = process.hrtime.bigint();
      await subjects[which]!();
      samples[which]!.push(since(t));
    }
  }
  const busyMs: [number, number] = [0, 0];
  const cpu: [Record<string, number>, Record<string, number>] = [{}, {}];
  const perBlock = Math.ceil(sizes.throughput / sizes.blocks);
  for (let block = 0; block < sizes.blocks * 2; block++) {
    const which = (block % 2) as 0 | 1;
    const t = process.hrtime.bigint();
    const before = cpuByProcess();
    await runInFlight(subjects[which]!, perBlock, sizes.inFlight);
    busyMs[which] += since(t);
    for (const [name, ms] of Object.entries(cpuSpent(before, cpuByProcess()))) cpu[which][name] = (cpu[which][name] ?? 0) + ms;
  }
  const runs = perBlock * sizes.blocks;
  const figures = (which: number): SideFigures => ({
    ...percentiles(samples[which]!),
    perSecond: runs / (busyMs[which]! / 1000),
    cpuPerRun: Object.fromEntries(Object.entries(cpu[which]!).map(([name, ms]) => [name, ms / runs])),
  });
  return [figures(0), figures(1)];
}
