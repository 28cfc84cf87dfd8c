import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import type { PlanWorkflowInput } from '../../workflows/plan-types';
import type { PlanDefinition } from './plan-schemas';

/** Run statuses that count against a plan's maxConcurrentRuns. */
export const ACTIVE_RUN_STATUSES = ['pending', 'running', 'paused', 'rolling_back'];

/** The readable, stable workflow id of run `n` of a plan. */
export function planRunWorkflowId(planId: string, runNumber: number): string {
  return `plan-${planId}-${runNumber}`;
}

export interface AllocateRunRequest {
  planId: string;
  input: Record<string, unknown>;
  startedBy: string;
  startKey?: string;
  parentRunId?: string;
  /** Sub-plan runs belong to their parent's budget and are not limited. */
  enforceLimit: boolean;
  depth?: number;
}

/** Checks run input against a plan's JSON Schema; UNPROCESSABLE with every issue when it does not fit. */
export function checkPlanInput(definition: PlanDefinition, input: Record<string, unknown>): void {
  if (!definition.inputSchema) return;
  const parsed = z.fromJSONSchema(definition.inputSchema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(input);
  if (!parsed.success) throw new AppError('UNPROCESSABLE', 'input does not match the plan input schema', { issues: parsed.error.issues });
}

/**
 * Reserves run n+1 of a plan and writes its `pending` row, returning the workflow input.
 * A start key already used returns that run (`existing: true`); a plan at its
 * maxConcurrentRuns throws CONFLICT; an unknown plan throws NOT_FOUND.
 */
export async function allocateRun(prisma: PrismaClient, req: AllocateRunRequest): Promise<{ workflowInput: PlanWorkflowInput; existing: boolean }> {
  const byKey = async () => {
    if (!req.startKey) return undefined;
    const run = await prisma.planRun.findUnique({ where: { startKey: req.startKey }, include: { plan: true } });
    if (!run) return undefined;
    if (run.planId !== req.planId) throw new AppError('CONFLICT', `start key already used for another plan`, { runId: run.id });
    const definition = ((await prisma.planVersion.findUnique({ where: { planId_version: { planId: run.planId, version: run.version } } }))?.definition ?? run.plan.definition) as unknown as PlanDefinition;
    return { workflowInput: toInput(run.plan.name, run.planId, run.id, run.version, definition, run.input as Record<string, unknown>, run.startedBy ?? req.startedBy, req.depth), existing: true };
  };
  const found = await byKey();
  if (found) return found;
  try {
    return await prisma.$transaction(async (tx) => {
      // The increment locks the plan row, so concurrent starts count active runs one at a time.
      const locked = await tx.plan.update({ where: { id: req.planId }, data: { runCount: { increment: 1 } } }).catch((error: { code?: string }) => {
        throw error.code === 'P2025' ? notFound('plan', req.planId) : error;
      });
      checkPlanInput(locked.definition as unknown as PlanDefinition, req.input);
      const runId = planRunWorkflowId(req.planId, locked.runCount);
      // One statement after the lock (so it sees every run committed before it): a start with the
      // same key that committed while this one waited wins, even at the run limit; otherwise the
      // limit is checked and the pending row written.
      const [outcome] = await tx.$queryRaw<{ taken: boolean; active: number; inserted: boolean }[]>`
        WITH taken AS (
          SELECT 1 FROM plan_runs WHERE ${req.startKey ?? null}::text IS NOT NULL AND start_key = ${req.startKey ?? null}::text
        ), active AS (
          SELECT count(*)::int AS n FROM plan_runs
          WHERE ${req.enforceLimit}::boolean AND plan_id = ${req.planId}::text AND status = ANY(string_to_array(${ACTIVE_RUN_STATUSES.join(',')}::text, ',')) AND parent_run_id IS NULL
        ), inserted AS (
          INSERT INTO plan_runs (id, plan_id, run_number, version, status, input, started_by, start_key, parent_run_id)
          SELECT ${runId}::text, ${req.planId}::text, ${locked.runCount}::int, ${locked.version}::int, 'pending', ${JSON.stringify(req.input)}::jsonb, ${req.startedBy}::text, ${req.startKey ?? null}::text, ${req.parentRunId ?? null}::text
          WHERE NOT EXISTS (SELECT 1 FROM taken) AND (NOT ${req.enforceLimit}::boolean OR (SELECT n FROM active) < ${locked.maxConcurrentRuns}::int)
          RETURNING 1
        )
        SELECT EXISTS (SELECT 1 FROM taken) AS taken, (SELECT n FROM active) AS active, EXISTS (SELECT 1 FROM inserted) AS inserted`;
      if (outcome!.taken) throw new StartKeyTaken();
      if (!outcome!.inserted) {
        const active = outcome!.active;
        throw new AppError('CONFLICT', `plan already has ${active} active runs (maxConcurrentRuns ${locked.maxConcurrentRuns})`, { reason: 'RUN_LIMIT', active, maxConcurrentRuns: locked.maxConcurrentRuns });
      }
      const definition = locked.definition as unknown as PlanDefinition;
      return { workflowInput: toInput(locked.name, req.planId, runId, locked.version, definition, req.input, req.startedBy, req.depth), existing: false };
    });
  } catch (error) {
    // Two starts with one key raced: the loser returns the winner's run.
    if ((isUniqueViolation(error) || error instanceof StartKeyTaken) && req.startKey) {
      const winner = await byKey();
      if (winner) return winner;
    }
    throw error;
  }
}

/** Thrown inside the allocation transaction when the start key turned out to be taken meanwhile. */
class StartKeyTaken extends Error {}

function toInput(planName: string, planId: string, runId: string, version: number, definition: PlanDefinition, input: Record<string, unknown>, startedBy: string, depth?: number): PlanWorkflowInput {
  return { planId, runId, planName, version, definition, input, startedBy, depth };
}
