import { valueAtPath } from './payload-filter';

const WHOLE = /^\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}$/;
const PART = /\{\{\s*([A-Za-z0-9_$.-]+)\s*\}\}/g;

/** Whether a string holds a `{{path}}` reference, which a firing fills (so any value until then). */
export function hasReference(text: string): boolean {
  return text.search(PART) >= 0;
}

/**
 * Replaces `{{path}}` references in every string of `template` with values from `context`.
 * A string that is exactly one reference takes the referenced value as is (object, number...);
 * references inside longer strings are interpolated (objects as JSON, missing values as "").
 * No code runs: paths are plain property lookups.
 */
export function renderTemplate(template: unknown, context: Record<string, unknown>): unknown {
  if (typeof template === 'string') {
    const whole = WHOLE.exec(template);
    if (whole) return valueAtPath(context, whole[1]!) ?? null;
    return template.replace(PART, (_, path: string) => {
      const v = valueAtPath(context, path);
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
  }
  if (Array.isArray(template)) return template.map((t) => renderTemplate(t, context));
  if (template !== null && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, renderTemplate(v, context)]));
  }
  return template;
}
