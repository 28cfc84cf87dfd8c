import { z } from 'zod';

/** `resource.created`, `plugin.*.done` (`*` = one segment), `resource.**` (`**` = any number, last only). */
export const EventPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^([a-z0-9_-]+|\*)(\.([a-z0-9_-]+|\*))*(\.\*\*)?$|^\*\*$/, 'dotted segments, * for one segment, a trailing ** for any');

/** Whether an event type matches a pattern of {@link EventPattern}. */
export function matchesEventPattern(pattern: string, type: string): boolean {
  const p = pattern.split('.');
  const t = type.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '**') return true;
    if (i >= t.length) return false;
    if (p[i] !== '*' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}
