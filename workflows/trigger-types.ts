// Plain types shared by the trigger workflows and their activities; no runtime code, safe in the sandbox.

/** How a firing came about. */
export type TriggerSource = 'schedule' | 'event' | 'condition' | 'webhook' | 'manual';

/** Input of one trigger-run workflow (`trigger-<triggerId>-<suffix>`). */
export interface TriggerRunInput {
  triggerId: string;
  source: TriggerSource;
  /** The firing's payload (event envelope, verified webhook body, condition result, manual payload). */
  payload?: unknown;
  /** The triggers whose firings caused this one, oldest first (event firings only); guards against cycles. */
  chain?: string[];
}

/** The action of a trigger with its templates already filled from the payload. */
export type ResolvedTriggerAction =
  | { kind: 'plan'; planId: string; input: Record<string, unknown> }
  | { kind: 'tool'; tool: string; args: Record<string, unknown> };

/** What beginTriggerRun hands the workflow: the history row and the action to take. */
export interface BegunTriggerRun {
  historyId: string;
  triggerType: string;
  action: ResolvedTriggerAction;
}

export interface TriggerRunResult {
  status: 'succeeded' | 'skipped';
  historyId?: string;
  planWorkflowId?: string;
  output?: unknown;
}

/** Input of a condition check (started by the condition trigger's schedule). */
export interface ConditionCheckInput {
  triggerId: string;
}

export interface ConditionCheckResult {
  fired: boolean;
  value: boolean;
  runId?: string;
}
