/**
 * Behaviours added to the plan workflow after plan runs were first recorded, by patch id; asked
 * with `behavioursOf` (behaviours.ts). Each guards code that histories recorded before it lack.
 */
export const PLAN_BEHAVIOURS = {
  workerLoss: 'redispatch-on-worker-loss',
  subPlanTimeout: 'sub-plan-timeout',
  subPlanRetry: 'sub-plan-retry',
  waitTimeout: 'wait-step-timeout',
  oneFinalWrite: 'one-final-write',
  cancelledFromOutside: 'step-cancelled-from-outside-fails',
  /** MAX_RUN_OUTPUT_BYTES fails a run; a large pending batch is written apart, not in a tool activity's input. */
  payloadLimits: 'payload-limits',
  rollbackResetsInterrupted: 'rollback-resets-interrupted-steps',
  interruptibleWait: 'wait-step-interruptible',
  rollbackClearsDecisions: 'rollback-clears-decisions',
  rollbackKeepsBranchSkips: 'rollback-keeps-branch-skips',
  rollbackSettlesOnCancel: 'rollback-settles-on-cancel',
  /** A rollback cancels the tool and sub-plan steps in flight instead of waiting for them to end. */
  rollbackCancelsInFlight: 'rollback-cancels-in-flight',
  /** A wait or approval interrupted by a whole-run rollback ends cancelled, as a tool step in flight does, instead of failed. */
  rollbackCancelsWaits: 'rollback-cancels-waits',
  /** Admin may decide an approval step that does not name it; its decision is recorded as an override. */
  adminOverridesApprovals: 'admin-overrides-approvals',
  /** A step failing with onFailure rollback cancels the tool and sub-plan steps in flight, as the rollback update does, instead of waiting for them to end. */
  failureRollbackCancelsInFlight: 'failure-rollback-cancels-in-flight',
} as const;
export type PlanBehaviour = (typeof PLAN_BEHAVIOURS)[keyof typeof PLAN_BEHAVIOURS];

/** Every plan behaviour today's code has: stamped into the input of each run it starts. */
export const CURRENT_PLAN_BEHAVIOURS: readonly PlanBehaviour[] = Object.values(PLAN_BEHAVIOURS);
