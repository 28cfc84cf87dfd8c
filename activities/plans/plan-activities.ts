import type { PrismaClient } from '../../platform/database';
import { asJson } from '../../platform/json';
import type { PlanTransition, ToolStepRequest } from '../../workflows/plan-types';
import { toActivityFailure } from '../activity-failure';
import type { ToolExecutor } from '../tools/tool-executor';

export interface PlanActivityDeps {
  prisma: PrismaClient;
  tools: Pick<ToolExecutor, 'execute'>;
}

const FINISHED = new Set(['completed', 'failed']);

/** Activities the plan workflow calls: tool steps and its bookkeeping in plan_history / plan_runs. */
export function createPlanActivities({ prisma, tools }: PlanActivityDeps) {
  return {
    /** Runs one tool step; a permanent AppError becomes a non-retryable failure of the same type. */
    async runToolStep(request: ToolStepRequest): Promise<unknown> {
      try {
        return await tools.execute(request.tool, request.args, {
          requesterId: request.requesterId,
          idempotencyKey: request.idempotencyKey,
        });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Writes one plan_history row (idempotent per run+sequence) and mirrors run-level status. */
    async recordPlanTransition(t: PlanTransition): Promise<void> {
            await prisma.$transaction([
        prisma.planHistory.createMany({
          data: [{ id: `${t.runId}:${t.sequence}`, planId: t.planId, runId: t.runId, stepId: t.stepId ?? null, event: t.event, status: t.status, details: t.details === undefined ? undefined : asJson(t.details) }],
          skipDuplicates: true,
        }),
        ...(t.stepId === undefined
          ? [
              prisma.planRun.update({
                where: { id: t.runId },
                data: {
                  status: t.status,
                  finishedAt: FINISHED.has(t.status) ? new Date() : null,
                  error: typeof t.details?.error === 'string' ? t.details.error : null,
                },
              }),
            ]
          : []),
      ]);
    },
  };
}
export type PlanActivities = ReturnType<typeof createPlanActivities>;
