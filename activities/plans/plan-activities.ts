import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../../platform/database';
import { asJson } from '../../platform/json';
import type { CompensationRequest, PlanEventType, PlanRecordBatch, PlanWorkflowInput, SubPlanRequest, ToolStepRequest } from '../../workflows/plan-types';
import { toActivityFailure } from '../activity-failure';
import type { EventPublisher } from '../events/event-types';
import type { ToolExecutor } from '../tools/tool-executor';
import { allocateRun } from './plan-runs';

export interface PlanActivityDeps {
  prisma: PrismaClient;
  tools: Pick<ToolExecutor, 'execute'>;
  events: EventPublisher;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'rolled_back']);
const SOURCE = 'plan-service';
const HEARTBEAT_EVERY_MS = 1000;

interface HistoryRow {
  id: string;
  stepId: string | null;
  event: PlanEventType;
  status: string;
  sequence: number;
  details?: Record<string, unknown>;
}

/** A history row id that sorts in sequence order within its run. */
export function historyId(runId: string, sequence: number, suffix = ''): string {
  return `${runId}:${String(sequence).padStart(9, '0')}${suffix}`;
}

/** Activities the plan workflow calls: tool steps, compensations, sub-plan starts and bookkeeping. */
export function createPlanActivities({ prisma, tools, events }: PlanActivityDeps) {
  /** Runs a tool while heartbeating; a cancellation request aborts it. Permanent AppErrors become non-retryable failures. */
  const callTool = async (tool: string, args: Record<string, unknown>, requesterId: string, idempotencyKey: string): Promise<unknown> => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await Promise.race([tools.execute(tool, args, { requesterId, idempotencyKey, signal: ctx.cancellationSignal }), ctx.cancelled]);
    } catch (error) {
      throw toActivityFailure(error);
    } finally {
      clearInterval(beat);
    }
  };

  /**
   * Writes history rows and checkpoints and mirrors the run status in one transaction;
   * idempotent per row id, and events go out only for rows written the first time.
   */
  const writeBatch = async (batch: PlanRecordBatch, extra: HistoryRow[]): Promise<void> => {
    const rows: HistoryRow[] = [
      ...batch.transitions.map((t) => ({ id: historyId(batch.runId, t.sequence), stepId: t.stepId ?? null, event: t.event, status: t.status, sequence: t.sequence, details: t.details })),
      ...extra,
    ];
    const [created] = await prisma.$transaction([
      prisma.planHistory.createManyAndReturn({
        data: rows.map((r) => ({ ...r, planId: batch.planId, runId: batch.runId, details: r.details === undefined ? undefined : asJson(r.details) })),
        skipDuplicates: true,
      }),
      ...(batch.checkpoints.length > 0
        ? [prisma.planCheckpoint.createMany({
            data: batch.checkpoints.map((c) => ({ id: c.id, runId: batch.runId, name: c.name ?? null, position: c.position, outputs: asJson(c.outputs) })),
            skipDuplicates: true,
          })]
        : []),
      ...(batch.run
        ? [
            // updateMany so that a late, retried write never overwrites a run that has ended.
            prisma.planRun.updateMany({
              where: { id: batch.runId, status: { notIn: [...FINISHED] } },
              data: {
                status: batch.run.status,
                error: batch.run.error ?? null,
                finishedAt: FINISHED.has(batch.run.status) ? new Date() : null,
                ...(batch.run.state ? { state: asJson(batch.run.state) } : {}),
                ...(batch.run.state && batch.run.status === 'completed'
                  ? { output: asJson(Object.fromEntries(Object.entries(batch.run.state.steps).map(([id, s]) => [id, s.output ?? null]))) }
                  : {}),
              },
            }),
          ]
        : []),
    ]);
    for (const row of created) {
      events.emit(row.event, { planId: row.planId, runId: row.runId, stepId: row.stepId, status: row.status, details: row.details }, SOURCE);
    }
  };

  return {
    /**
     * Runs one tool step after writing the bookkeeping it carries. Every attempt leaves a
     * `plan.step_attempt` row with the idempotency key, so retries are visible in plan_history.
     */
    async runToolStep(request: ToolStepRequest): Promise<unknown> {
      const { attempt } = Context.current().info;
      const started: HistoryRow = { id: historyId(request.runId, request.sequence), stepId: request.stepId, event: 'plan.step_started', status: 'running', sequence: request.sequence, details: { tool: request.tool } };
      const attemptRow: HistoryRow = { ...started, id: historyId(request.runId, request.sequence, `.attempt-${attempt}`), event: 'plan.step_attempt', details: { attempt, idempotencyKey: request.idempotencyKey } };
      await writeBatch(request.batch ?? { planId: request.planId, runId: request.runId, transitions: [], checkpoints: [] }, [started, attemptRow]);
      return callTool(request.tool, request.args, request.requesterId, request.idempotencyKey);
    },

    /** Runs one compensation tool call with its own idempotency key. */
    async runCompensation(request: CompensationRequest): Promise<unknown> {
      return callTool(request.call.tool, request.call.args, request.requesterId, request.idempotencyKey);
    },

    /** Allocates (idempotently, keyed by parent run + step + generation) the run row of a sub-plan. */
    async prepareSubPlan(request: SubPlanRequest): Promise<PlanWorkflowInput> {
      try {
        const { workflowInput } = await allocateRun(prisma, {
          planId: request.planId,
          input: request.input,
          startedBy: request.startedBy,
          startKey: `${request.parentRunId}/${request.stepId}/${request.generation}`,
          parentRunId: request.parentRunId,
          enforceLimit: false,
          depth: request.depth,
        });
        return workflowInput;
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /**
     * Writes a batch of history rows and checkpoints and mirrors the run status, in one
     * transaction; idempotent per row id, and events go out only for rows written the first time.
     */
    /** Writes a batch of bookkeeping (see writeBatch); idempotent. */
    async recordPlanBatch(batch: PlanRecordBatch): Promise<void> {
      await writeBatch(batch, []);
    },
  };
}
export type PlanActivities = ReturnType<typeof createPlanActivities>;
