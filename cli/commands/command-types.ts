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

/** A command; it may resolve with its exit code (a run that did not complete, a call awaiting approval), 0 otherwise. */
export type Command = (context: CommandContext) => Promise<number | void>;

/** Thrown for a wrong invocation (exit 2); the CLI prints the message, and the usage unless only a flag's value was wrong. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly showUsage = true,
  ) {
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

/** `raw` parsed as JSON; a UsageError naming `what` (and `hint`, when given) when it is not JSON. */
function parseJson(raw: string, what: string, hint = ''): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new UsageError(`${what} must be JSON${hint}`, false);
  }
}

/** A JSON flag's value (`--input '{"a":1}'`), undefined when absent; a UsageError when it is not JSON. */
export function jsonFlag(context: CommandContext, name: string): unknown {
  const raw = context.flags[name];
  return typeof raw === 'string' ? parseJson(raw, `--${name}`) : undefined;
}

/** The n-th positional argument parsed as JSON (`'{"a":1}'`, `'"text"'`); a UsageError when missing or not JSON, saying how to quote a string. */
export function jsonArg(context: CommandContext, index: number, name: string): unknown {
  return parseJson(arg(context, index, name), `<${name}>`, ` (a string is quoted inside: '"text"')`);
}

/** A text flag's value, undefined when absent. */
export function stringFlag(context: CommandContext, name: string): string | undefined {
  const raw = context.flags[name];
  return typeof raw === 'string' ? raw : undefined;
}

/** A whole-number flag (`--limit 50`), undefined when absent; a UsageError for anything else. */
export function intFlag(context: CommandContext, name: string): number | undefined {
  const raw = stringFlag(context, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number`, false);
  return Number(raw);
}

/** `?a=1&b=x` of the given values, those undefined left out; '' when none is given. */
export function queryString(values: Record<string, string | number | undefined>): string {
  const given = Object.entries(values).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]));
  return given.length === 0 ? '' : `?${new URLSearchParams(given).toString()}`;
}
