// Plain types shared by the plan workflow and its activities; no runtime code, safe in the sandbox.

export interface PlanToolStep {
  id: string;
  name?: string;
  kind: 'tool';
  tool: string;
  args: Record<string, unknown>;
}

export interface PlanWorkflowInput {
  planId: string;
  runId: string;
  planName: string;
  version: number;
  steps: PlanToolStep[];
  input: Record<string, unknown>;
  startedBy: string;
}

export type PlanRunStatus = 'pending' | 'running' | 'completed' | 'failed';
export type StepStatus = 'pending' | 'running' | 'completed' | 'failed';

export interface PlanRunState {
  status: PlanRunStatus;
  steps: Record<string, { status: StepStatus; output?: unknown; error?: string }>;
  completedSteps: number;
  totalSteps: number;
}

/** One row of plan_history, written by the workflow through an activity. */
export interface PlanTransition {
  planId: string;
  runId: string;
  /** Position of this transition in the run: makes the history write idempotent under retries. */
  sequence: number;
  stepId?: string;
  event: string;
  status: string;
  details?: Record<string, unknown>;
}

export interface ToolStepRequest {
  runId: string;
  stepId: string;
  tool: string;
  args: Record<string, unknown>;
  requesterId: string;
  idempotencyKey: string;
}
