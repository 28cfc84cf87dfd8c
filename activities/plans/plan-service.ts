import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { PrismaClient } from '../../platform/database';
import { AppError, notFound } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { asJson } from '../../platform/json';
import type { PlanToolStep, PlanWorkflowInput } from '../../workflows/plan-types';
import type { ToolExecutor } from '../tools/tool-executor';
import type { CreatePlanBody } from './plan-schemas';

export interface PlanServiceDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  tools: Pick<ToolExecutor, 'exists'>;
}

/** The readable, stable workflow id of run `n` of a plan. */
export function planRunWorkflowId(planId: string, runNumber: number): string {
  return `plan-${planId}-${runNumber}`;
}

/** Plan CRUD and execution; runs are Temporal workflows, the tables are their durable index. */
export function createPlanService({ prisma, temporal, taskQueue, tools }: PlanServiceDeps) {
  return {
    /** Stores a plan (version 1) with its steps; unknown tools are rejected with UNPROCESSABLE. */
    async createPlan(body: CreatePlanBody, createdBy: string) {
      const known = await Promise.all(body.steps.map((s) => tools.exists(s.tool)));
      const unknownTools = body.steps.filter((_, i) => !known[i]).map((s) => ({ stepId: s.id, tool: s.tool }));
      if (unknownTools.length > 0) throw new AppError('UNPROCESSABLE', 'plan references unknown tools', { unknownTools });
      const duplicate = body.steps.find((s, i) => body.steps.findIndex((o) => o.id === s.id) !== i);
      if (duplicate) throw new AppError('UNPROCESSABLE', `step id '${duplicate.id}' is used twice`, { stepId: duplicate.id });

      const id = newId();
      const definition = asJson({ steps: body.steps });
      return prisma.plan.create({
        data: {
          id,
          name: body.name,
          description: body.description ?? null,
          goal: body.goal ?? null,
          definition,
          createdBy,
          versions: { create: { version: 1, definition } },
          steps: {
            create: body.steps.map((s, position) => ({
              stepId: s.id, position, name: s.name ?? null, kind: s.kind, config: asJson({ tool: s.tool, args: s.args }), dependsOn: [],
            })),
          },
        },
      });
    },

    /** A plan with its latest runs; NOT_FOUND when absent. */
    async getPlan(id: string) {
      const plan = await prisma.plan.findUnique({
        where: { id },
        include: { runs: { orderBy: { runNumber: 'desc' }, take: 20 } },
      });
      if (!plan) throw notFound('plan', id);
      return plan;
    },

    /**
     * Starts run n+1 as workflow `plan-<id>-<n>` and returns at once. The run row is written
     * first and removed again if Temporal refuses the start, so no half-started run remains.
     */
    async executePlan(id: string, input: Record<string, unknown>, startedBy: string) {
      const run = await prisma.$transaction(async (tx) => {
        const plan = await tx.plan.update({ where: { id }, data: { runCount: { increment: 1 } } }).catch(() => null);
        if (!plan) throw notFound('plan', id);
        const runId = planRunWorkflowId(id, plan.runCount);
        await tx.planRun.create({
          data: { id: runId, planId: id, runNumber: plan.runCount, version: plan.version, status: 'pending', input: asJson(input), startedBy },
        });
        return { runId, plan };
      });
      const workflowInput: PlanWorkflowInput = {
        planId: id,
        runId: run.runId,
        planName: run.plan.name,
        version: run.plan.version,
        steps: (run.plan.definition as unknown as { steps: PlanToolStep[] }).steps,
        input,
        startedBy,
      };
      try {
        await temporal.workflow.start('planWorkflow', {
          taskQueue,
          workflowId: run.runId,
          args: [workflowInput],
          staticSummary: `Plan: ${run.plan.name}`,
        });
      } catch (error) {
        await prisma.planRun.delete({ where: { id: run.runId } });
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          throw new AppError('CONFLICT', `run ${run.runId} already exists`, { runId: run.runId });
        }
        throw error;
      }
      return { runId: run.runId, workflowId: run.runId, status: 'pending' as const };
    },

    /** A run with its history, oldest transition first; NOT_FOUND when absent. */
    async getRun(runId: string) {
      const run = await prisma.planRun.findUnique({
        where: { id: runId },
        include: { history: { orderBy: { createdAt: 'asc' } } },
      });
      if (!run) throw notFound('plan run', runId);
      return run;
    },
  };
}
export type PlanService = ReturnType<typeof createPlanService>;
