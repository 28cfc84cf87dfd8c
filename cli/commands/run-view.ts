import { renderProgress, stepLines, type RunBody } from './run-progress';

/**
 * What `GET /runs/:runId` answers (a stored run) and what pause, resume and rollback answer (the
 * workflow's state): both have a status and steps; only the stored run has times and history.
 */
export interface RunViewBody extends RunBody {
  id?: string;
  runId?: string;
  planId?: string;
  version?: number;
  startedBy?: string | null;
  via?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  error?: string | null;
  checkpoints?: { id: string; name?: string | null; position: number }[];
  compensations?: Compensation[];
  /** A stored run keeps the workflow's last state here, compensations included. */
  state?: { compensations?: Compensation[] } | null;
}

type Compensation = { stepId: string; status: string; error?: string };

/** A run for people: who and when, its step lines, its checkpoints (the ids `runs rollback --checkpoint` takes) and compensations. */
export function renderRun(run: RunViewBody, workflowUrl: (id: string) => string): string[] {
  const runId = run.id ?? run.runId ?? '?';
  const lines = [`run ${runId}${run.planId ? ` (plan ${run.planId}${run.version === undefined ? '' : ` v${run.version}`})` : ''}`];
  if (run.startedAt) lines.push(`started ${run.startedAt}${run.startedBy ? ` by ${run.startedBy}` : ''}${run.via ? ` via ${run.via}` : ''}`);
  if (run.finishedAt) lines.push(`finished ${run.finishedAt}`);
  if (run.error) lines.push(`error ${run.error}`);
  lines.push(`web UI ${workflowUrl(runId)}`, ...renderProgress(run.status, stepLines(run)));
  if (run.checkpoints?.length) {
    lines.push('checkpoints');
    for (const cp of run.checkpoints) lines.push(`  ${cp.id}  after ${cp.position} step${cp.position === 1 ? '' : 's'}${cp.name ? `  ${cp.name}` : ''}`);
  }
  const compensations = run.compensations ?? run.state?.compensations ?? [];
  if (compensations.length > 0) {
    lines.push('compensations (newest step first)');
    for (const c of compensations) lines.push(`  ${c.stepId}  ${c.status}${c.error ? `: ${c.error}` : ''}`);
  }
  return lines;
}
