import type { ArgumentIssue } from './args-validator';
import type { ToolContext } from './tool-types';

/** The narrow contract other services use to run tools (the tool registry implements it). */
export interface ToolExecutor {
  /** Runs a tool and returns its output; throws AppError (NOT_FOUND, UNPROCESSABLE, FORBIDDEN, APPROVAL_REQUIRED, ...). */
  execute(name: string, args: unknown, context: ToolContext): Promise<unknown>;
  /** Whether a tool of that name is registered. */
  exists(name: string): Promise<boolean>;
  /**
   * FORBIDDEN when the principal may not run the tool as a plan step or trigger firing will call it
   * (for them, not as them calling directly: tool-permissions.ts); resolves for an unknown tool.
   * For checks when a plan or trigger is saved.
   */
  assertMayRunTool(name: string, principal: string): Promise<void>;
  /**
   * The issues the tool's argument validation would raise for `args` whatever their templates (the
   * strings `isTemplate` accepts; none by default) resolve to; [] for an unknown tool or one this
   * process cannot check (a built-in whose code it has not loaded). For checks when a plan or trigger is saved.
   */
  argumentIssues(name: string, args: Record<string, unknown>, isTemplate?: (text: string) => boolean): Promise<ArgumentIssue[]>;
}
