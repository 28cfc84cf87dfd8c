import { z } from 'zod';
import { DEFAULT_RETRY_INITIAL_MS, durationMs } from '../../workflows/plan-graph';

const StepId = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'letters, digits or _, starting with a letter');

const MAX_DURATION_MS = 366 * 24 * 3600 * 1000;

/** A duration of at most 366 days: milliseconds, or text such as '500ms', '5s', '10m', '2h', '1d'. */
export const Duration = z
  .union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, "a duration such as '500ms', '5s', '10m', '2h'")])
  .refine((d) => !(lengthOf(d) > MAX_DURATION_MS), 'at most 366 days');
export type Duration = z.infer<typeof Duration>;

/** A duration Temporal can schedule with: a timeout or retry interval of 0 would leave the run stuck. */
const PositiveDuration = Duration.refine((d) => !(lengthOf(d) < 1), 'must be at least 1ms');

/** Milliseconds of a duration, NaN for one its base schema refused (zod still runs refinements on it; the refusal says why). */
function lengthOf(d: unknown): number {
  try {
    return durationMs(d as Duration);
  } catch {
    return Number.NaN;
  }
}

/** Temporal retry policy of a step (attempts include the first one). */
export const RetryPolicy = z
  .object({
    maximumAttempts: z.number().int().min(1).max(100).optional(),
    initialInterval: PositiveDuration.optional(),
    backoffCoefficient: z.number().min(1).max(10).optional(),
    maximumInterval: PositiveDuration.optional(),
  })
  .strict()
  .refine((r) => r.maximumInterval === undefined || !(lengthOf(r.maximumInterval) < lengthOf(r.initialInterval ?? DEFAULT_RETRY_INITIAL_MS)), {
    message: 'maximumInterval must not be shorter than initialInterval (1s when unset)',
    path: ['maximumInterval'],
  });

/** A tool call; arguments may hold `{{ expression }}` templates. */
export const ToolCall = z.object({ tool: z.string().min(1).max(200), args: z.record(z.string(), z.unknown()).default({}) }).strict();
export type ToolCall = z.infer<typeof ToolCall>;

export const OnFailure = z.enum(['fail', 'continue', 'rollback']);
export type OnFailure = z.infer<typeof OnFailure>;

const stepBase = {
  id: StepId,
  name: z.string().min(1).max(200).optional(),
  dependsOn: z.array(StepId).max(100).default([]),
  /** tool and sub_plan steps (a sub_plan attempt is a new child run); refused with 422 on other kinds. */
  retry: RetryPolicy.optional(),
  /** tool: per attempt; sub_plan: per child run; wait: fails a longer wait at the timeout. Refused with 422 on condition and approval. */
  timeout: PositiveDuration.optional(),
  onFailure: OnFailure.optional(),
  /** Undoes the step; its arguments may read `steps.<this step>.output`. */
  compensation: ToolCall.optional(),
};

export const ToolStep = z.object({ ...stepBase, kind: z.literal('tool'), tool: z.string().min(1).max(200), args: z.record(z.string(), z.unknown()).default({}) }).strict();
export const ApprovalStep = z
  .object({
    ...stepBase,
    kind: z.literal('approval'),
    /** Principals allowed to decide ('admin', 'user:<id>', 'plugin:<id>'). */
    approvers: z.array(z.string().min(1).max(200)).min(1).max(50).default(['admin']),
    message: z.string().max(2000).optional(),
    /** How long to wait for a decision (default 24h); then `onTimeout` decides. */
    approvalTimeout: Duration.default('24h'),
    onTimeout: z.enum(['approve', 'reject']).default('reject'),
  })
  .strict();
export const WaitStep = z
  .object({ ...stepBase, kind: z.literal('wait'), duration: Duration.optional(), until: z.iso.datetime({ offset: true }).optional() })
  .strict()
  .refine((s) => (s.duration === undefined) !== (s.until === undefined), 'a wait step needs exactly one of duration or until');
export const ConditionStep = z
  .object({
    ...stepBase,
    kind: z.literal('condition'),
    expression: z.string().min(1).max(2000),
    /** Steps that run when the expression is truthy; the others listed in `else` are skipped. */
    then: z.array(StepId).max(100).default([]),
    else: z.array(StepId).max(100).default([]),
  })
  .strict();
export const SubPlanStep = z
  .object({ ...stepBase, kind: z.literal('sub_plan'), planId: z.string().min(1).max(64), input: z.record(z.string(), z.unknown()).default({}) })
  .strict();

/** One step of a plan, discriminated by `kind`. */
export const PlanStep = z.discriminatedUnion('kind', [ToolStep, ApprovalStep, WaitStep, ConditionStep, SubPlanStep]);
export type PlanStep = z.infer<typeof PlanStep>;
export type ToolStep = z.infer<typeof ToolStep>;
export type ApprovalStep = z.infer<typeof ApprovalStep>;
export type WaitStep = z.infer<typeof WaitStep>;
export type ConditionStep = z.infer<typeof ConditionStep>;
export type SubPlanStep = z.infer<typeof SubPlanStep>;

/** How a plan runs: the part of a definition that is versioned and handed to the workflow. */
export const PlanDefinition = z
  .object({
    steps: z.array(PlanStep).min(1).max(5000),
    /** JSON Schema the run input must satisfy. */
    inputSchema: z.record(z.string(), z.unknown()).optional(),
    /** Steps of one run that may execute at the same time. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** What a failing step does when it does not say (`fail`). */
    onFailure: OnFailure.default('fail'),
    /** Continue-as-new after this many finished steps (a bound on one history); Temporal's own suggestion also applies. */
    continueAsNewAfter: z.number().int().min(1).max(10_000).default(500),
  })
  .strict();
export type PlanDefinition = z.infer<typeof PlanDefinition>;

/** Body of POST /api/v1/plans. */
export const CreatePlanBody = PlanDefinition.extend({
  name: z.string().min(1).max(200),
  description: z.string().max(4000).optional(),
  goal: z.string().max(4000).optional(),
  /** Runs of this plan that may be active at once; more are refused with 409 RUN_LIMIT. */
  maxConcurrentRuns: z.number().int().min(1).max(1000).default(10),
}).strict();
export type CreatePlanBody = z.infer<typeof CreatePlanBody>;

/** Body of PATCH /api/v1/plans/:id: any field; a change to how it runs makes a new version. */
export const UpdatePlanBody = z
  .object({
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(4000).nullable().optional(),
    goal: z.string().max(4000).nullable().optional(),
    maxConcurrentRuns: z.number().int().min(1).max(1000).optional(),
    steps: z.array(PlanStep).min(1).max(5000).optional(),
    inputSchema: z.record(z.string(), z.unknown()).nullable().optional(),
    concurrency: z.number().int().min(1).max(64).optional(),
    onFailure: OnFailure.optional(),
    continueAsNewAfter: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type UpdatePlanBody = z.infer<typeof UpdatePlanBody>;

/** Body of POST /api/v1/plans/:id/execute. */
/** The start key prefix of a run a trigger's firing starts (`trigger:<historyId>`): the cycle guard follows it to the firing, so no one else may use it. */
export const TRIGGER_START_KEY_PREFIX = 'trigger:';

export const ExecutePlanBody = z
  .object({
    input: z.record(z.string(), z.unknown()).default({}),
    /** Idempotent start: a second execute with the same key returns the first run. */
    startKey: z
      .string()
      .min(1)
      .max(200)
      .refine((key) => !key.startsWith(TRIGGER_START_KEY_PREFIX), `start keys beginning with '${TRIGGER_START_KEY_PREFIX}' are reserved for trigger firings`)
      .optional(),
  })
  .strict();
export type ExecutePlanBody = z.infer<typeof ExecutePlanBody>;

/** Query of GET /api/v1/plans. */
export const ListPlansQuery = z.object({
  search: z.string().max(200).optional(),
  createdBy: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type ListPlansQuery = z.infer<typeof ListPlansQuery>;

export const LimitQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** Body of POST /runs/:runId/checkpoint. */
export const CheckpointBody = z.object({ name: z.string().min(1).max(200).optional() }).strict();
/** Body of POST /runs/:runId/rollback: to a checkpoint, or (without one) all the way back. */
export const RollbackBody = z.object({ checkpointId: z.string().min(1).max(300).optional() }).strict();
/** Body of approve/reject. */
export const DecisionBody = z.object({ comment: z.string().max(2000).optional() }).strict();

/** Route params naming a plan. */
export const PlanIdParams = z.object({ id: z.string().min(1).max(64) });
export const RunIdParams = z.object({ runId: z.string().min(1).max(200) });
export const RunStepParams = z.object({ runId: z.string().min(1).max(200), stepId: StepId });
export const RunCheckpointParams = z.object({ runId: z.string().min(1).max(200), checkpointId: z.string().min(1).max(300) });
export const PlanStepParams = z.object({ id: z.string().min(1).max(64), stepId: StepId });
