import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { PrismaClient } from '../../platform/database';
import { notFound } from '../../platform/errors';
import type { CompensationRequest, PlanRecordBatch, PlanWorkflowInput, SubPlanRequest, ToolStepRequest } from '../../workflows/plan-types';
import { toActivityFailure } from '../activity-failure';
import { retryWhileDatabaseUnavailable } from '../database-outage';
import { whileHeartbeating } from '../heartbeat';
import type { EventPublisher } from '../events/event-types';
import type { ToolExecutor } from '../tools/tool-executor';
import { createPlanAccess, planOwner } from './plan-access';
import { createPlanHistoryWriter, historyId, type HistoryRow } from './plan-history-writer';
import { createRunAllocator } from './plan-runs';

export interface PlanActivityDeps {
  prisma: PrismaClient;
  /** node-postgres pool for the per-step bookkeeping statement (see createPlanHistoryWriter). */
  sql: Pick<Pool, 'query'>;
  tools: Pick<ToolExecutor, 'execute'>;
  events: EventPublisher;
}

const SOURCE = 'plan-service';
/** Runs whose readers an activity process remembers when their workflow does not carry them. */
const READERS_CACHE_SIZE = 1000;

/** Activities the plan workflow calls: tool steps, compensations, sub-plan starts and bookkeeping. */
export function createPlanActivities({ prisma, sql, tools, events }: PlanActivityDeps) {
  const write = createPlanHistoryWriter({ sql });
  const allocate = createRunAllocator({ prisma });
  const access = createPlanAccess({ prisma });
  const lookedUp = new Map<string, Promise<string[]>>();
  /** The run's readers: carried by the workflow, or read once per run for runs started before it carried them. */
  const readersOf = (batch: PlanRecordBatch): Promise<string[]> => {
    if (batch.readers) return Promise.resolve(batch.readers);
    let readers = lookedUp.get(batch.runId);
    if (!readers) {
      readers = access.readersOfRun(batch.runId);
      readers.catch(() => lookedUp.delete(batch.runId)); // a failed read is tried again by the retried write
      if (lookedUp.size >= READERS_CACHE_SIZE) lookedUp.delete(lookedUp.keys().next().value as string);
      lookedUp.set(batch.runId, readers);
    }
    return readers;
  };
  /**
   * Runs a tool for the run's starter (through the run's `via`, when a trigger started it) while
   * heartbeating; a cancellation request aborts it. Permanent AppErrors become non-retryable failures.
   */
  const callTool = async (tool: string, args: Record<string, unknown>, { requesterId, via, idempotencyKey }: { requesterId: string; via?: string; idempotencyKey: string }): Promise<unknown> => {
    try {
      return await whileHeartbeating((signal) => Promise.race([retryWhileDatabaseUnavailable(() => tools.execute(tool, args, { requesterId, via, idempotencyKey, planStep: true, signal })), Context.current().cancelled]));
    } catch (error) {
      throw toActivityFailure(error);
    }
  };

  /**
   * Writes a batch (see createPlanHistoryWriter); events go out only for rows written the first
   * time, readable only by the run's readers (they carry step outputs).
   */
  const writeBatch = async (batch: PlanRecordBatch, extra: HistoryRow[]): Promise<void> => {
    const rows: HistoryRow[] = [
      ...batch.transitions.map((t) => ({ id: historyId(batch.runId, t.sequence), stepId: t.stepId ?? null, event: t.event, status: t.status, sequence: t.sequence, details: t.details })),
      ...extra,
    ];
    const [created, audience] = await Promise.all([write(batch, rows), readersOf(batch)]);
    // Run and step ends carry durationMs, which the metrics exporter turns into duration histograms.
    const durations = new Map(batch.transitions.filter((t) => t.durationMs !== undefined).map((t) => [historyId(batch.runId, t.sequence), t.durationMs!]));
    for (const row of created) {
      const durationMs = durations.get(row.id);
      events.emit(row.event, { planId: batch.planId, runId: batch.runId, stepId: row.stepId, status: row.status, details: row.details, ...(durationMs === undefined ? {} : { durationMs }) }, SOURCE, { audience });
    }
  };

  return {
    /**
     * Runs one tool step and writes the bookkeeping it carries. Every attempt leaves a
     * `plan.step_attempt` row with the idempotency key (and the redispatch count after a lost
     * worker), so retries are visible in plan_history. While PostgreSQL is unreachable it waits
     * (heartbeating) rather than failing the attempt.
     */
    async runToolStep(request: ToolStepRequest): Promise<unknown> {
      const { attempt } = Context.current().info;
      const started: HistoryRow = { id: historyId(request.runId, request.sequence), stepId: request.stepId, event: 'plan.step_started', status: 'running', sequence: request.sequence, details: { tool: request.tool } };
      const redispatch = request.redispatch ?? 0;
      const attemptRow: HistoryRow = {
        ...started,
        id: historyId(request.runId, request.sequence, `${redispatch > 0 ? `.r${redispatch}` : ''}.attempt-${attempt}`),
        event: 'plan.step_attempt',
        details: { attempt, idempotencyKey: request.idempotencyKey, ...(redispatch > 0 ? { redispatch } : {}) },
      };
      // The bookkeeping and the tool run side by side: the rows are idempotent and the tool call
      // is keyed, so an attempt that fails in either is simply retried. A PostgreSQL outage waits
      // here instead of spending the step's retry attempts.
      const [written, output] = await Promise.allSettled([
        retryWhileDatabaseUnavailable(() => writeBatch(request.batch ?? { planId: request.planId, runId: request.runId, readers: request.readers, transitions: [], checkpoints: [] }, [started, attemptRow])),
        callTool(request.tool, request.args, request),
      ]);
      if (output.status === 'rejected') throw output.reason;
      if (written.status === 'rejected') throw written.reason;
      return output.value;
    },

    /** Runs one compensation tool call with its own idempotency key. */
    async runCompensation(request: CompensationRequest): Promise<unknown> {
      return callTool(request.call.tool, request.call.args, request);
    },

    /**
     * Allocates (idempotently, keyed by parent run + step + generation, and attempt from the second
     * on) the run row of a sub-plan. The parent's plan owner must be allowed to use the child plan
     * (whoever started the run): otherwise a non-retryable FORBIDDEN, and nothing is allocated.
     */
    async prepareSubPlan(request: SubPlanRequest): Promise<PlanWorkflowInput> {
      try {
        const parent = await prisma.planRun.findUnique({ where: { id: request.parentRunId }, select: { plan: { select: { createdBy: true } } } });
        if (!parent) throw notFound('plan run', request.parentRunId);
        const attempt = request.attempt !== undefined && request.attempt > 1 ? `/attempt-${request.attempt}` : '';
        const { workflowInput } = await allocate({
          planId: request.planId,
          input: request.input,
          startedBy: request.startedBy,
          via: request.via,
          startKey: `${request.parentRunId}/${request.stepId}/${request.generation}${attempt}`,
          parentRunId: request.parentRunId,
          usableBy: planOwner(parent.plan.createdBy),
          enforceLimit: false,
          depth: request.depth,
        });
        return workflowInput;
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Writes a batch of bookkeeping (see writeBatch); idempotent. */
    async recordPlanBatch(batch: PlanRecordBatch): Promise<void> {
      await writeBatch(batch, []);
    },
  };
}
export type PlanActivities = ReturnType<typeof createPlanActivities>;
