import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { z } from 'zod';
import type { PrismaClient } from '../../platform/database';
import { AppError, ErrorCodes, notFound, type ErrorCode } from '../../platform/errors';
import { newId } from '../../platform/ids';
import { createKeyedSerializer } from '../../platform/keyed-serializer';
import { asJson } from '../../platform/json';
import { validatePlanGraph } from '../../workflows/plan-graph';
import { checkpointUpdate, decideUpdate, pauseUpdate, planStatusQuery, resumeUpdate, rollbackUpdate } from '../../workflows/plan-messages';
import { OwnPilotKind, OwnPilotPlanId, OwnPilotStartedBy } from '../../workflows/search-attributes';
import { TERMINAL_RUN_STATUSES, type PlanRunState, type PlanRunStatus, type StepState } from '../../workflows/plan-types';
import type { ToolExecutor } from '../tools/tool-executor';
import { createClosedRuns } from './closed-runs';
import { createPendingApprovals } from './pending-approvals';
import { createPlanAccess, mayUsePlan, planOwner } from './plan-access';
import { rebuildCheckpointOutputs } from './plan-checkpoints';
import { ACTIVE_RUN_STATUSES, createRunAllocator } from './plan-runs';
import { createPlanToolCheck } from './plan-tool-check';
import { PlanDefinition, type CreatePlanBody, type ListPlansQuery, type PlanStep, type UpdatePlanBody } from './plan-schemas';

export interface PlanServiceDeps {
  prisma: PrismaClient;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  tools: Pick<ToolExecutor, 'exists' | 'assertMayRunTool' | 'argumentIssues'>;
}

export interface ExecuteOptions {
  /** Idempotent start: a second execute with the same key returns the first run. */
  startKey?: string;
  /** The starter must be the plan's creator or admin (FORBIDDEN otherwise): API starts, and trigger firings for their creator. */
  checkAccess?: boolean;
  /** What the start was made through (`trigger:<id>`): the run row's `via`, carried by the run to its steps' tool calls and sub-plans, and in its details in the Web UI. */
  via?: string;
}

/** How long a plan's delete may take: it cascades to every run, checkpoint and history row of the plan. */
const PLAN_DELETE_TIMEOUT_MS = 60_000;
/** How long GET run waits for a live answer before falling back to the database snapshot. */
const QUERY_TIMEOUT_MS = 3000;
/** WorkflowExecutionStarted and WorkflowTaskScheduled: what a run's history holds until a worker takes its first task. */
const UNTOUCHED_HISTORY_LENGTH = 2;

/** Fields of a plan row that make up its versioned definition. */
const DEFINITION_FIELDS = ['steps', 'inputSchema', 'concurrency', 'onFailure', 'continueAsNewAfter'] as const;

/** A run that closed between the database check and the Temporal call is INVALID_STATE too. */
function closedRun(error: unknown, runId: string, action: string): unknown {
  return error instanceof WorkflowNotFoundError ? new AppError('INVALID_STATE', `run ${runId} has finished: cannot ${action}`, { runId }) : error;
}

/** Plan CRUD, execution and run control; runs are Temporal workflows, the tables are their durable index. */
export function createPlanService({ prisma, temporal, taskQueue, tools }: PlanServiceDeps) {
  // Starts of one plan queue here, not on its row lock: a burst of starts would otherwise hold
  // every pool connection waiting for that lock, and the rest fail to get one (P2028 → 500).
  const startsByPlan = createKeyedSerializer();
  const allocate = createRunAllocator({ prisma });
  const closedRuns = createClosedRuns({ prisma, temporal });
  const toolCallProblems = createPlanToolCheck({ tools });
  /** Settles the plan's active runs whose workflow closed without its end; how many were. */
  const settleActiveRuns = async (planId: string): Promise<number> => {
    const active = await prisma.planRun.findMany({ where: { planId, status: { in: ACTIVE_RUN_STATUSES } }, select: { id: true }, take: 100 });
    return (await Promise.all(active.map((r) => closedRuns.settle(r.id)))).filter(Boolean).length;
  };
  /**
   * After a failed workflow start: true when the workflow exists after all (the start went
   * through, only its answer was lost). When Temporal confirms there is none, the pending row is
   * removed, so its start key is free again; when Temporal cannot say, the row stays (a retry with
   * the start key starts that run), since deleting it could orphan a workflow that did start.
   */
  const startLanded = async (runId: string): Promise<boolean> => {
    try {
      await temporal.workflow.getHandle(runId).describe();
      return true;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) return false;
    }
    await prisma.planRun.deleteMany({ where: { id: runId, status: 'pending' } });
    return false;
  };
  /**
   * FORBIDDEN for a tool `owner` may not run; else 422 naming every problem: graph errors, unknown
   * tools, arguments a tool refuses (plan-tool-check.ts), missing sub-plans, a bad input schema,
   * `timeout`/`retry` on a step kind that cannot honour it. A sub-plan its `owner` may not use is
   * reported exactly as a missing one, so the answer never tells that someone else's plan exists.
   */
  const validateDefinition = async (definition: PlanDefinition, owner: string, selfId?: string) => {
    const toolProblems = await toolCallProblems(definition.steps, owner);
    const problems: { code: string; stepId?: string; message: string }[] = [...validatePlanGraph(definition.steps), ...toolProblems];
    for (const s of definition.steps) {
      if (s.kind === 'sub_plan') {
        if (s.planId === selfId) problems.push({ code: 'CYCLE', stepId: s.id, message: `step '${s.id}' runs its own plan` });
        else {
          const target = await prisma.plan.findUnique({ where: { id: s.planId }, select: { createdBy: true } });
          if (!target || !mayUsePlan(owner, target.createdBy)) problems.push({ code: 'UNKNOWN_PLAN', stepId: s.id, message: `step '${s.id}' runs plan '${s.planId}', which does not exist` });
        }
      }
    }
    for (const s of definition.steps) {
      if (s.timeout !== undefined && (s.kind === 'condition' || s.kind === 'approval')) {
        problems.push({ code: 'UNSUPPORTED_FIELD', stepId: s.id, message: `step '${s.id}' (${s.kind}) cannot take a timeout${s.kind === 'approval' ? ': use approvalTimeout' : ''}` });
      }
      if (s.retry !== undefined && (s.kind === 'condition' || s.kind === 'approval' || s.kind === 'wait')) {
        problems.push({ code: 'UNSUPPORTED_FIELD', stepId: s.id, message: `step '${s.id}' (${s.kind}) cannot take a retry policy` });
      }
    }
    if (definition.inputSchema) {
      try {
        z.fromJSONSchema(definition.inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
      } catch (error) {
        problems.push({ code: 'BAD_INPUT_SCHEMA', message: `inputSchema is not a usable JSON Schema: ${(error as Error).message}` });
      }
    }
    if (problems.length > 0) {
      const unknownTools = toolProblems.filter((p) => p.code === 'UNKNOWN_TOOL').map(({ stepId, tool }) => ({ stepId, tool }));
      throw new AppError('UNPROCESSABLE', problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.message).join('; ')}`, { problems, unknownTools: unknownTools.length ? unknownTools : undefined });
    }
  };

  const stepRows = (steps: PlanStep[]) =>
    steps.map((s, position) => {
      const { id, name, kind, dependsOn, ...config } = s;
      return { stepId: id, position, name: name ?? null, kind, config: asJson(config), dependsOn };
    });

  const view = <P extends { definition: unknown }>(plan: P) => ({ ...plan, definition: plan.definition as PlanDefinition });

  const handleOf = (runId: string): WorkflowHandle => temporal.workflow.getHandle(runId);

  const runRow = async (runId: string) => {
    const run = await prisma.planRun.findUnique({ where: { id: runId } });
    if (!run) throw notFound('plan run', runId);
    return run;
  };

  /** The step ids of a plan version, in definition order (none when the version is gone). */
  const stepIdsOf = async (planId: string, version: number): Promise<string[]> => {
    const stored = await prisma.planVersion.findUnique({ where: { planId_version: { planId, version } }, select: { definition: true } });
    return stored ? (stored.definition as PlanDefinition).steps.map((step) => step.id) : [];
  };

  /**
   * A run's step states keyed in definition order (a snapshot read back from PostgreSQL has
   * JSONB's key order, shortest first); without a state, every step of the version, pending.
   */
  const stepsInOrder = (ids: string[], steps: Record<string, StepState> | undefined): Record<string, StepState> => {
    if (!steps) return Object.fromEntries(ids.map((id) => [id, { status: 'pending', generation: 0 } satisfies StepState]));
    return { ...Object.fromEntries(ids.filter((id) => id in steps).map((id) => [id, steps[id]!])), ...steps };
  };

  const requireActive = async (runId: string, action: string) => {
    const run = await runRow(runId);
    if ((TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status)) {
      throw new AppError('INVALID_STATE', `run ${runId} is ${run.status}: cannot ${action}`, { runId, status: run.status });
    }
    return run;
  };

  /**
   * The error for an update that failed for a reason other than its handler's: the run was
   * cancelled or terminated under it, or its workflow closed before the update finished (409);
   * anything else is returned as it is.
   */
  const endedDuringUpdate = async (runId: string, action: string, error: WorkflowUpdateFailedError): Promise<unknown> => {
    const ended = error.cause instanceof CancelledFailure ? 'was cancelled'
      : error.cause instanceof TerminatedFailure ? 'was terminated'
      : await handleOf(runId).describe().then(({ status }) => (status.name === 'RUNNING' ? undefined : `ended (${status.name})`), () => undefined);
    return ended === undefined ? error : new AppError('INVALID_STATE', `run ${runId} ${ended} before it could ${action}`, { runId });
  };

  /** Runs a workflow update, turning a rejection by its validator into the matching AppError. */
  const update = async <R>(runId: string, action: string, call: (h: WorkflowHandle) => Promise<R>): Promise<R> => {
    await requireActive(runId, action);
    try {
      return await call(handleOf(runId));
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        const type = error.cause.type ?? '';
        const code: ErrorCode = type in ErrorCodes ? (type as ErrorCode) : 'INVALID_STATE';
        throw new AppError(code, error.cause.message, { runId });
      }
      if (error instanceof WorkflowUpdateFailedError) throw await endedDuringUpdate(runId, action, error);
      throw closedRun(error, runId, action);
    }
  };

  return {
    ...createPlanAccess({ prisma }),
    ...createPendingApprovals({ prisma }),
    /** Stores a plan as version 1 with its steps; 422 naming each problem of the definition. */
    async createPlan(body: CreatePlanBody, createdBy: string) {
      const { name, description, goal, maxConcurrentRuns, ...definition } = body;
      await validateDefinition(definition, createdBy);
      const id = newId();
      const json = asJson(definition);
      const plan = await prisma.plan.create({
        data: {
          id, name, description: description ?? null, goal: goal ?? null, definition: json, maxConcurrentRuns, createdBy,
          versions: { create: { version: 1, definition: json } },
          steps: { create: stepRows(definition.steps) },
        },
      });
      return view(plan);
    },

    /**
     * Applies changes; a change to steps or run settings stores a new version (running runs keep
     * theirs). CONFLICT (`PLAN_CHANGED`) when that change was built on a version another edit has
     * replaced (`basedOnVersion`: the version the caller read the steps from, when not this read).
     */
    async updatePlan(id: string, body: UpdatePlanBody, basedOnVersion?: number) {
      const current = await prisma.plan.findUnique({ where: { id } });
      if (!current) throw notFound('plan', id);
      const baseVersion = basedOnVersion ?? current.version;
      const touchesDefinition = DEFINITION_FIELDS.some((f) => body[f] !== undefined);
      const base = current.definition as PlanDefinition;
      const definition = touchesDefinition
        ? PlanDefinition.parse({
            ...base,
            ...Object.fromEntries(DEFINITION_FIELDS.filter((f) => body[f] !== undefined).map((f) => [f, body[f] ?? undefined])),
          })
        : base;
      // Sub-plans are checked against the plan's owner, also when admin edits it.
      if (touchesDefinition) await validateDefinition(definition, planOwner(current.createdBy), id);
      const plan = await prisma.$transaction(async (tx) => {
        // Under the plan row's lock: a definition built on a version another edit has replaced
        // meanwhile is refused rather than written over it; other fields never touch the definition.
        const [locked] = await tx.$queryRaw<{ version: number }[]>`SELECT version FROM plans WHERE id = ${id} FOR UPDATE`;
        if (!locked) throw notFound('plan', id);
        if (touchesDefinition && (locked.version !== current.version || baseVersion !== current.version)) {
          throw new AppError('CONFLICT', `plan '${id}' was changed meanwhile (now version ${locked.version}); read it again and retry`, { reason: 'PLAN_CHANGED', version: locked.version });
        }
        if (touchesDefinition) {
          const version = current.version + 1;
          await tx.planVersion.create({ data: { planId: id, version, definition: asJson(definition) } });
          await tx.planStep.deleteMany({ where: { planId: id } });
          await tx.planStep.createMany({ data: stepRows(definition.steps).map((r) => ({ ...r, planId: id })) });
        }
        return tx.plan.update({
          where: { id },
          data: {
            ...(touchesDefinition ? { version: current.version + 1, definition: asJson(definition) } : {}),
            updatedAt: new Date(),
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(body.goal !== undefined ? { goal: body.goal } : {}),
            ...(body.maxConcurrentRuns !== undefined ? { maxConcurrentRuns: body.maxConcurrentRuns } : {}),
          },
        });
      });
      return view(plan);
    },

    /** Appends a step (a new version); 422 when the result is not a valid plan. */
    async addStep(id: string, step: PlanStep) {
      const current = await prisma.plan.findUnique({ where: { id }, select: { definition: true, version: true } });
      if (!current) throw notFound('plan', id);
      return this.updatePlan(id, { steps: [...(current.definition as PlanDefinition).steps, step] }, current.version);
    },

    /** Removes a step (a new version); NOT_FOUND for an unknown step, 422 when others still depend on it. */
    async removeStep(id: string, stepId: string) {
      const current = await prisma.plan.findUnique({ where: { id }, select: { definition: true, version: true } });
      if (!current) throw notFound('plan', id);
      const steps = (current.definition as PlanDefinition).steps;
      if (!steps.some((s) => s.id === stepId)) throw notFound('step', stepId);
      return this.updatePlan(id, { steps: steps.filter((s) => s.id !== stepId) }, current.version);
    },

    /** Deletes a plan with its versions, runs and history; INVALID_STATE while a run is active. */
    async deletePlan(id: string): Promise<void> {
      const active = await prisma.planRun.count({ where: { planId: id, status: { in: ACTIVE_RUN_STATUSES } } });
      if (active > 0) await settleActiveRuns(id);
      // Counted again under the plan row's lock, which run allocation takes too: a start either
      // commits its run before this count (refused) or finds the plan gone (NOT_FOUND).
      await prisma.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM plans WHERE id = ${id} FOR UPDATE`;
        if (locked.length === 0) throw notFound('plan', id);
        const stillActive = await tx.planRun.count({ where: { planId: id, status: { in: ACTIVE_RUN_STATUSES } } });
        if (stillActive > 0) throw new AppError('INVALID_STATE', `plan '${id}' has ${stillActive} active runs; cancel them first`, { active: stillActive });
        await tx.plan.delete({ where: { id } });
      }, { timeout: PLAN_DELETE_TIMEOUT_MS });
    },

    /** A plan with its steps and latest runs; NOT_FOUND when absent. */
    async getPlan(id: string) {
      const plan = await prisma.plan.findUnique({
        where: { id },
        include: { steps: { orderBy: { position: 'asc' } }, runs: { orderBy: { runNumber: 'desc' }, take: 20, omit: { state: true } } },
      });
      if (!plan) throw notFound('plan', id);
      return view(plan);
    },

    /** Plans, newest first, optionally filtered by name/description text or creator. */
    async listPlans(filters: ListPlansQuery) {
      const plans = await prisma.plan.findMany({
        where: {
          ...(filters.search ? { OR: [{ name: { contains: filters.search, mode: 'insensitive' } }, { description: { contains: filters.search, mode: 'insensitive' } }] } : {}),
          ...(filters.createdBy ? { createdBy: filters.createdBy } : {}),
        },
        orderBy: { createdAt: 'desc' },
        take: filters.limit,
        skip: filters.offset,
      });
      return plans.map(view);
    },

    /**
     * Starts the next run as workflow `plan-<id>-<n>` and returns at once. A reused start key
     * returns the earlier run; a plan at maxConcurrentRuns is refused with CONFLICT (409); the
     * run row is removed again if Temporal confirms the start did not happen.
     */
    async executePlan(id: string, input: Record<string, unknown>, startedBy: string, options: ExecuteOptions = {}) {
      const allocateRun = () => startsByPlan.run(id, () => allocate({ planId: id, input, startedBy, startKey: options.startKey, via: options.via, usableBy: options.checkAccess ? startedBy : undefined, enforceLimit: true }));
      const { workflowInput, existing } = await allocateRun().catch(async (error: unknown) => {
        // At the run limit, a run that ended outside OwnPilot may be holding a slot: settle, then try once more.
        if (error instanceof AppError && (error.details as { reason?: string } | undefined)?.reason === 'RUN_LIMIT' && (await settleActiveRuns(id)) > 0) return allocateRun();
        throw error;
      });
      const runId = workflowInput.runId;
      if (existing) {
        const run = await runRow(runId);
        if (run.status !== 'pending') return { runId, workflowId: runId, status: run.status as PlanRunStatus, existing: true };
      }
      try {
        await temporal.workflow.start('planWorkflow', {
          taskQueue,
          workflowId: runId,
          args: [workflowInput],
          staticSummary: `Plan: ${workflowInput.planName}`,
          staticDetails: `run ${runId}, version ${workflowInput.version}, started by ${startedBy}${options.via ? ` via ${options.via}` : ''}`,
          typedSearchAttributes: [
            { key: OwnPilotPlanId, value: id },
            { key: OwnPilotKind, value: 'plan' },
            { key: OwnPilotStartedBy, value: startedBy },
          ],
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return { runId, workflowId: runId, status: 'pending' as const, existing: true };
        // The error may have lost the answer to a start Temporal accepted: then the run is on.
        if (await startLanded(runId)) return { runId, workflowId: runId, status: 'pending' as const, existing };
        throw error;
      }
      return { runId, workflowId: runId, status: 'pending' as const, existing };
    },

    /** Runs of a plan, newest first. */
    async listRuns(planId: string, limit = 50) {
      if (!(await prisma.plan.findUnique({ where: { id: planId }, select: { id: true } }))) throw notFound('plan', planId);
      return prisma.planRun.findMany({ where: { planId }, orderBy: { runNumber: 'desc' }, take: limit, omit: { state: true } });
    },

    /**
     * A run with status, per-step state, outputs, errors and progress: live from the workflow
     * query while it runs (the database snapshot if the query cannot answer), from the database once closed.
     */
    async getRun(runId: string) {
      let row = await runRow(runId);
      let state = row.state as PlanRunState | null;
      let source: 'workflow' | 'database' = 'database';
      if (!(TERMINAL_RUN_STATUSES as readonly string[]).includes(row.status)) {
        try {
          const described = await handleOf(runId).describe();
          // Closed without writing its end (terminated from the Web UI): the row is made to say so.
          // A run no worker has taken up yet (its history is the start alone) could only wait out
          // the query's deadline: its database row already says all there is.
          if (described.status.name !== 'RUNNING' && (await closedRuns.settle(runId))) row = await runRow(runId);
          else if (row.status !== 'pending' || described.historyLength > UNTOUCHED_HISTORY_LENGTH) {
            // A gRPC deadline, not a race: an unanswered query ends with it instead of lingering
            // (and throwing from a timer once the connection is closed).
            state = await temporal.workflow.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handleOf(runId).query(planStatusQuery));
            source = 'workflow';
          }
        } catch {
          // No worker answering (or not started yet): the last snapshot stands.
        }
      }
      const [checkpoints, history, stepIds] = await Promise.all([
        prisma.planCheckpoint.findMany({ where: { runId }, orderBy: { createdAt: 'asc' }, select: { id: true, name: true, position: true, createdAt: true } }),
        prisma.planHistory.findMany({ where: { runId }, orderBy: [{ sequence: 'asc' }, { id: 'asc' }] }),
        // A live state's keys are already in definition order (the workflow built it from the definition).
        source === 'workflow' && state ? [] : stepIdsOf(row.planId, row.version),
      ]);
      const { state: _omit, ...run } = row;
      const live = source === 'workflow' && state;
      // Rows of checkpoints a rollback undid stay (the chain of outputs reads through them), but they are no place to roll back to.
      const kept = state ? new Set(state.checkpoints.map((c) => c.id)) : undefined;
      return {
        ...run,
        status: (live ? state!.status : row.status) as PlanRunStatus,
        error: (live ? state!.error : undefined) ?? row.error,
        progress: state?.progress ?? 0,
        // A run no worker has picked up yet has no state: its steps are those of its version, all pending.
        steps: source === 'workflow' && state ? state.steps : stepsInOrder(stepIds, state?.steps),
        state,
        source,
        checkpoints: kept ? checkpoints.filter((c) => kept.has(c.id)) : checkpoints,
        history,
      };
    },

    /**
     * A recorded checkpoint of a run with the outputs of the steps completed at it, rebuilt from
     * the run's checkpoint rows. NOT_FOUND when the run has no such checkpoint or its bookkeeping
     * is not all written yet (it is, soon after the checkpoint is taken).
     */
    async getCheckpoint(runId: string, checkpointId: string) {
      const rows = await prisma.planCheckpoint.findMany({ where: { runId }, select: { id: true, name: true, position: true, outputs: true, createdAt: true } });
      const row = rows.find((r) => r.id === checkpointId);
      const outputs = row && rebuildCheckpointOutputs(rows, checkpointId);
      if (!row || !outputs) throw notFound('checkpoint', checkpointId);
      return { id: row.id, name: row.name, position: row.position, createdAt: row.createdAt, outputs };
    },

    /** Pauses a running run: the step in flight finishes, no new step starts. INVALID_STATE otherwise. */
    async pausePlan(runId: string, by: string) {
      return update(runId, 'pause', (h) => h.executeUpdate(pauseUpdate, { args: [{ by }] }));
    },

    /** Resumes a paused run where it stopped. INVALID_STATE unless paused. */
    async resumePlan(runId: string, by: string) {
      return update(runId, 'resume', (h) => h.executeUpdate(resumeUpdate, { args: [{ by }] }));
    },

    /** Cancels a run: the step in flight is cancelled, then compensations run newest-first. */
    async cancelPlan(runId: string): Promise<void> {
      await requireActive(runId, 'cancel');
      const handle = handleOf(runId);
      // Temporal accepts a cancel request for a closed workflow, so ask it first.
      const { status } = await handle.describe().catch((error: unknown) => {
        throw closedRun(error, runId, 'cancel');
      });
      if (status.name !== 'RUNNING') {
        await closedRuns.settle(runId);
        throw new AppError('INVALID_STATE', `run ${runId} has finished (${status.name.toLowerCase()} in Temporal): cannot cancel`, { runId });
      }
      await handle.cancel();
    },

    /** Marks a named checkpoint at the run's current position and returns it. */
    async createCheckpoint(runId: string, name: string | undefined, by: string) {
      return update(runId, 'take a checkpoint', (h) => h.executeUpdate(checkpointUpdate, { args: [{ name, by }] }));
    },

    /**
     * Cancels the tool and sub-plan steps in flight, then, with a checkpoint: compensates the steps
     * finished after it, newest first, and leaves the run paused there (resume re-runs them, and the
     * cancelled ones). Without: rolls the whole run back; it ends rolled_back.
     * 409 INVALID_STATE when the run is cancelled (or ends otherwise) before the rollback finishes.
     */
    async rollbackToCheckpoint(runId: string, checkpointId: string | undefined, by: string) {
      const state = await update(runId, 'roll back', (h) => h.executeUpdate(rollbackUpdate, { args: [{ checkpointId, by }] }));
      // A cancel that came while the rollback waited for the steps in flight ends the run instead.
      if (state.status === 'cancelled') throw new AppError('INVALID_STATE', `run ${runId} was cancelled before it could roll back`, { runId, status: state.status });
      return state;
    },

    /**
     * Approves or rejects a waiting approval step. Admin may decide a step that does not name it (the
     * run records an override); anyone else not among its approvers is FORBIDDEN (the workflow decides).
     */
    async decideStep(runId: string, stepId: string, approve: boolean, by: string, comment?: string) {
      return update(runId, approve ? 'approve' : 'reject', (h) => h.executeUpdate(decideUpdate, { args: [{ stepId, approve, by, comment }] }));
    },

    /** The plan's executions, newest first, each with its transitions in order. */
    async getPlanHistory(planId: string, limit = 20) {
      if (!(await prisma.plan.findUnique({ where: { id: planId }, select: { id: true } }))) throw notFound('plan', planId);
      return prisma.planRun.findMany({
        where: { planId },
        orderBy: { runNumber: 'desc' },
        take: limit,
        omit: { state: true },
        include: { history: { orderBy: [{ sequence: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }] } },
      });
    },
  };
}
export type PlanService = ReturnType<typeof createPlanService>;
