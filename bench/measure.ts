import { percentiles } from './bench-types';

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
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: sizes.inFlight }, async () => {
      while (next++ < sizes.throughput) await once();
    }),
  );
  return { ...percentiles(samples), perSecond: sizes.throughput / (since(t) / 1000) };
}
