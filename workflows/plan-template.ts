// Argument templates: `{{ expression }}` inside any string of a step's arguments. Pure code.
import { evaluate, parseExpression, type Expr, type ExpressionScope } from './plan-expression';

const TEMPLATE = /\{\{([\s\S]*?)\}\}/g;
const WHOLE = /^\s*\{\{([\s\S]*?)\}\}\s*$/;

/** Every expression source found in `{{ }}` blocks anywhere inside a JSON-like value. */
export function templateSources(value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(TEMPLATE)].map((m) => m[1]!.trim());
  if (Array.isArray(value)) return value.flatMap(templateSources);
  if (value && typeof value === 'object') return Object.values(value).flatMap(templateSources);
  return [];
}

/**
 * Resolves templates: a string that is exactly one `{{ e }}` becomes the value of `e` (any type);
 * templates inside longer strings are replaced by the value's text (JSON for objects).
 * Throws ExpressionError for a malformed expression.
 */
export function resolveTemplates(value: unknown, scope: ExpressionScope, cache = new Map<string, Expr>()): unknown {
  const run = (source: string) => {
    let expr = cache.get(source);
    if (!expr) {
      expr = parseExpression(source);
      cache.set(source, expr);
    }
    return evaluate(expr, scope);
  };
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole && !whole[1]!.includes('{{')) return run(whole[1]!.trim());
    return value.replace(TEMPLATE, (_, source: string) => {
      const v = run(source.trim());
      return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, scope, cache));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, scope, cache)]));
  }
  return value;
}
