import { z } from 'zod';

/** A dotted path into a value: `data.order.total`, `result.items.0.id`. */
const Path = z.string().min(1).max(200).regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'dotted path such as data.order.total');
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** One comparison on a path. `exists` takes a boolean value; `in` an array; the rest a scalar. */
const Comparison = z.discriminatedUnion('op', [
  z.object({ path: Path, op: z.enum(['eq', 'ne']), value: z.unknown() }).strict(),
  z.object({ path: Path, op: z.enum(['gt', 'gte', 'lt', 'lte']), value: z.union([z.number(), z.string()]) }).strict(),
  z.object({ path: Path, op: z.literal('in'), value: z.array(Scalar).max(100) }).strict(),
  z.object({ path: Path, op: z.literal('exists'), value: z.boolean().default(true) }).strict(),
  z.object({ path: Path, op: z.literal('contains'), value: Scalar }).strict(),
]);

export type PayloadFilter =
  | z.infer<typeof Comparison>
  | { all: PayloadFilter[] }
  | { any: PayloadFilter[] }
  | { not: PayloadFilter };

/** The filter language of event triggers and condition expressions (see README "Trigger filters"). */
export const PayloadFilter: z.ZodType<PayloadFilter> = z.lazy(() =>
  z.union([
    Comparison,
    z.object({ all: z.array(PayloadFilter).min(1).max(50) }).strict(),
    z.object({ any: z.array(PayloadFilter).min(1).max(50) }).strict(),
    z.object({ not: PayloadFilter }).strict(),
  ]),
);

/** The value at a dotted path, or undefined when any segment is missing; never reads prototypes. */
export function valueAtPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function compare(actual: unknown, expected: number | string): number | undefined {
  if (typeof expected === 'number' && typeof actual === 'number') return actual - expected;
  if (typeof expected === 'string' && typeof actual === 'string') return actual < expected ? -1 : actual > expected ? 1 : 0;
  return undefined; // mismatched types never satisfy an ordering
}

/** Whether `value` satisfies the (already validated) filter; pure, no code evaluation. */
export function matchesFilter(filter: PayloadFilter, value: unknown): boolean {
  if ('all' in filter) return filter.all.every((f) => matchesFilter(f, value));
  if ('any' in filter) return filter.any.some((f) => matchesFilter(f, value));
  if ('not' in filter) return !matchesFilter(filter.not, value);
  const actual = valueAtPath(value, filter.path);
  switch (filter.op) {
    case 'eq':
      return deepEqual(actual, filter.value);
    case 'ne':
      return !deepEqual(actual, filter.value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const c = compare(actual, filter.value);
      if (c === undefined) return false;
      return filter.op === 'gt' ? c > 0 : filter.op === 'gte' ? c >= 0 : filter.op === 'lt' ? c < 0 : c <= 0;
    }
    case 'in':
      return filter.value.some((v) => deepEqual(actual, v));
    case 'exists':
      return (actual !== undefined) === filter.value;
    case 'contains':
      if (typeof actual === 'string' && typeof filter.value === 'string') return actual.includes(filter.value);
      return Array.isArray(actual) && actual.some((v) => deepEqual(v, filter.value));
  }
}
