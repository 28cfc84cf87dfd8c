import type { ToolSource } from './tool-types';

/** Outcome of one executeTool call as counted by the metrics and reported in `tool.executed`. */
export type ToolOutcome = 'success' | 'error' | 'rejected' | 'approval_required';

export interface SourceMetrics {
  count: number;
  byOutcome: Record<ToolOutcome, number>;
  totalMs: number;
  /** Execution time summed per outcome (totalMs split by outcome). */
  msByOutcome: Record<ToolOutcome, number>;
  maxMs: number;
}

function empty(): SourceMetrics {
  return { count: 0, byOutcome: { success: 0, error: 0, rejected: 0, approval_required: 0 }, totalMs: 0, msByOutcome: { success: 0, error: 0, rejected: 0, approval_required: 0 }, maxMs: 0 };
}

/** In-memory execution counters and durations per tool source, for an exporter to read. */
export function createToolMetrics() {
  const bySource: Record<ToolSource, SourceMetrics> = { builtin: empty(), custom: empty(), plugin: empty() };
  return {
    /** Counts one call; never throws. */
    record(source: ToolSource, outcome: ToolOutcome, durationMs: number): void {
      const m = bySource[source];
      m.count += 1;
      m.byOutcome[outcome] += 1;
      m.totalMs += durationMs;
      m.msByOutcome[outcome] += durationMs;
      if (durationMs > m.maxMs) m.maxMs = durationMs;
    },
    /** A copy of the counters with the mean duration per source. */
    snapshot(): Record<ToolSource, SourceMetrics & { meanMs: number }> {
      const out = {} as Record<ToolSource, SourceMetrics & { meanMs: number }>;
      for (const [source, m] of Object.entries(bySource) as [ToolSource, SourceMetrics][]) {
        out[source] = { ...m, byOutcome: { ...m.byOutcome }, msByOutcome: { ...m.msByOutcome }, meanMs: m.count === 0 ? 0 : m.totalMs / m.count };
      }
      return out;
    },
  };
}
export type ToolMetrics = ReturnType<typeof createToolMetrics>;
