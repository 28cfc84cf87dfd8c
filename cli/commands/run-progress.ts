/** The step states a run reports, in definition order. */
export interface StepLine {
  id: string;
  status: string;
  detail?: string;
}

export interface RunBody {
  status: string;
  steps?: Record<string, { status: string; error?: string }> | { id?: string; stepId?: string; status: string; error?: string }[];
  history?: { stepId: string | null; event: string; status: string; details?: { error?: string } | null }[];
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'rolled_back', 'terminated', 'timed_out']);

/** Whether a run status is terminal. */
export function isFinal(status: string): boolean {
  return FINAL.has(status);
}

/**
 * Per-step lines from a run body: its `steps` state when present, else replayed from `history`.
 * Steps that have started come in the order they started (a stored snapshot's keys are not in
 * definition order: PostgreSQL JSONB sorts them), steps not started yet after them.
 */
export function stepLines(run: RunBody): StepLine[] {
  if (Array.isArray(run.steps)) {
    return run.steps.map((s) => ({ id: s.id ?? s.stepId ?? '?', status: s.status, detail: s.error }));
  }
  if (run.steps) {
    const started = new Map<string, number>();
    for (const row of run.history ?? []) if (row.stepId !== null && !started.has(row.stepId)) started.set(row.stepId, started.size);
    const rank = (id: string) => started.get(id) ?? Number.MAX_SAFE_INTEGER;
    return Object.entries(run.steps)
      .map(([id, s]) => ({ id, status: s.status, detail: s.error }))
      .sort((a, b) => rank(a.id) - rank(b.id));
  }
  const lines = new Map<string, StepLine>();
  for (const row of run.history ?? []) {
    if (row.stepId === null) continue;
    lines.set(row.stepId, { id: row.stepId, status: row.status, detail: row.details?.error });
  }
  return [...lines.values()];
}

/** A mark per step status (StepStatus in workflows/plan-types.ts). */
const MARK: Record<string, string> = {
  completed: '✔', failed: '✖', running: '…', pending: ' ', skipped: '-', waiting_approval: '?', cancelled: '✖', compensated: '↺', compensation_failed: '✖',
};

/** One progress line per step, e.g. `✔ fetch  completed`. */
export function renderProgress(status: string, lines: StepLine[]): string[] {
  const width = Math.max(4, ...lines.map((l) => l.id.length));
  const done = lines.filter((l) => l.status === 'completed').length;
  return [
    `run ${status} (${done}/${lines.length} steps)`,
    ...lines.map((l) => `  ${MARK[l.status] ?? '·'} ${l.id.padEnd(width)}  ${l.status}${l.detail ? `: ${l.detail}` : ''}`),
  ];
}
