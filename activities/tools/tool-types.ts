import { z } from 'zod';

/** What a caller sees of a tool: its name, purpose and JSON-schema parameters. */
export const ToolDefinition = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'a namespaced name such as core.echo'),
  description: z.string().min(1),
  category: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()).default([]),
});
export type ToolDefinition = z.infer<typeof ToolDefinition>;

/** Who is calling and on whose behalf; the idempotency key is stable across activity retries. */
export interface ToolContext {
  requesterId: string;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A built-in tool: its definition, a zod schema for its arguments, and the code that runs it. */
export interface BuiltinTool<Args = unknown> {
  definition: ToolDefinition;
  args: z.ZodType<Args>;
  execute(args: Args, context: ToolContext): Promise<unknown>;
}

/** Keeps the argument type of each tool literal while collecting tools into one list. */
export function defineTool<Args>(tool: BuiltinTool<Args>): BuiltinTool<Args> {
  return tool;
}
