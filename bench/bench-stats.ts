/** The q-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** Wall-clock milliseconds comparable between processes on one machine (sub-millisecond). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** One line: figure, target and the ratio of the two. */
export function report(label: string, value: number, unit: string, target: number, higherIsBetter: boolean): void {
  const ok = higherIsBetter ? value >= target : value <= target;
  const ratio = higherIsBetter ? value / target : target / value;
  console.log(`${label.padEnd(58)} ${value.toFixed(unit === 'ms' ? 2 : 0).padStart(10)} ${unit.padEnd(9)} target ${higherIsBetter ? '≥' : '≤'} ${target} ${unit}  (${ratio.toFixed(2)}× ${ok ? 'met' : 'MISSED'})`);
}
