import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { approversOf, runReaders } from '../../workflows/plan-readers';
import type { ListPlansQuery } from './plan-schemas';

/** The principal a plan acts for: its creator, or admin when none is recorded. */
export function planOwner(createdBy: string | null): string {
  return createdBy ?? 'admin';
}

/** True when `principal` may use (read, change, run, or run as a sub-plan) a plan created by `createdBy`: its creator and admin may. */
export function mayUsePlan(principal: string, createdBy: string | null): boolean {
  return principal === 'admin' || principal === planOwner(createdBy);
}

/** FORBIDDEN unless `principal` may use plan `planId`, created by `createdBy`. */
export function assertMayUse(principal: string, planId: string, createdBy: string | null): void {
  if (!mayUsePlan(principal, createdBy)) throw new AppError('FORBIDDEN', `${principal} may not use plan '${planId}'`, { planId });
}

/**
 * Who may reach a plan and its runs through the API. A plan belongs to its creator: only they
 * and admin read, change, run or delete it (steps run as whoever starts the run, so letting
 * another principal edit a plan would let them act as its next starter). A run is readable by
 * the plan's creator, the run's starter, the approvers its version names (who may also decide its
 * approvals, as admin may by overriding them), and admin; only the creator, the starter and admin control it. Plans with no recorded creator are admin's.
 */
export function createPlanAccess({ prisma }: { prisma: Pick<PrismaClient, 'plan' | 'planRun' | 'planVersion'> }) {
  return {
    /** Resolves when `principal` may use plan `planId`; NOT_FOUND when it does not exist, FORBIDDEN when it is someone else's. */
    async assertMayUsePlan(planId: string, principal: string): Promise<void> {
      const plan = await prisma.plan.findUnique({ where: { id: planId }, select: { createdBy: true } });
      if (!plan) throw notFound('plan', planId);
      assertMayUse(principal, planId, plan.createdBy);
    },

    /** Resolves when `principal` may read run `runId` (`control`: pause, resume, cancel, checkpoint, roll back); NOT_FOUND / FORBIDDEN otherwise. */
    async assertMayUseRun(runId: string, principal: string, access: 'read' | 'control'): Promise<void> {
      const run = await prisma.planRun.findUnique({ where: { id: runId }, select: { startedBy: true, planId: true, version: true, plan: { select: { createdBy: true } } } });
      if (!run) throw notFound('plan run', runId);
      if (mayUsePlan(principal, run.plan.createdBy) || run.startedBy === principal) return;
      if (access === 'read') {
        // The approvers of the definition the run executes, not of the plan's latest version.
        const executed = await prisma.planVersion.findUnique({ where: { planId_version: { planId: run.planId, version: run.version } }, select: { definition: true } });
        if (approversOf(executed?.definition).includes(principal)) return;
      }
      throw new AppError('FORBIDDEN', `${principal} may not ${access} run '${runId}'`, { runId });
    },

    /** The principals besides admin who may read run `runId` (`runReaders`); none when it does not exist. */
    async readersOfRun(runId: string): Promise<string[]> {
      const run = await prisma.planRun.findUnique({ where: { id: runId }, select: { startedBy: true, planId: true, version: true, plan: { select: { createdBy: true } } } });
      if (!run) return [];
      const executed = await prisma.planVersion.findUnique({ where: { planId_version: { planId: run.planId, version: run.version } }, select: { definition: true } });
      return runReaders(planOwner(run.plan.createdBy), run.startedBy ?? planOwner(run.plan.createdBy), executed?.definition);
    },

    /** The list filters as `principal` may use them: anyone but admin sees only the plans they created. */
    visiblePlans(filters: ListPlansQuery, principal: string): ListPlansQuery {
      return principal === 'admin' ? filters : { ...filters, createdBy: principal };
    },
  };
}
