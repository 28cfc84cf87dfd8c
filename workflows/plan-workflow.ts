import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlanActivities } from '../activities/plans/plan-activities';
import type { PlanStep } from '../activities/plans/plan-schemas';
import { behavioursOf } from './behaviours';
import { PLAN_BEHAVIOURS as BEHAVIOUR, type PlanBehaviour } from './plan-behaviours';
import { checkpointUpdate, decideUpdate, pauseUpdate, planStatusQuery, resumeUpdate, rollbackUpdate } from './plan-messages';
import { evaluate, parseExpression, truthy, type ExpressionScope } from './plan-expression';
import { DEFAULT_RETRY_INITIAL_MS, durationMs } from './plan-graph';
import { jsonBytes, runOutputBudget, TEMPORAL_PAYLOAD_LIMIT_BYTES } from './plan-outputs';
import { resolveTemplates } from './plan-template';
import { approvalRight, runReaders } from './plan-readers';
import { createReadySteps } from './ready-steps';
import { OwnPilotKind, OwnPilotPlanId, OwnPilotStartedBy } from './search-attributes';
import type {
  CheckpointRecord,
  CheckpointRef,
  DecisionRequest,
  PlanRecordBatch,
  PlanRunState,
  PlanRunStatus,
  PlanTransition,
  PlanWorkflowInput,
  StepState,
  SubPlanRequest,
} from './plan-types';

/** Bookkeeping runs as a local activity: no task-queue round trip per write. */
const { recordPlanBatch } = proxyLocalActivities<PlanActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '200 milliseconds' } });
const { prepareSubPlan } = proxyActivities<PlanActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5 } });

const MAX_SUB_PLAN_DEPTH = 5;
/** Bookkeeping above this many JSON bytes does not ride in a tool activity's input (Temporal payloads are at most 2 MiB). */
const MAX_CARRIED_BATCH_BYTES = 256 * 1024;
const HEARTBEAT_TIMEOUT_MS = 5000;

/**
 * A tool step or compensation whose last attempt timed out on its heartbeat lost its worker (the
 * activity heartbeats every second whatever the tool does), not its tool: it is dispatched again
 * with the same idempotency key and a fresh retry budget, at most this many times.
 */
const MAX_WORKER_LOSS_REDISPATCHES = 5;

/** True when an activity's final failure was a heartbeat timeout (its worker died or stalled). */
function lostWithItsWorker(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof TimeoutFailure && error.cause.timeoutType === 'HEARTBEAT';
}

/** Runs `dispatch(0)`, and again with 1, 2, ... while it failed by losing its worker (at most MAX_WORKER_LOSS_REDISPATCHES times). */
async function redispatchOnWorkerLoss<T>(has: (behaviour: PlanBehaviour) => boolean, dispatch: (redispatch: number) => Promise<T>): Promise<T> {
  for (let redispatch = 0; ; redispatch++) {
    try {
      return await dispatch(redispatch);
    } catch (error) {
      // has() last: histories from before this behaviour never reach it, so they replay unchanged.
      if (redispatch >= MAX_WORKER_LOSS_REDISPATCHES || !lostWithItsWorker(error) || !has(BEHAVIOUR.workerLoss)) throw error;
    }
  }
}

/** A step's retry policy in milliseconds, with the defaults tool steps always had (3 attempts, 1 s, ×2; the cap is Temporal's 100× the first interval when unset). */
function retryPolicyOf(retry: PlanStep['retry']) {
  const initialInterval = retry?.initialInterval === undefined ? DEFAULT_RETRY_INITIAL_MS : durationMs(retry.initialInterval);
  return {
    maximumAttempts: retry?.maximumAttempts ?? 3,
    initialInterval,
    backoffCoefficient: retry?.backoffCoefficient ?? 2,
    maximumInterval: retry?.maximumInterval === undefined ? undefined : durationMs(retry.maximumInterval),
  };
}

/**
 * True when a failed sub-plan attempt may be tried again: the child failed, rolled back or timed out.
 * Never a cancellation (of the parent or of the child) nor a failure of prepareSubPlan (nesting,
 * FORBIDDEN, unknown plan: it has its own activity retries).
 */
function retryableSubPlanFailure(error: unknown): boolean {
  return !isCancellation(error) && !(error instanceof ActivityFailure);
}

/** A decision as the run keeps it: one admin made on a step that does not name it is marked an override. */
type Decision = DecisionRequest & { override?: true };

const invalidState = (message: string) => ApplicationFailure.create({ type: 'INVALID_STATE', message, nonRetryable: true });

/** The failure of a step that stopped waiting because the run is rolling back or failing. */
const interruption = (what: string) => ApplicationFailure.create({ type: 'INTERRUPTED', message: `${what} interrupted by a rollback or a failing run`, nonRetryable: true });

/** True for the failure `interruption` creates. */
function isInterruption(error: unknown): boolean {
  return error instanceof ApplicationFailure && error.type === 'INTERRUPTED';
}

function errorMessage(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(error);
}

/**
 * Runs a plan's step graph: ready steps start in parallel up to the plan's concurrency, each
 * tool step as an activity; every transition lands in plan_history in sequence order.
 */
export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanRunState> {
  const { planId, runId, definition } = input;
  const info = workflowInfo();
  const has = behavioursOf<PlanBehaviour>(input.behaviours);
  // The tool calls and sub-plans of a run started through a trigger name it. Only activity inputs
  // change (no command does), so runs recorded without `via` replay unchanged: no behaviour flag.
  const via = input.via === undefined ? {} : { via: input.via };
  const steps = definition.steps;
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state: PlanRunState = input.carried?.state ?? {
    planId,
    runId,
    version: input.version,
    status: 'running',
    steps: Object.fromEntries(steps.map((s) => [s.id, { status: 'pending', generation: 0 } satisfies StepState])),
    order: [],
    completedSteps: 0,
    totalSteps: steps.length,
    progress: 0,
    checkpoints: [],
    compensations: [],
  };
  const readySteps = createReadySteps(steps, (id) => state.steps[id]!.status);
  let sequence = input.carried?.sequence ?? 0;
  let checkpointCounter = input.carried?.checkpointCounter ?? 0;
  let paused = input.carried?.paused ?? false;
  let tick = 0;
  let stop: 'fail' | 'rollback' | undefined;
  let rollbackTo: { position: number; checkpointId?: string } | undefined;
  const skipRequested = new Set<string>(input.carried?.skipRequested ?? []);
  /** Which skip requests each completed condition made: a rollback keeps those of the conditions it does not undo. */
  const skipsByCondition = new Map<string, string[]>(Object.entries(input.carried?.skipsByCondition ?? {}));
  const inflight = new Set<string>();
  /** The scope of each tool and sub-plan step in flight, which a rollback cancels. */
  const cancellableSteps = new Map<string, CancellationScope>();
  const decisions = new Map<string, Decision>();
  const finishedAtStart = state.order.length;
  // Durations use the workflow's clock (new Date() is deterministic in the sandbox).
  const startedAt = input.carried?.startedAt ?? info.runStartTime.getTime();
  const elapsedSince = (t: number) => new Date().getTime() - t;

  // ---- bookkeeping: batched, serialized, never blocking the next step ----
  // Who may read the run's events; a run started without planOwner leaves it to the activity to look up.
  const readers = input.planOwner === undefined ? undefined : runReaders(input.planOwner, input.startedBy, definition);
  let pending: PlanRecordBatch = { planId, runId, readers, transitions: [], checkpoints: [] };
  let chain: Promise<void> = Promise.resolve();
  let flushesQueued = 0;
  const flush = (): Promise<void> => {
    if (pending.transitions.length === 0 && pending.checkpoints.length === 0 && !pending.run) return chain;
    const batch = pending;
    pending = { planId, runId, readers, transitions: [], checkpoints: [] };
    flushesQueued++;
    // Non-cancellable: a cancelled run still records how it ended.
    chain = chain.then(() => CancellationScope.nonCancellable(() => recordPlanBatch(batch))).finally(() => {
      flushesQueued--;
    });
    return chain;
  };
  /**
   * Hands the pending bookkeeping to the tool activity about to start, which writes it first:
   * one activity per step instead of two. The run status stays behind while a flush is queued,
   * so status writes keep their order.
   */
  const takePending = (): PlanRecordBatch | undefined => {
    if (pending.transitions.length === 0 && pending.checkpoints.length === 0 && (!pending.run || flushesQueued > 0)) return undefined;
    // A batch holding large outputs is written by its own local activity (an input that stays out
    // of the history) so the tool's input keeps under Temporal's payload limit. has() last.
    if (jsonBytes(pending) > MAX_CARRIED_BATCH_BYTES && has(BEHAVIOUR.payloadLimits)) {
      void flush();
      return undefined;
    }
    const batch = pending;
    pending = { planId, runId, readers, transitions: [], checkpoints: [], run: flushesQueued > 0 ? batch.run : undefined };
    return flushesQueued > 0 ? { ...batch, run: undefined } : batch;
  };
  /** Puts bookkeeping back when the activity that carried it failed (rows are idempotent). */
  const restore = (batch: PlanRecordBatch | undefined) => {
    if (!batch) return;
    pending.transitions.unshift(...batch.transitions);
    pending.checkpoints.unshift(...batch.checkpoints);
    pending.run ??= batch.run;
  };
  const nextSequence = () => sequence++;
  const record = (t: Omit<PlanTransition, 'sequence'>, runStatus?: PlanRunStatus) => {
    pending.transitions.push({ sequence: nextSequence(), ...t });
    if (runStatus) pending.run = { status: runStatus, error: state.error };
  };
  const outputs = () =>
    Object.fromEntries(Object.entries(state.steps).filter(([, s]) => s.status === 'completed').map(([id, s]) => [id, s.output ?? null]));
  // outputBytesAt[i]: JSON bytes of the outputs of the completed steps among order[0..i), which
  // may not exceed outputBudget; cut back to order's length after a rollback shortened it.
  const outputBudget = runOutputBudget(input);
  const outputBytesAt = [0];
  for (const id of state.order) outputBytesAt.push(outputBytesAt[outputBytesAt.length - 1]! + (state.steps[id]!.status === 'completed' ? jsonBytes(state.steps[id]!.output) : 0));
  const outputBytesSoFar = (): number => {
    if (outputBytesAt.length > state.order.length + 1) outputBytesAt.length = state.order.length + 1;
    return outputBytesAt[state.order.length]!;
  };
  /** The scopes of the tool and sub-plan steps in flight but `except`: cancelling one ends its step cancelled (runStep). */
  const scopesInFlight = (except?: string): CancellationScope[] => [...cancellableSteps].filter(([id]) => id !== except).map(([, scope]) => scope);
  /**
   * Stops the run because step `failed` failed: no step starts from now on, and the run fails or
   * rolls back once its steps in flight end. A rollback cancels the tool and sub-plan steps in
   * flight, as the rollback update does (a behaviour: before, it let them end; has() only when
   * there is one, so recorded runs replay unchanged).
   */
  const stopFor = (failed: string, how: 'fail' | 'rollback', error: string) => {
    stop = how;
    state.error = error;
    const scopes = scopesInFlight(failed);
    if (how === 'rollback' && scopes.length > 0 && has(BEHAVIOUR.failureRollbackCancelsInFlight)) for (const scope of scopes) scope.cancel();
  };
  /** The OUTPUT_LIMIT failure of a step whose output of `bytes` would take the run past its output budget; the run stops (rolls back on onFailure rollback), whatever else the step's onFailure says. */
  const outputLimitExceeded = (step: PlanStep, bytes: number) => {
    const message =
      `its output (${bytes} bytes) would take this run's step outputs to ${outputBytesSoFar() + bytes} bytes, past its limit of ${outputBudget} bytes ` +
      `(MAX_RUN_OUTPUT_BYTES, less what the definition and input take: the run carries every output in Temporal payloads of at most ${TEMPORAL_PAYLOAD_LIMIT_BYTES} bytes)`;
    if (!stop) stopFor(step.id, (step.onFailure ?? definition.onFailure) === 'rollback' ? 'rollback' : 'fail', `step ${step.id} failed: ${message}`);
    return ApplicationFailure.create({ type: 'OUTPUT_LIMIT', message, nonRetryable: true });
  };
  /**
   * Records a checkpoint at the current position. Its record names the checkpoint before it and
   * holds only the outputs of the steps finished since: a run's checkpoints add up to its outputs
   * once, not once per checkpoint (which made bookkeeping grow with the square of the steps).
   */
  const takeCheckpoint = (name?: string): CheckpointRef => {
    const cp: CheckpointRef = { id: `${runId}:cp:${++checkpointCounter}`, ...(name === undefined ? {} : { name }), position: state.order.length };
    // The last checkpoint has the highest position: a rollback keeps only those at or before its target.
    const previous = state.checkpoints[state.checkpoints.length - 1];
    const since = state.order.slice(previous?.position ?? 0, cp.position).filter((id) => state.steps[id]!.status === 'completed');
    const record: CheckpointRecord = { ...cp, ...(previous ? { since: previous.id } : {}), outputs: Object.fromEntries(since.map((id) => [id, state.steps[id]!.output ?? null])) };
    state.checkpoints.push(cp);
    pending.checkpoints.push(record);
    return cp;
  };
  const scope = (): ExpressionScope => ({ input: input.input, steps: state.steps });
  const setStatus = (status: PlanRunStatus) => {
    state.status = status;
  };
  const bump = () => {
    tick++;
  };
  /** Ends a step (`outputBytes`: the size of a completed step's output) and, unless skipped, checkpoints the run after it. */
  const finish = (id: string, status: 'completed' | 'failed' | 'skipped', outputBytes = 0) => {
    state.steps[id]!.status = status;
    const bytesBefore = outputBytesSoFar();
    state.order.push(id);
    outputBytesAt.push(bytesBefore + outputBytes);
    if (status === 'completed') state.completedSteps++;
    state.progress = state.order.length / state.totalSteps;
    if (status !== 'skipped') takeCheckpoint();
    readySteps.finished(id);
    bump();
  };

  // ---- handlers ----
  /** What keeps the run from taking a pause, resume or rollback now (undefined when nothing does). */
  const underWay = (): string | undefined => {
    if (TERMINAL(state.status)) return undefined;
    if (rollbackTo) return `a rollback to checkpoint '${rollbackTo.checkpointId}' is under way (the run pauses there once its steps in flight end)`;
    if (stop === 'rollback') return 'a rollback of the whole run is under way';
    if (stop === 'fail') return `the run is failing (${state.error ?? 'a step failed'}) and ends once its steps in flight end`;
    return undefined;
  };
  setHandler(planStatusQuery, () => state);
  setHandler(
    pauseUpdate,
    ({ by }) => {
      paused = true;
      setStatus('paused');
      record({ event: 'plan.paused', status: 'paused', details: { by, inFlight: [...inflight] } }, 'paused');
      void flush();
      bump();
      return state;
    },
    { validator: (_: { by: string }) => {
      const busy = underWay();
      if (busy) throw invalidState(`${busy}: cannot pause`);
      if (state.status !== 'running') throw invalidState(`run is ${state.status}, only a running run can be paused`);
    } },
  );
  setHandler(
    resumeUpdate,
    ({ by }) => {
      paused = false;
      setStatus('running');
      record({ event: 'plan.resumed', status: 'running', details: { by } }, 'running');
      void flush();
      bump();
      return state;
    },
    { validator: (_: { by: string }) => {
      const busy = underWay();
      if (busy) throw invalidState(`${busy}: cannot resume`);
      if (state.status !== 'paused') throw invalidState(`run is ${state.status}, only a paused run can be resumed`);
    } },
  );
  setHandler(
    checkpointUpdate,
    ({ name, by }) => {
      const cp = takeCheckpoint(name);
      record({ event: 'plan.checkpoint', status: state.status, details: { checkpointId: cp.id, name, by } });
      void flush();
      return cp;
    },
    { validator: (_: { name?: string; by: string }) => {
      if (state.status !== 'running' && state.status !== 'paused') throw invalidState(`run is ${state.status}: no checkpoint can be taken`);
    } },
  );
  setHandler(
    rollbackUpdate,
    async ({ checkpointId, by }) => {
      const position = checkpointId === undefined ? 0 : state.checkpoints.find((c) => c.id === checkpointId)!.position;
      // The status says so at once: no step starts from now on, and those in flight are awaited.
      if (checkpointId === undefined) {
        stop = 'rollback';
        setStatus('rolling_back');
      } else {
        rollbackTo = { position, checkpointId };
        paused = true;
        setStatus('paused');
      }
      record({ event: 'plan.rollback_requested', status: state.status, details: { checkpointId, by } }, state.status);
      // Steps in flight are stopped rather than awaited (they end cancelled: runStep).
      for (const scope of scopesInFlight()) scope.cancel();
      bump();
      try {
        await condition(() => (checkpointId === undefined ? TERMINAL(state.status) : rollbackTo === undefined));
      } catch (error) {
        // Cancelled before the rollback finished: answers with the run as the cancellation ends it
        // (has() only then: recorded runs, whose update failed here, replay unchanged).
        if (!isCancellation(error) || !has(BEHAVIOUR.rollbackSettlesOnCancel)) throw error;
        await CancellationScope.nonCancellable(() => condition(() => TERMINAL(state.status)));
      }
      return state;
    },
    { validator: ({ checkpointId }) => {
      const busy = underWay();
      if (busy) throw invalidState(`${busy}: cannot roll back`);
      if (state.status !== 'running' && state.status !== 'paused') throw invalidState(`run is ${state.status}: nothing to roll back`);
      if (checkpointId !== undefined && !state.checkpoints.some((c) => c.id === checkpointId)) {
        throw ApplicationFailure.create({ type: 'NOT_FOUND', message: `checkpoint '${checkpointId}' does not exist in this run`, nonRetryable: true });
      }
    } },
  );
  setHandler(
    decideUpdate,
    async (decision) => {
      const step = byId.get(decision.stepId)!;
      // Admin deciding a step that does not name it overrides its approvers (validators do not run on
      // replay, so only the mark needs a behaviour; has() only then: recorded runs never decided so).
      const override = step.kind === 'approval' && approvalRight(step.approvers, decision.by) === 'override' && has(BEHAVIOUR.adminOverridesApprovals);
      decisions.set(decision.stepId, override ? { ...decision, override } : decision);
      bump();
      await condition(() => state.steps[decision.stepId]!.status !== 'waiting_approval');
      return state.steps[decision.stepId]!;
    },
    { validator: ({ stepId, by }) => {
      const step = byId.get(stepId);
      if (!step) throw ApplicationFailure.create({ type: 'NOT_FOUND', message: `step '${stepId}' does not exist in this run`, nonRetryable: true });
      if (step.kind !== 'approval') throw invalidState(`step '${stepId}' is a ${step.kind} step, not an approval: there is nothing to decide`);
      if (state.steps[stepId]!.status !== 'waiting_approval' || decisions.has(stepId)) {
        throw invalidState(`step '${stepId}' is ${state.steps[stepId]!.status}, not waiting for approval`);
      }
      if (approvalRight(step.approvers, by) === undefined) {
        throw ApplicationFailure.create({ type: 'FORBIDDEN', message: `${by} may not decide step '${stepId}'`, nonRetryable: true });
      }
    } },
  );

  // ---- steps ----
  /** True once a rollback or a failing run makes steps that wait (approvals, waits) stop waiting. */
  const interrupting = () => stop !== undefined || rollbackTo !== undefined;

  /**
   * Sleeps `ms` (a timer, as `sleep` does); true when `interrupting()` came first and cancelled the
   * timer. The run's own cancellation is rethrown.
   */
  const sleepUnlessInterrupted = async (ms: number): Promise<boolean> => {
    const timer = new CancellationScope();
    let slept = false;
    // has() only once something interrupts: histories from before it slept on, and replay unchanged.
    void condition(() => slept || interrupting()).then(
      () => {
        if (!slept && has(BEHAVIOUR.interruptibleWait)) timer.cancel();
      },
      () => undefined,
    );
    try {
      await timer.run(() => sleep(ms));
      return false;
    } catch (error) {
      if (isCancellation(error) && !CancellationScope.current().consideredCancelled) return true;
      throw error;
    } finally {
      slept = true;
    }
  };

  const runStep = async (step: PlanStep): Promise<void> => {
    const st = state.steps[step.id]!;
    st.status = 'running';
    delete st.error;
    const startSeq = nextSequence();
    const key = `${info.workflowId}/${step.id}/${st.generation}`;
    const began = new Date().getTime();
    if (step.kind !== 'tool') pending.transitions.push({ sequence: startSeq, stepId: step.id, event: 'plan.step_started', status: 'running', details: { kind: step.kind } });
    // A rollback cancels a tool or sub-plan step in flight (a behaviour: before, it waited for it).
    const stepScope = (step.kind === 'tool' || step.kind === 'sub_plan') && has(BEHAVIOUR.rollbackCancelsInFlight) ? new CancellationScope() : undefined;
    if (stepScope) cancellableSteps.set(step.id, stepScope);
    try {
      const output = stepScope ? await stepScope.run(() => executeStep(step, st, startSeq, key)) : await executeStep(step, st, startSeq, key);
      const bytes = jsonBytes(output);
      // has() last: runs recorded before the limit never reach it.
      if (outputBytesSoFar() + bytes > outputBudget && has(BEHAVIOUR.payloadLimits)) throw outputLimitExceeded(step, bytes);
      st.output = output;
      finish(step.id, 'completed', bytes);
      record({ stepId: step.id, event: 'plan.step_completed', status: 'completed', details: { output: st.output }, durationMs: elapsedSince(began) });
    } catch (error) {
      // Cancelled by a rollback (not by the run's cancellation), or a wait or approval interrupted
      // by a whole-run rollback (a behaviour: before, it failed and was checkpointed; has() last):
      // it did not complete, so it has nothing to compensate. A rollback to a checkpoint puts it
      // back to pending, to run again on resume as a new generation (a new idempotency key).
      const cancelledByRollback = isCancellation(error) && stepScope?.consideredCancelled === true && !CancellationScope.current().consideredCancelled;
      if (cancelledByRollback || (stop === 'rollback' && isInterruption(error) && has(BEHAVIOUR.rollbackCancelsWaits))) {
        const details = { by: 'rollback', checkpointId: rollbackTo?.checkpointId };
        if (rollbackTo !== undefined && !stop) {
          state.steps[step.id] = { status: 'pending', generation: st.generation + 1 };
          readySteps.requeued(step.id);
        } else {
          st.status = 'cancelled';
        }
        record({ stepId: step.id, event: 'plan.step_cancelled', status: state.steps[step.id]!.status, details, durationMs: elapsedSince(began) });
        bump();
        return;
      }
      // Only the run's own cancellation cancels a step; a child run cancelled by someone else fails
      // it (a behaviour: before, such a step was left 'cancelled' and the run never ended).
      if (isCancellation(error) && (CancellationScope.current().consideredCancelled || !has(BEHAVIOUR.cancelledFromOutside))) {
        st.status = 'cancelled';
        record({ stepId: step.id, event: 'plan.step_cancelled', status: 'cancelled' });
        throw error;
      }
      // A step in flight when a rollback to a checkpoint was asked finishes after that checkpoint,
      // so the rollback undoes it: interrupted, it is pending again; failed, its onFailure decides
      // nothing (it would fail or roll back the run the caller asked to pause at the checkpoint).
      const undoneByRollback = rollbackTo !== undefined && !stop && has(BEHAVIOUR.rollbackResetsInterrupted);
      if (undoneByRollback && isInterruption(error)) {
        state.steps[step.id] = { status: 'pending', generation: st.generation + 1 };
        readySteps.requeued(step.id);
        record({ stepId: step.id, event: 'plan.step_interrupted', status: 'pending', details: { by: 'rollback', checkpointId: rollbackTo?.checkpointId }, durationMs: elapsedSince(began) });
        bump();
        return;
      }
      st.error = isCancellation(error) ? 'cancelled outside this run (its sub-plan was cancelled on its own)' : errorMessage(error);
      finish(step.id, 'failed');
      const onFailure = step.onFailure ?? definition.onFailure;
      record({ stepId: step.id, event: 'plan.step_failed', status: 'failed', details: { error: st.error, onFailure }, durationMs: elapsedSince(began) });
      if (onFailure !== 'continue' && !stop && !undoneByRollback) stopFor(step.id, onFailure, `step ${step.id} failed: ${st.error}`);
    } finally {
      inflight.delete(step.id);
      cancellableSteps.delete(step.id);
    }
  };

  const executeStep = async (step: PlanStep, st: StepState, startSeq: number, key: string): Promise<unknown> => {
    const timeout = step.timeout === undefined ? undefined : durationMs(step.timeout);
    switch (step.kind) {
      case 'tool': {
        const args = resolveTemplates(step.args, scope()) as Record<string, unknown>;
        const { runToolStep } = proxyActivities<PlanActivities>({
          startToCloseTimeout: timeout ?? 5 * 60_000,
          heartbeatTimeout: Math.min(timeout ?? HEARTBEAT_TIMEOUT_MS, HEARTBEAT_TIMEOUT_MS),
          cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
          retry: retryPolicyOf(step.retry),
          summary: step.name ?? `${step.id}: ${step.tool}`,
        });
        const batch = takePending();
        try {
          return await redispatchOnWorkerLoss(has, (redispatch) =>
            runToolStep({ planId, runId, stepId: step.id, tool: step.tool, args, requesterId: input.startedBy, ...via, idempotencyKey: key, sequence: startSeq, batch, readers, ...(redispatch > 0 ? { redispatch } : {}) }),
          );
        } catch (error) {
          restore(batch);
          throw error;
        }
      }
      case 'wait': {
        // new Date() is the workflow's deterministic clock inside the sandbox.
        const ms = step.duration !== undefined ? durationMs(step.duration) : Date.parse(step.until!) - new Date().getTime();
        // A wait that would outlast the step's timeout fails when the timeout expires. has() last:
        // histories recorded before it slept the whole wait.
        // A rollback or a failing run interrupts it, as it does an approval.
        if (timeout !== undefined && ms > timeout && has(BEHAVIOUR.waitTimeout)) {
          if (await sleepUnlessInterrupted(timeout)) throw interruption('wait');
          throw ApplicationFailure.create({ type: 'TIMEOUT', message: `wait of ${ms} ms timed out after ${timeout} ms`, nonRetryable: true });
        }
        if (ms > 0 && (await sleepUnlessInterrupted(ms))) throw interruption('wait');
        return { waitedMs: Math.max(0, ms) };
      }
      case 'condition': {
        const result = truthy(evaluate(parseExpression(step.expression), scope()));
        const unchosen = result ? step.else : step.then;
        for (const id of unchosen) skipRequested.add(id);
        skipsByCondition.set(step.id, unchosen);
        return { result };
      }
      case 'approval': {
        st.status = 'waiting_approval';
        record({ stepId: step.id, event: 'plan.approval_required', status: 'waiting_approval', details: { approvers: step.approvers, message: step.message } });
        void flush();
        // A rollback or a failing run does not wait for a decision that no longer matters.
        const decided = await condition(() => decisions.has(step.id) || interrupting(), durationMs(step.approvalTimeout));
        if (decided && !decisions.has(step.id)) throw interruption('approval');
        const decision: Decision = decided ? decisions.get(step.id)! : { stepId: step.id, approve: step.onTimeout === 'approve', by: 'timeout' };
        st.status = 'running';
        st.decidedBy = decision.by;
        // An override names the approvers it overrode, so the audit trail reads whole from one row.
        const override = decision.override ? { override: true, approvers: step.approvers } : {};
        record({ stepId: step.id, event: decision.approve ? 'plan.step_approved' : 'plan.step_rejected', status: 'running', details: { by: decision.by, comment: decision.comment, ...override } });
        const rejectedBy = `rejected by ${decision.by}${decision.override ? `, overriding ${step.approvers.join(', ')}` : ''}`;
        if (!decision.approve) throw ApplicationFailure.create({ type: 'REJECTED', message: decided ? rejectedBy : 'approval timed out', nonRetryable: true });
        return { approved: true, by: decision.by, comment: decision.comment ?? null };
      }
      case 'sub_plan': {
        const depth = (input.depth ?? 0) + 1;
        if (depth > MAX_SUB_PLAN_DEPTH) throw ApplicationFailure.create({ type: 'UNPROCESSABLE', message: `sub-plans nest deeper than ${MAX_SUB_PLAN_DEPTH}`, nonRetryable: true });
        const request: SubPlanRequest = {
          planId: step.planId,
          parentRunId: runId,
          stepId: step.id,
          generation: st.generation,
          input: resolveTemplates(step.input, scope()) as Record<string, unknown>,
          startedBy: input.startedBy,
          ...via,
          depth,
        };
        // has() only for a step with a retry policy: histories of steps without one replay unchanged.
        if (step.retry === undefined || !has(BEHAVIOUR.subPlanRetry)) return runSubPlan(request, timeout);
        // Each attempt is a child run of its own (its own start key), bounded by the step's timeout.
        const policy = retryPolicyOf(step.retry);
        let previousError: string | undefined;
        for (let attempt = 1; ; attempt++) {
          try {
            return await runSubPlan(attempt > 1 ? { ...request, attempt } : request, timeout, (childRunId) => {
              record({ stepId: step.id, event: 'plan.step_attempt', status: 'running', details: { attempt, childRunId, ...(previousError === undefined ? {} : { previousError }) } });
              void flush();
            });
          } catch (error) {
            // A run that is failing or rolling back starts no new attempt (a pause lets the step
            // finish, retries included, as it does a tool step's; a rollback cancels it).
            if (attempt >= policy.maximumAttempts || !retryableSubPlanFailure(error) || stop !== undefined) throw error;
            previousError = errorMessage(error);
            const interval = policy.initialInterval * policy.backoffCoefficient ** (attempt - 1);
            // Waits out the interval unless the run starts failing meanwhile.
            if (await condition(() => stop !== undefined, Math.min(interval, policy.maximumInterval ?? 100 * policy.initialInterval))) throw error;
          }
        }
      }
    }
  };

  /**
   * Allocates a child run (prepareSubPlan), calls `started` with its id, and runs it to its end;
   * `timeout` bounds it (the child is cancelled, its compensations run, the step fails). A child
   * that did not complete fails the step.
   */
  const runSubPlan = async (request: SubPlanRequest, timeout: number | undefined, started?: (childRunId: string) => void): Promise<unknown> => {
    const childInput = await prepareSubPlan(request);
    started?.(childInput.runId);
    const runChild = () => executeChild(planWorkflow, {
      workflowId: childInput.runId,
      args: [childInput],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `Plan: ${childInput.planName} (sub-plan of ${runId})`,
      typedSearchAttributes: [
        { key: OwnPilotPlanId, value: childInput.planId },
        { key: OwnPilotKind, value: 'plan' },
        { key: OwnPilotStartedBy, value: `plan:${runId}` },
      ],
    });
    // A behaviour: runs recorded before the step timeout existed had no such timer.
    const child = timeout !== undefined && has(BEHAVIOUR.subPlanTimeout) ? await withStepTimeout(timeout, `sub-plan ${childInput.runId}`, runChild) : await runChild();
    if (child.status !== 'completed') throw ApplicationFailure.create({ type: 'SUB_PLAN_FAILED', message: `sub-plan ${childInput.runId} ended ${child.status}`, nonRetryable: true });
    return { runId: childInput.runId, outputs: Object.fromEntries(Object.entries(child.steps).map(([id, s]) => [id, s.output ?? null])) };
  };

  /** Runs compensations of the completed steps among `ids`, newest first; failures are recorded, not thrown. */
  const compensate = async (ids: string[]): Promise<void> => {
    await CancellationScope.nonCancellable(async () => {
      for (const id of [...ids].reverse()) {
        const step = byId.get(id)!;
        const st = state.steps[id]!;
        if (st.status !== 'completed' || !step.compensation) continue;
        const { runCompensation } = proxyActivities<PlanActivities>({
          startToCloseTimeout: '5 minutes',
          // runCompensation heartbeats every second: a lost worker shows within 5 s, not 5 minutes.
          heartbeatTimeout: HEARTBEAT_TIMEOUT_MS,
          retry: { maximumAttempts: 3, initialInterval: '1 second' },
          summary: `undo ${step.name ?? step.id}: ${step.compensation.tool}`,
        });
        try {
          const args = resolveTemplates(step.compensation.args, scope()) as Record<string, unknown>;
          const request = { runId, stepId: id, call: { tool: step.compensation.tool, args }, requesterId: input.startedBy, ...via, idempotencyKey: `${info.workflowId}/${id}/${st.generation}/compensate` };
          await redispatchOnWorkerLoss(has, () => runCompensation(request));
          st.status = 'compensated';
          state.compensations.push({ stepId: id, status: 'completed' });
          record({ stepId: id, event: 'plan.step_compensated', status: 'compensated' });
        } catch (error) {
          st.status = 'compensation_failed';
          state.compensations.push({ stepId: id, status: 'failed', error: errorMessage(error) });
          record({ stepId: id, event: 'plan.compensation_failed', status: 'compensation_failed', details: { error: errorMessage(error) } });
        }
        void flush();
      }
    });
  };

  /** What a scheduling pass does: a step whose dependency did not complete, or an unchosen branch, is skipped; the others start up to the concurrency limit. */
  const scheduling = {
    blocked: (step: PlanStep) => skipRequested.has(step.id) || step.dependsOn.some((d) => state.steps[d]!.status !== 'completed'),
    room: () => definition.concurrency - inflight.size,
    skip: (step: PlanStep) => {
      finish(step.id, 'skipped');
      record({ stepId: step.id, event: 'plan.step_skipped', status: 'skipped' });
    },
    start: (step: PlanStep) => {
      inflight.add(step.id);
      void runStep(step).catch(() => undefined);
    },
  };
  /** Starts the ready steps in definition order (ready-steps.ts keeps them as steps finish or are reset). */
  const schedule = (): void => {
    // A skip can make its dependents ready: they are taken by the next pass.
    for (let again = true; again; ) again = readySteps.pass(scheduling);
  };

  const rollbackToCheckpoint = async (position: number, checkpointId?: string): Promise<void> => {
    const undone = state.order.slice(position);
    // The unchosen branches of the conditions before the checkpoint stay skipped (those steps may
    // have been skipped after it, and the conditions are not evaluated again).
    const kept = new Set(state.order.slice(0, position).flatMap((id) => skipsByCondition.get(id) ?? []));
    setStatus('rolling_back');
    await compensate(undone);
    for (const id of undone) {
      const st = state.steps[id]!;
      if (st.status === 'completed' || st.status === 'compensated' || st.status === 'compensation_failed') state.completedSteps -= 1;
      state.steps[id] = { status: 'pending', generation: st.generation + 1 };
      skipsByCondition.delete(id);
      // has() only for a step it keeps skipped: recorded runs replay unchanged.
      if (!kept.has(id) || !has(BEHAVIOUR.rollbackKeepsBranchSkips)) skipRequested.delete(id);
      // An approval run again waits for a new decision (has() only then: recorded runs replay unchanged).
      if (decisions.has(id) && has(BEHAVIOUR.rollbackClearsDecisions)) decisions.delete(id);
    }
    readySteps.reset(undone);
    state.order = state.order.slice(0, position);
    state.progress = state.order.length / state.totalSteps;
    state.checkpoints = state.checkpoints.filter((c) => c.position <= position);
    setStatus('paused');
    record({ event: 'plan.rolled_back', status: 'paused', details: { checkpointId, undone } }, 'paused');
  };

  // ---- main loop ----
  if (!input.carried) record({ event: 'plan.started', status: 'running', details: { version: input.version, startedBy: input.startedBy } }, 'running');
  try {
    for (;;) {
      // A long run drains its steps in flight, then continues as new with its state.
      const handOver = state.order.length - finishedAtStart >= definition.continueAsNewAfter || workflowInfo().continueAsNewSuggested;
      if (!paused && !stop && !rollbackTo && !handOver) schedule();
      const ending = inflight.size === 0 && !rollbackTo && (stop !== undefined || state.order.length === state.totalSteps);
      // The last step's transitions go out with the run's end, in one write (a behaviour: runs
      // recorded before wrote them separately first).
      if (!ending || !has(BEHAVIOUR.oneFinalWrite)) void flush();
      if (inflight.size === 0) {
        if (rollbackTo) {
          await rollbackToCheckpoint(rollbackTo.position, rollbackTo.checkpointId);
          rollbackTo = undefined;
          continue;
        }
        if (stop || state.order.length === state.totalSteps) break;
        if (!paused && handOver) {
          await flush();
          await condition(allHandlersFinished);
          return await continueAsNew<typeof planWorkflow>({ ...input, carried: { state, sequence, checkpointCounter, paused, skipRequested: [...skipRequested], skipsByCondition: Object.fromEntries(skipsByCondition), startedAt } });
        }
      }
      const seen = tick;
      await condition(() => tick !== seen);
    }
  } catch (error) {
    if (!isCancellation(error)) throw error;
    await CancellationScope.nonCancellable(async () => {
      await condition(() => inflight.size === 0);
      setStatus('rolling_back');
      await compensate(state.order);
      setStatus('cancelled');
      record({ event: 'plan.cancelled', status: 'cancelled', details: { compensated: state.compensations.map((c) => c.stepId) }, durationMs: elapsedSince(startedAt) });
      pending.run = { status: 'cancelled', state };
      await flush();
      // A rollback cancelled on its way answers (with the cancelled state) before the run ends.
      await condition(allHandlersFinished);
    });
    throw error;
  }

  if (stop === 'rollback') {
    setStatus('rolling_back');
    await compensate(state.order);
    setStatus('rolled_back');
    record({ event: 'plan.rolled_back', status: 'rolled_back', details: { error: state.error }, durationMs: elapsedSince(startedAt) });
  } else if (stop === 'fail') {
    setStatus('failed');
    record({ event: 'plan.failed', status: 'failed', details: { error: state.error }, durationMs: elapsedSince(startedAt) });
  } else {
    setStatus('completed');
    record({ event: 'plan.completed', status: 'completed', details: { outputs: outputs() }, durationMs: elapsedSince(startedAt) });
  }
  pending.run = { status: state.status, error: state.error, state };
  await flush();
  await condition(allHandlersFinished);
  if (state.status === 'failed') throw ApplicationFailure.create({ type: 'PlanFailed', message: state.error ?? 'plan failed', nonRetryable: true, details: [state] });
  return state;
}

/**
 * Runs `fn` in a scope cancelled after `ms`; a cancellation caused by that timeout becomes a
 * non-retryable TIMEOUT failure (a cancellation of the run itself is rethrown as it is).
 */
async function withStepTimeout<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  const scope = new CancellationScope({ cancellable: true, timeout: ms });
  try {
    return await scope.run(fn);
  } catch (error) {
    if (isCancellation(error) && !CancellationScope.current().consideredCancelled) {
      throw ApplicationFailure.create({ type: 'TIMEOUT', message: `${what} timed out after ${ms} ms`, nonRetryable: true });
    }
    throw error;
  }
}

function TERMINAL(status: PlanRunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'rolled_back';
}
