import type { ApiClient } from '../api-client';
import type { Output } from '../output';

/** What every command receives: the API, the output, its positional args and flags. */
export interface CommandContext {
  api: ApiClient;
  out: Output;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  /** Link to the Temporal Web UI page of a workflow. */
  workflowUrl(workflowId: string): string;
  /** Reads a file argument (plan, trigger or manifest JSON); `-` is standard input. */
  readJson(file: string): unknown;
  sleep(ms: number): Promise<void>;
}

export type Command = (context: CommandContext) => Promise<void>;

/** Thrown for a wrong invocation; the CLI prints the message and the usage line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The n-th positional argument, or a UsageError naming it. */
export function arg(context: CommandContext, index: number, name: string): string {
  const value = context.args[index];
  if (value === undefined) throw new UsageError(`missing <${name}>`);
  return value;
}
