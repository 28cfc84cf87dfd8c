// Plain types and constants shared by the plan workflow, its activities and the service; safe in the sandbox.
import type { PlanDefinition, ToolCall } from '../activities/plans/plan-schemas';

export type PlanRunStatus = 'pending' | 'running' | 'paused' | 'rolling_back' | 'completed' | 'failed' | 'cancelled' | 'rolled_back';
export type StepStatus = 'pending' | 'running' | 'waiting_approval' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'compensated' | 'compensation_failed';

/** Statuses after which a run never changes again. */
export const TERMINAL_RUN_STATUSES: readonly PlanRunStatus[] = ['completed', 'failed', 'cancelled', 'rolled_back'];

export interface StepState {
  status: StepStatus;
  output?: unknown;
  error?: string;
  /** Bumped each time a rollback to a checkpoint resets the step; part of its idempotency key. */
  generation: number;
  decidedBy?: string;
}

export interface CheckpointRef {
  id: string;
  name?: string;
  /** Number of finished steps (`order.length`) when the checkpoint was taken. */
  position: number;
}

export interface CompensationRecord {
  stepId: string;
  status: 'completed' | 'failed';
  error?: string;
}

export interface PlanRunState {
  planId: string;
  runId: string;
  version: number;
  status: PlanRunStatus;
  steps: Record<string, StepState>;
  /** Step ids in the order they finished (completed, failed or skipped). */
  order: string[];
  completedSteps: number;
  totalSteps: number;
  /** Finished steps / total steps, 0..1. */
  progress: number;
  checkpoints: CheckpointRef[];
  compensations: CompensationRecord[];
  error?: string;
}

/** What the workflow carries into its next run on continue-as-new. */
export interface CarriedPlanState {
  state: PlanRunState;
  sequence: number;
  checkpointCounter: number;
  paused: boolean;
  skipRequested: string[];
  /** The unchosen branch of each completed condition (absent when carried by code from before it). */
  skipsByCondition?: Record<string, string[]>;
  /** Epoch ms the run's first workflow execution started (run durations span continue-as-new). */
  startedAt?: number;
}

export interface PlanWorkflowInput {
  planId: string;
  runId: string;
  planName: string;
  version: number;
  definition: PlanDefinition;
  input: Record<string, unknown>;
  startedBy: string;
  /** The principal the plan acts for (its creator, admin when none is recorded); absent in runs started before it was carried. */
  planOwner?: string;
  /** Nesting depth of sub-plans (0 for a top-level run). */
  depth?: number;
  /** What the run (or its root run, for a sub-plan) was started through (`trigger:<id>`, when `startedBy` is the trigger's creator); absent for direct starts and runs started before it was carried. */
  via?: string;
  /** Behaviours the starting code had (see plan-behaviours.ts); absent for runs started before stamping. */
  behaviours?: readonly string[];
  carried?: CarriedPlanState;
}

/** plan_history events about the run as a whole; each is also emitted on the bus under its name. */
export const PLAN_RUN_EVENTS = ['plan.started', 'plan.paused', 'plan.resumed', 'plan.checkpoint', 'plan.rollback_requested', 'plan.rolled_back', 'plan.cancelled', 'plan.completed', 'plan.failed'] as const;
/** plan_history events about one step (they carry its `stepId`). */
export const PLAN_STEP_EVENTS = [
  'plan.step_started',
  'plan.step_attempt',
  'plan.step_completed',
  'plan.step_failed',
  'plan.step_skipped',
  'plan.step_cancelled',
  'plan.step_interrupted',
  'plan.step_compensated',
  'plan.compensation_failed',
  'plan.approval_required',
  'plan.step_approved',
  'plan.step_rejected',
] as const;
export type PlanEventType = (typeof PLAN_RUN_EVENTS)[number] | (typeof PLAN_STEP_EVENTS)[number];

/** One row of plan_history; `sequence` is assigned by the workflow and orders the run's history. */
export interface PlanTransition {
  sequence: number;
  stepId?: string;
  event: PlanEventType;
  status: string;
  details?: Record<string, unknown>;
  /** On run and step ends: how long the run or step took, by the workflow's clock (metrics histograms). */
  durationMs?: number;
}

/**
 * A checkpoint as the workflow records it: the outputs of the completed steps that finished after
 * checkpoint `since` (all completed steps when absent), so a run's checkpoints add up to its
 * outputs once rather than once per checkpoint. The outputs at the checkpoint are those of the
 * chain of `since` checkpoints back to one without (see plan-checkpoints.ts).
 */
export interface CheckpointRecord extends CheckpointRef {
  since?: string;
  outputs: Record<string, unknown>;
}

/** Bookkeeping the workflow hands to one activity call: history rows, checkpoints, run status. */
export interface PlanRecordBatch {
  planId: string;
  runId: string;
  /** The run's readers (`runReaders`), the audience of its events; absent from runs that do not carry `planOwner`, whose readers the activity reads. */
  readers?: string[];
  transitions: PlanTransition[];
  checkpoints: CheckpointRecord[];
  run?: { status: PlanRunStatus; error?: string; state?: PlanRunState };
}

export interface ToolStepRequest {
  planId: string;
  runId: string;
  stepId: string;
  tool: string;
  args: Record<string, unknown>;
  requesterId: string;
  /** The run's `via`, named by the tool call (tool.executed, the events' cause). */
  via?: string;
  idempotencyKey: string;
  /** Sequence of the step's `plan.step_started` row, written by the activity's first attempt. */
  sequence: number;
  /** Bookkeeping the workflow had pending, written (idempotently) before the tool runs. */
  batch?: PlanRecordBatch;
  /** How many times the step was dispatched again after losing its worker (absent on the first dispatch). */
  redispatch?: number;
  /** The run's readers, for the events of the step's own rows when no batch rides along (see PlanRecordBatch). */
  readers?: string[];
}

export interface CompensationRequest {
  runId: string;
  stepId: string;
  call: ToolCall;
  requesterId: string;
  /** The run's `via`, named by the tool call. */
  via?: string;
  idempotencyKey: string;
}

export interface DecisionRequest {
  stepId: string;
  approve: boolean;
  by: string;
  comment?: string;
}

export interface SubPlanRequest {
  planId: string;
  parentRunId: string;
  stepId: string;
  generation: number;
  input: Record<string, unknown>;
  startedBy: string;
  /** The parent run's `via`, which the child inherits. */
  via?: string;
  depth: number;
  /** Which attempt of a `sub_plan` step with a retry policy this child is (absent on the first). */
  attempt?: number;
}
