import { z } from 'zod';
import type { EventCause } from '../events/event-types';
import type { HostCallBudget } from './host-call-budget';

/** `core.echo`, `custom.my_tool`, `plugin.weather.forecast`: lower-case dotted segments. */
export const ToolName = z
  .string()
  .max(200)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$/, 'a namespaced name such as core.echo');

/** What a caller sees of a tool: its name, purpose and JSON-schema parameters. */
export const ToolDefinition = z.object({
  name: ToolName,
  description: z.string().min(1).max(2000),
  category: z.string().min(1).max(100),
  parameters: z.record(z.string(), z.unknown()),
  tags: z.array(z.string().min(1).max(50)).max(20).default([]),
  /** Set on a plugin tool its manifest subscribes to events: only that plugin and admin may run it (tool-permissions.ts). */
  subscriptionHandler: z.literal(true).optional(),
});
export type ToolDefinition = z.infer<typeof ToolDefinition>;

export const TOOL_SOURCES = ['builtin', 'custom', 'plugin'] as const;
export const ToolSource = z.enum(TOOL_SOURCES);
export type ToolSource = z.infer<typeof ToolSource>;

/** Who is calling and on whose behalf; the idempotency key is stable across activity retries. */
export interface ToolContext {
  requesterId: string;
  idempotencyKey?: string;
  /**
   * The trigger firing this call is made for (`trigger:<id>`), when `requesterId` is the trigger's
   * creator: recorded in tool.executed and the events' cause. Set only by the trigger activities (and the plan activities, from the run a firing started), never from a request.
   */
  via?: string;
  /** Set by the plan activities: a step's call is made for the run's starter, not by them calling directly. */
  planStep?: true;
  signal?: AbortSignal;
  /** Set when a person (or a plan's approval step) approved this call of a `requires_approval` tool. */
  approved?: boolean;
  /** How many tools deep this call is nested (a sandboxed tool calling another); 0 or unset at the top. */
  callDepth?: number;
  /**
   * What events emitted during this call carry as their cause, when not this call itself: the
   * outermost call of a nested one (set by the registry), or the cause of the event a plugin
   * handler handles (set by the plugin host). Set only by that trusted code, never from a request.
   */
  cause?: EventCause;
  /** The host-call budget of the outermost sandboxed call, shared down the nesting; set only by the registry. */
  hostCalls?: HostCallBudget;
}

/** A built-in tool: its definition, a zod schema for its arguments, and the code that runs it. */
export interface BuiltinTool<Args = unknown> {
  definition: ToolDefinition;
  args: z.ZodType<Args>;
  execute(args: Args, context: ToolContext): Promise<unknown>;
  requiresApproval?: boolean;
  /** Overrides the registry's default execution timeout. */
  timeoutMs?: number;
}

/** Keeps the argument type of each tool literal while collecting tools into one list. */
export function defineTool<Args>(tool: BuiltinTool<Args>): BuiltinTool<Args> {
  return tool;
}

/** The outcome of executeTool: the output, or a request for approval when the tool needs one. */
export type ToolExecutionResult =
  | { status: 'completed'; tool: string; output: unknown; durationMs: number }
  | { status: 'approval_required'; tool: string; args: unknown; reason: string };

/** A registry row as the registry caches it (code included for sandboxed tools). */
export interface ToolRecord {
  id: string;
  name: string;
  source: ToolSource;
  /** The owning user id (custom) or plugin id (plugin); null for built-ins. */
  sourceId: string | null;
  definition: ToolDefinition;
  isEnabled: boolean;
  isLocked: boolean;
  requiresApproval: boolean;
  code: string | null;
  allowedTools: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** What getTool/listTools return: the record without its code. */
export type ToolInfo = Omit<ToolRecord, 'code'>;
