import { stringFlag, UsageError, type CommandContext } from './command-types';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * An instant flag (`--since`, `--from`, `--start`) as an ISO 8601 string: a duration back from now
 * (`90s`, `10m`, `2h`, `1d`; `0s` is now) or an ISO 8601 time (a date alone is its midnight UTC).
 * Undefined when absent; a UsageError naming the flag when it is neither.
 */
export function instantFlag(context: CommandContext, name: string): string | undefined {
  const value = stringFlag(context, name);
  if (value === undefined) return undefined;
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration) return new Date(Date.now() - Number(duration[1]) * UNITS[duration[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  throw new UsageError(`--${name} must be a duration such as 10m or 2h, or an ISO 8601 time`, false);
}
