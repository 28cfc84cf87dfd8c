// Types and constants shared by the trigger workflows and their activities; no I/O, safe in the sandbox.

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
  /** Behaviours the starting code had (see behaviours.ts); absent for runs started before stamping. */
  behaviours?: readonly string[];
}

/**
 * Behaviours added to the trigger-run workflow after its runs were first recorded, by patch id.
 * toolHeartbeat: the tool action is scheduled with a heartbeat timeout (runs recorded before it
 * were not, and keep not being so on replay).
 */
export const TRIGGER_BEHAVIOURS = { toolHeartbeat: 'trigger-tool-heartbeat' } as const;
export type TriggerBehaviour = (typeof TRIGGER_BEHAVIOURS)[keyof typeof TRIGGER_BEHAVIOURS];

/** Every trigger-run behaviour today's code has: stamped into the input of each run it starts (and of each schedule it writes). */
export const CURRENT_TRIGGER_BEHAVIOURS: readonly TriggerBehaviour[] = Object.values(TRIGGER_BEHAVIOURS);

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
