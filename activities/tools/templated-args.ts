// Save-time checks of tool arguments that hold templates (plan steps, trigger actions): a template
// is resolved only when the call runs, so its position may hold any value. Which of a
// validator's issues such a value could remove is decided here, for ajv and zod issues alike.

/** A position in a tool's arguments: object keys and array indices, as text. */
export type ArgPath = readonly string[];

/**
 * What the rule behind an issue reads, which decides whether a template can be its cause:
 * - `value`: the whole value at its path (a type, enum, pattern, uniqueItems...);
 * - `shape`: only the container at its path: its type, its keys, its length;
 * - `alternative`: a choice between subschemas of the value at its path (anyOf, oneOf,
 *   if/then/else, not, a zod union), whose branches may report issues of their own below it;
 * - `anywhere`: a refinement, code that may read any argument and report at any path.
 */
export type IssueScope = 'value' | 'shape' | 'alternative' | 'anywhere';

export interface ScopedIssue {
  at: ArgPath;
  scope: IssueScope;
}

/** Whether `path` is `base` or lies below it. */
function within(path: ArgPath, base: ArgPath): boolean {
  return base.length <= path.length && base.every((segment, i) => path[i] === segment);
}

/** The paths of every string in `args` that `isTemplate` accepts (keys are never templates). */
export function templatedPaths(args: unknown, isTemplate: (text: string) => boolean, at: ArgPath = []): ArgPath[] {
  if (typeof args === 'string') return isTemplate(args) ? [at] : [];
  if (Array.isArray(args)) return args.flatMap((v, i) => templatedPaths(v, isTemplate, [...at, String(i)]));
  if (args !== null && typeof args === 'object') return Object.entries(args).flatMap(([k, v]) => templatedPaths(v, isTemplate, [...at, k]));
  return [];
}

/**
 * The issues no value at the `templated` paths could remove, found by validating the arguments
 * with the template text in place. Dropped: an issue at or below a template; one above a template
 * unless its rule reads only the container's shape (a required key is present, whatever it
 * holds); every issue at or below a failed alternative above a template (another value may pick
 * another branch); and, when there is any template, every refinement. What is kept fails
 * whatever the templates resolve to; what is dropped is still checked when the call runs.
 */
export function literalIssues<I extends ScopedIssue>(issues: readonly I[], templated: readonly ArgPath[]): I[] {
  if (templated.length === 0) return [...issues];
  const fromTemplate = (at: ArgPath) => templated.some((t) => within(at, t));
  const overTemplate = (at: ArgPath) => templated.some((t) => within(t, at));
  const undecided = issues.filter((i) => i.scope === 'alternative' && overTemplate(i.at)).map((i) => i.at);
  return issues.filter(
    (i) => i.scope !== 'anywhere' && !fromTemplate(i.at) && (i.scope === 'shape' || !overTemplate(i.at)) && !undecided.some((u) => within(i.at, u)),
  );
}
