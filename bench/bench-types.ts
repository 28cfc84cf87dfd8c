/** One measured figure, printed with its target (if any) and the ratio figure/target. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** The target; `higherIsBetter` says which side of it passes. */
  target?: number;
  higherIsBetter?: boolean;
}

/** A benchmark module: runs its scenarios and returns the figures. */
export interface Benchmark {
  name: string;
  run(): Promise<BenchFigure[]>;
}

/** Median and 99th percentile of a list of samples. */
export function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
