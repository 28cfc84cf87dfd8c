// Sizes of step outputs, for the plan workflow's bound on what one run carries; pure, safe in the sandbox.
import type { PlanWorkflowInput } from './plan-types';

/** Temporal's limit on one payload (the server's default blob size error limit). */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * Most UTF-8 bytes (as JSON) the outputs of one run's completed steps may add up to. The workflow
 * keeps every output (any later template may read it) and carries them, beside its definition,
 * input and the rest of its state, in payloads Temporal limits to 2 MiB each: its continue-as-new
 * input and its result. A step whose output would go past the run's budget (this, or less for a
 * large definition: runOutputBudget) fails the run with OUTPUT_LIMIT.
 */
export const MAX_RUN_OUTPUT_BYTES = 1024 * 1024;

/** Room left in a carried payload for what runOutputBudget does not count (step errors, compensations, approvers' names). */
const HEADROOM_BYTES = 64 * 1024;

/** UTF-8 length of `value` as JSON (`undefined` counts as `null`, as a payload stores it). */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value ?? null);
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // 2 bytes below U+0800, 3 above; a surrogate pair (2 units) is 4.
    if (unit >= 0x80) bytes += unit < 0x800 || (unit >= 0xd800 && unit <= 0xdfff) ? 1 : 2;
  }
  return bytes;
}

/**
 * Output bytes a run may hold: MAX_RUN_OUTPUT_BYTES, or less when its definition and input,
 * plus every step's state, `order` entry and checkpoint reference, leave less of a 2 MiB payload
 * (less 64 KiB of headroom). Never negative.
 */
export function runOutputBudget(input: Omit<PlanWorkflowInput, 'carried'>): number {
  const { carried: _carried, ...fixed } = input as PlanWorkflowInput;
  // "<id>":{"status":"compensation_failed","generation":N,"output":} + "<id>", + {"id":"<runId>:cp:N","position":N},
  const perStep = input.definition.steps.reduce((sum, step) => sum + 2 * step.id.length + input.runId.length + 110, 0);
  return Math.max(0, Math.min(MAX_RUN_OUTPUT_BYTES, TEMPORAL_PAYLOAD_LIMIT_BYTES - HEADROOM_BYTES - jsonBytes(fixed) - perStep));
}
