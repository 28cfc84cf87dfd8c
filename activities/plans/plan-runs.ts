import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
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
      // A start with the same key that committed while this one waited for the lock wins, even at the run limit.
      if (req.startKey && (await tx.planRun.findUnique({ where: { startKey: req.startKey }, select: { id: true } }))) throw new StartKeyTaken();
      if (req.enforceLimit) {
        const active = await tx.planRun.count({ where: { planId: req.planId, status: { in: ACTIVE_RUN_STATUSES }, parentRunId: null } });
        if (active >= locked.maxConcurrentRuns) {
          throw new AppError('CONFLICT', `plan already has ${active} active runs (maxConcurrentRuns ${locked.maxConcurrentRuns})`, { reason: 'RUN_LIMIT', active, maxConcurrentRuns: locked.maxConcurrentRuns });
        }
      }
      const runId = planRunWorkflowId(req.planId, locked.runCount);
      await tx.planRun.create({
        data: { id: runId, planId: req.planId, runNumber: locked.runCount, version: locked.version, status: 'pending', input: asJson(req.input), startedBy: req.startedBy, startKey: req.startKey ?? null, parentRunId: req.parentRunId ?? null },
      });
      const definition = locked.definition as unknown as PlanDefinition;
      return { workflowInput: toInput(locked.name, req.planId, runId, locked.version, definition, req.input, req.startedBy, req.depth), existing: false };
    });
  } catch (error) {
    // Two starts with one key raced: the loser returns the winner's run.
    if (((error as { code?: string }).code === 'P2002' || error instanceof StartKeyTaken) && req.startKey) {
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
