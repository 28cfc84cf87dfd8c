import type { PrismaClient } from '../../platform/database';
import type { PlanEventType, PlanRecordBatch } from '../../workflows/plan-types';

/** One plan_history row as the writer inserts it. */
export interface HistoryRow {
  id: string;
  stepId: string | null;
  event: PlanEventType;
  status: string;
  sequence: number;
  details?: Record<string, unknown>;
}

/** A row the write created (not one that was already there). */
export type WrittenRow = Pick<HistoryRow, 'id' | 'stepId' | 'event' | 'status'> & { details: Record<string, unknown> | null };

const FINISHED = ['completed', 'failed', 'cancelled', 'rolled_back'];

/** A history row id that sorts in sequence order within its run. */
export function historyId(runId: string, sequence: number, suffix = ''): string {
  return `${runId}:${String(sequence).padStart(9, '0')}${suffix}`;
}

/**
 * Writes plan bookkeeping as ONE SQL statement (a round trip per step instead of a transaction
 * of four): history rows and checkpoints, idempotent per id, and the run's status, which a late
 * retried write never changes once the run has ended. Returns the rows created by this call.
 */
export function createPlanHistoryWriter({ prisma }: { prisma: Pick<PrismaClient, '$queryRaw'> }) {
  return async (batch: PlanRecordBatch, rows: HistoryRow[]): Promise<WrittenRow[]> => {
    const { run } = batch;
    const state = run?.state ?? null;
    const output = state && run?.status === 'completed' ? Object.fromEntries(Object.entries(state.steps).map(([id, s]) => [id, s.output ?? null])) : null;
    const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
    return prisma.$queryRaw<WrittenRow[]>`
      WITH given AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(id text, "stepId" text, event text, status text, sequence int, details jsonb)
      ), written AS (
        INSERT INTO plan_history (id, plan_id, run_id, step_id, event, status, details, sequence)
        SELECT id, ${batch.planId}, ${batch.runId}, "stepId", event, status, details, sequence FROM given
        ON CONFLICT (id) DO NOTHING
        RETURNING id, step_id AS "stepId", event, status, details
      ), checkpoints AS (
        INSERT INTO plan_checkpoints (id, run_id, name, position, outputs)
        SELECT id, ${batch.runId}, name, position, outputs
        FROM jsonb_to_recordset(${JSON.stringify(batch.checkpoints)}::jsonb) AS c(id text, name text, position int, outputs jsonb)
        ON CONFLICT (id) DO NOTHING
      ), run AS (
        UPDATE plan_runs SET
          status = ${run?.status ?? ''},
          error = ${run?.error ?? null},
          finished_at = CASE WHEN ${FINISHED.includes(run?.status ?? '')} THEN now() END,
          state = COALESCE(${json(state)}::jsonb, state),
          output = COALESCE(${json(output)}::jsonb, output)
        WHERE ${run !== undefined} AND id = ${batch.runId} AND status NOT IN ('completed', 'failed', 'cancelled', 'rolled_back')
      )
      SELECT * FROM written ORDER BY id`;
  };
}
