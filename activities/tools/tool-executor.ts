import type { ToolContext } from './tool-types';

/** The narrow contract other services use to run tools (the tool registry implements it). */
export interface ToolExecutor {
  /** Runs a tool and returns its output; throws AppError (NOT_FOUND, UNPROCESSABLE, FORBIDDEN, APPROVAL_REQUIRED, ...). */
  execute(name: string, args: unknown, context: ToolContext): Promise<unknown>;
  /** Whether a tool of that name is registered. */
  exists(name: string): Promise<boolean>;
  /** FORBIDDEN when the principal may not run the tool (tool-permissions.ts); resolves for an unknown tool. For checks when a plan or trigger is saved. */
  assertMayRunTool(name: string, principal: string): Promise<void>;
}
