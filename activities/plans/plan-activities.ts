import { Context } from '@temporalio/activity';
import type { PrismaClient } from '../../platform/database';
import { notFound } from '../../platform/errors';
import { asJson } from '../../platform/json';
import type { CompensationRequest, PlanEventType, PlanRecordBatch, PlanWorkflowInput, SubPlanRequest, ToolStepRequest } from '../../workflows/plan-types';
import { toActivityFailure } from '../activity-failure';
import { retryWhileDatabaseUnavailable } from '../database-outage';
import type { EventPublisher } from '../events/event-types';
import type { ToolExecutor } from '../tools/tool-executor';
import { createPlanAccess, planOwner } from './plan-access';
import { allocateRun } from './plan-runs';

export interface PlanActivityDeps {
  prisma: PrismaClient;
  tools: Pick<ToolExecutor, 'execute'>;
  events: EventPublisher;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled', 'rolled_back']);
const RUN_END_EVENTS: ReadonlySet<string> = new Set(['plan.completed', 'plan.failed', 'plan.cancelled', 'plan.rolled_back']);
const STEP_END_EVENTS: ReadonlySet<string> = new Set(['plan.step_completed', 'plan.step_failed']);
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
  const access = createPlanAccess({ prisma });
  /** Runs a tool while heartbeating; a cancellation request aborts it. Permanent AppErrors become non-retryable failures. */
  const callTool = async (tool: string, args: Record<string, unknown>, requesterId: string, idempotencyKey: string): Promise<unknown> => {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await Promise.race([retryWhileDatabaseUnavailable(() => tools.execute(tool, args, { requesterId, idempotencyKey, signal: ctx.cancellationSignal })), ctx.cancelled]);
    } catch (error) {
      throw toActivityFailure(error);
    } finally {
      clearInterval(beat);
    }
  };

  /**
   * Durations (ms) of the run-end and step-end rows among `rows`: a run from its allocation
   * (plan_runs.started_at), a step from its latest `plan.step_started` row before the end row.
   * Rows of other events, and steps without a recorded start, get none.
   */
  const durationsOf = async (runId: string, rows: { id: string; event: string; stepId: string | null; createdAt: Date }[]): Promise<Map<string, number>> => {
    const durations = new Map<string, number>();
    const runEnds = rows.filter((r) => RUN_END_EVENTS.has(r.event));
    const stepEnds = rows.filter((r) => STEP_END_EVENTS.has(r.event) && r.stepId !== null);
    if (runEnds.length === 0 && stepEnds.length === 0) return durations;
    const [run, starts] = await Promise.all([
      runEnds.length > 0 ? prisma.planRun.findUnique({ where: { id: runId }, select: { startedAt: true } }) : null,
      stepEnds.length > 0
        ? prisma.planHistory.findMany({ where: { runId, event: 'plan.step_started', stepId: { in: stepEnds.map((r) => r.stepId!) } }, select: { stepId: true, createdAt: true }, orderBy: { createdAt: 'desc' } })
        : [],
    ]);
    for (const end of runEnds) if (run) durations.set(end.id, Math.max(0, end.createdAt.getTime() - run.startedAt.getTime()));
    for (const end of stepEnds) {
      const start = starts.find((s) => s.stepId === end.stepId && s.createdAt <= end.createdAt);
      if (start) durations.set(end.id, end.createdAt.getTime() - start.createdAt.getTime());
    }
    return durations;
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
    // Run and step ends carry durationMs, which the metrics exporter turns into duration histograms.
    // A failed lookup must not fail the activity: its retry would find the rows written and emit nothing.
    const durations = await durationsOf(batch.runId, created).catch(() => new Map<string, number>());
    for (const row of created) {
      const durationMs = durations.get(row.id);
      events.emit(row.event, { planId: row.planId, runId: row.runId, stepId: row.stepId, status: row.status, details: row.details, ...(durationMs === undefined ? {} : { durationMs }) }, SOURCE);
    }
  };

  return {
    /**
     * Runs one tool step after writing the bookkeeping it carries. Every attempt leaves a
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
      // A PostgreSQL outage waits here instead of spending the step's retry attempts.
      await retryWhileDatabaseUnavailable(() => writeBatch(request.batch ?? { planId: request.planId, runId: request.runId, transitions: [], checkpoints: [] }, [started, attemptRow]));
      return callTool(request.tool, request.args, request.requesterId, request.idempotencyKey);
    },

    /** Runs one compensation tool call with its own idempotency key. */
    async runCompensation(request: CompensationRequest): Promise<unknown> {
      return callTool(request.call.tool, request.call.args, request.requesterId, request.idempotencyKey);
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
        await access.assertMayUsePlan(request.planId, planOwner(parent.plan.createdBy));
        const attempt = request.attempt !== undefined && request.attempt > 1 ? `/attempt-${request.attempt}` : '';
        const { workflowInput } = await allocateRun(prisma, {
          planId: request.planId,
          input: request.input,
          startedBy: request.startedBy,
          startKey: `${request.parentRunId}/${request.stepId}/${request.generation}${attempt}`,
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
