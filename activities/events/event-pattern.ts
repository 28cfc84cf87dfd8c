import { z } from 'zod';

/**
 * A subscription pattern: dotted segments where `*` matches exactly one segment and `**` any
 * number of segments (zero or more), e.g. `resource.*`, `plugin.digest.**`, `**`.
 */
export const EventPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(\*\*|\*|[a-z0-9_-]+)(\.(\*\*|\*|[a-z0-9_-]+))*$/, 'dotted segments, `*` or `**`, such as resource.*');
export type EventPattern = z.infer<typeof EventPattern>;

/**
 * A regular expression (valid both in JavaScript and PostgreSQL ARE) that matches `'.' + type`
 * exactly when `type` matches the pattern; the one definition both the bus and the history query use.
 */
export function patternRegexSource(pattern: string): string {
  const body = pattern
    .split('.')
    .map((segment) => (segment === '**' ? '(\\.[^.]+)*' : segment === '*' ? '\\.[^.]+' : `\\.${segment}`))
    .join('');
  return `^${body}$`;
}

/** Compiles a validated pattern into a predicate over event types; throws a ZodError for a bad pattern. */
export function compilePattern(pattern: string): (type: string) => boolean {
  const regex = new RegExp(patternRegexSource(EventPattern.parse(pattern)));
  return (type) => regex.test(`.${type}`);
}
