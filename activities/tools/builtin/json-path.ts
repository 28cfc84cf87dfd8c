import { AppError } from '../../../platform/errors';

export type PathSegment = string | number;
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

const PATH = /^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/;
const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;

/** Parses `a.b[0].c` (or '' / '$' for the root); throws UNPROCESSABLE for malformed paths and prototype keys. */
export function parsePath(path: string): PathSegment[] {
  const stripped = path.replace(/^\$\.?/, '');
  if (stripped === '') return [];
  if (!PATH.test(stripped)) throw new AppError('UNPROCESSABLE', `malformed path '${path}'`, { path });
  const segments = [...stripped.matchAll(SEGMENT)].map((m): PathSegment => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  const bad = segments.find((s) => typeof s === 'string' && FORBIDDEN_KEYS.has(s));
  if (bad !== undefined) throw new AppError('UNPROCESSABLE', `path segment '${String(bad)}' is not allowed`, { path });
  return segments;
}

/** The value at `path`, or undefined when any step is missing (own properties only). */
export function getAt(value: unknown, path: PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** A copy of `value` with `newValue` at `path`, creating objects/arrays on the way; never mutates the input. */
export function setAt(value: unknown, path: PathSegment[], newValue: unknown): unknown {
  if (path.length === 0) return newValue;
  const [head, ...rest] = path as [PathSegment, ...PathSegment[]];
  const base = value !== null && typeof value === 'object' ? value : typeof head === 'number' ? [] : {};
  const copy = (Array.isArray(base) ? [...base] : { ...(base as Record<string, unknown>) }) as Record<PathSegment, unknown>;
  const child = Object.hasOwn(copy, head) ? copy[head] : undefined;
  Object.defineProperty(copy, head, { value: setAt(child, rest, newValue), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Deep merge of plain objects (later wins; arrays and scalars replace); prototype keys are dropped. */
export function deepMerge(target: unknown, source: unknown): unknown {
  if (!isPlainObject(target) || !isPlainObject(source)) return source;
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(source)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const merged = deepMerge(Object.hasOwn(out, key) ? out[key] : undefined, value);
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
