import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { isUniqueViolation } from '../../platform/database-errors';
import { AppError, notFound } from '../../platform/errors';
import { CURRENT_PLAN_BEHAVIOURS } from '../../workflows/plan-behaviours';
import type { PlanWorkflowInput } from '../../workflows/plan-types';
import { assertMayUse, planOwner } from './plan-access';
import type { PlanDefinition } from './plan-schemas';

/** Run statuses that count against a plan's maxConcurrentRuns. */
export const ACTIVE_RUN_STATUSES = ['pending', 'running', 'paused', 'rolling_back'];

/** What every run id of a plan starts with (run `n` is this plus n). */
function runIdPrefix(planId: string): string {
  return `plan-${planId}-`;
}

/** The readable, stable workflow id of run `n` of a plan. */
export function planRunWorkflowId(planId: string, runNumber: number): string {
  return `${runIdPrefix(planId)}${runNumber}`;
}

export interface AllocateRunRequest {
  planId: string;
  input: Record<string, unknown>;
  startedBy: string;
  startKey?: string;
  parentRunId?: string;
  /** What the start was made through (`trigger:<id>`): recorded on the row and carried by the run, which its steps' tool calls name. */
  via?: string;
  /** Sub-plan runs belong to their parent's budget and are not limited. */
  enforceLimit: boolean;
  /** This principal must be allowed to use the plan (FORBIDDEN otherwise, nothing written): the starter of an API start, a sub-plan's parent owner. */
  usableBy?: string;
  depth?: number;
}

/** Checks run input against a plan's JSON Schema; UNPROCESSABLE with every issue when it does not fit. */
export function checkPlanInput(definition: PlanDefinition, input: Record<string, unknown>): void {
  if (!definition.inputSchema) return;
  const parsed = z.fromJSONSchema(definition.inputSchema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(input);
  if (!parsed.success) throw new AppError('UNPROCESSABLE', 'input does not match the plan input schema', { issues: parsed.error.issues });
}

type Allocation = { workflowInput: PlanWorkflowInput; existing: boolean };
type Outcome = { outcome: 'ok' | 'not_found' | 'stale' | 'start_key_taken' | 'run_limit'; run_id: string | null; name: string | null; active: number | null; max_concurrent_runs: number | null };

/** How many plans' definitions an allocator remembers (a miss costs one read). */
const DEFINITION_CACHE_SIZE = 500;

/**
 * Run allocation: reserves run n+1 of a plan and writes its `pending` row, returning the
 * workflow input. A start key already used returns that run (`existing: true`); a plan at its
 * maxConcurrentRuns throws CONFLICT; an unknown plan NOT_FOUND; a starter who may not use the plan
 * (with `usableBy`) FORBIDDEN; input that does not fit the plan's schema UNPROCESSABLE, with
 * nothing written.
 *
 * One round trip (`allocate_plan_run`, migrations 0010 and 0016) on the hot path: the input is checked
 * against a remembered definition and the function refuses ('stale') when the plan's version has
 * moved on since, so the check always matches the version the run gets. A plan's creator never
 * changes, so the access check uses the remembered one too.
 */
export function createRunAllocator({ prisma }: { prisma: PrismaClient }) {
  const definitions = new Map<string, { version: number; definition: PlanDefinition; createdBy: string | null }>();
  const readDefinition = async (planId: string) => {
    const plan = await prisma.plan.findUnique({ where: { id: planId }, select: { version: true, definition: true, createdBy: true } });
    if (!plan) throw notFound('plan', planId);
    const entry = { version: plan.version, definition: plan.definition as unknown as PlanDefinition, createdBy: plan.createdBy };
    if (definitions.size >= DEFINITION_CACHE_SIZE) definitions.delete(definitions.keys().next().value as string);
    definitions.set(planId, entry);
    return entry;
  };

  const byKey = async (req: AllocateRunRequest): Promise<Allocation | undefined> => {
    if (!req.startKey) return undefined;
    const run = await prisma.planRun.findUnique({ where: { startKey: req.startKey }, include: { plan: true } });
    if (!run) return undefined;
    if (run.planId !== req.planId) throw new AppError('CONFLICT', `start key already used for another plan`, { runId: run.id });
    const definition = ((await prisma.planVersion.findUnique({ where: { planId_version: { planId: run.planId, version: run.version } } }))?.definition ?? run.plan.definition) as unknown as PlanDefinition;
    return { workflowInput: toInput(run.plan.name, run.planId, run.id, run.version, definition, run.input as Record<string, unknown>, run.startedBy ?? req.startedBy, planOwner(run.plan.createdBy), req.depth, run.via ?? undefined), existing: true };
  };

  const attempt = async (req: AllocateRunRequest, version: number): Promise<Outcome> => {
    const [row] = await prisma.$queryRaw<Outcome[]>`
      SELECT * FROM allocate_plan_run(${req.planId}::text, ${version}::int, ${runIdPrefix(req.planId)}::text, ${JSON.stringify(req.input)}::jsonb,
        ${req.startedBy}::text, ${req.startKey ?? null}::text, ${req.parentRunId ?? null}::text, ${req.enforceLimit}::boolean,
        string_to_array(${ACTIVE_RUN_STATUSES.join(',')}::text, ','), ${req.via ?? null}::text)`;
    return row!;
  };

  return async (req: AllocateRunRequest): Promise<Allocation> => {
    let known = definitions.get(req.planId);
    let fresh = known === undefined;
    known ??= await readDefinition(req.planId);
    if (req.usableBy !== undefined) assertMayUse(req.usableBy, req.planId, known.createdBy);
    const found = await byKey(req);
    if (found) return found;
    try {
      for (let tries = 0; ; tries++) {
        try {
          checkPlanInput(known.definition, req.input);
        } catch (error) {
          // Refused by a remembered definition: the current one may accept it.
          if (fresh) throw error;
          known = await readDefinition(req.planId);
          fresh = true;
          continue;
        }
        const result = await attempt(req, known.version);
        switch (result.outcome) {
          case 'ok':
            return { workflowInput: toInput(result.name!, req.planId, result.run_id!, known.version, known.definition, req.input, req.startedBy, planOwner(known.createdBy), req.depth, req.via), existing: false };
          case 'not_found':
            definitions.delete(req.planId);
            throw notFound('plan', req.planId);
          case 'stale':
            // Edited since it was remembered (a few times in a row only under a storm of edits).
            if (tries >= 5) throw new AppError('CONFLICT', 'the plan is being edited; try again', { reason: 'PLAN_CHANGING' });
            known = await readDefinition(req.planId);
            fresh = true;
            continue;
          case 'start_key_taken':
            throw new StartKeyTaken();
          case 'run_limit':
            throw new AppError('CONFLICT', `plan already has ${result.active} active runs (maxConcurrentRuns ${result.max_concurrent_runs})`, { reason: 'RUN_LIMIT', active: result.active, maxConcurrentRuns: result.max_concurrent_runs });
        }
      }
    } catch (error) {
      // A start with the same key committed first (seen under the lock, or a unique violation from another plan's start): it wins.
      if ((isUniqueViolation(error) || error instanceof StartKeyTaken) && req.startKey) {
        const winner = await byKey(req);
        if (winner) return winner;
      }
      throw error;
    }
  };
}

/** The start key turned out to be taken by a run committed while this start waited for the lock. */
class StartKeyTaken extends Error {}

function toInput(planName: string, planId: string, runId: string, version: number, definition: PlanDefinition, input: Record<string, unknown>, startedBy: string, owner: string, depth?: number, via?: string): PlanWorkflowInput {
  return { planId, runId, planName, version, definition, input, startedBy, planOwner: owner, depth, ...(via === undefined ? {} : { via }), behaviours: CURRENT_PLAN_BEHAVIOURS };
}
