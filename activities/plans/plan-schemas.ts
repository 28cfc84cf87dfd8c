import { z } from 'zod';

const StepId = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/, 'letters, digits, _ or -, starting with a letter');

/** A step that calls one tool with fixed arguments. */
export const ToolStep = z.object({
  id: StepId,
  name: z.string().max(200).optional(),
  kind: z.literal('tool'),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).default({}),
});
export type ToolStep = z.infer<typeof ToolStep>;

export const PlanStep = ToolStep;
export type PlanStep = z.infer<typeof PlanStep>;

/** Body of POST /api/v1/plans. */
export const CreatePlanBody = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    goal: z.string().max(4000).optional(),
    steps: z.array(PlanStep).min(1).max(1000),
  })
  .strict();
export type CreatePlanBody = z.infer<typeof CreatePlanBody>;

/** Body of POST /api/v1/plans/:id/execute. */
export const ExecutePlanBody = z
  .object({
    input: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type ExecutePlanBody = z.infer<typeof ExecutePlanBody>;

/** Route params naming a plan. */
export const PlanIdParams = z.object({ id: z.string().min(1).max(64) });
