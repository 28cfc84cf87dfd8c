import { AppError } from '../../platform/errors';
import { parsePrincipal } from '../tools/tool-permissions';

/** The largest `data` a principal may emit (services' own events are not bound by it). */
const MAX_EVENT_BYTES = 64 * 1024;
/** What JSON.stringify writes for a NUL or a lone UTF-16 surrogate: text PostgreSQL's jsonb refuses, so event_log could not hold the event. */
const UNSTORABLE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * The event-type prefixes a principal may emit. `tool.*`, `resource.*`, `database.*`, `plan.*`
 * and `trigger.*` are never allowed: only their own services emit them, so listeners (triggers,
 * plugin subscriptions, the audit log) can trust them.
 */
export function allowedEventPrefixes(principal: string): string[] {
  const p = parsePrincipal(principal);
  if (p.kind === 'admin') return ['system.', 'agent.'];
  if (p.kind === 'user') return ['agent.'];
  if (p.kind === 'plugin') return [`plugin.${p.id}.`];
  return [];
}

/**
 * Resolves when `principal` may emit `type` with `data`, by the one rule `POST /api/v1/events` and
 * `core.events.emit` share: FORBIDDEN outside `allowedEventPrefixes`, or for a plugin without the
 * emit grant (`pluginMayEmit`: enabled, manifest grants `events.emit`; never without that check);
 * UNPROCESSABLE when `data` exceeds 64 KB; VALIDATION_FAILED when it holds a NUL or a lone surrogate.
 */
export async function assertMayEmit(principal: string, type: string, data: unknown, pluginMayEmit?: (pluginId: string) => Promise<boolean>): Promise<void> {
  const allowed = allowedEventPrefixes(principal);
  if (!allowed.some((prefix) => type.startsWith(prefix))) throw new AppError('FORBIDDEN', `${principal} may not emit '${type}'`, { type, allowed });
  const p = parsePrincipal(principal);
  if (p.kind === 'plugin' && !(await pluginMayEmit?.(p.id))) {
    throw new AppError('FORBIDDEN', `plugin '${p.id}' may not emit: it is not enabled with the 'events.emit' permission`, { type });
  }
  const json = JSON.stringify(data ?? null);
  if (Buffer.byteLength(json) > MAX_EVENT_BYTES) throw new AppError('UNPROCESSABLE', `event data exceeds ${MAX_EVENT_BYTES} bytes`, { type });
  if (UNSTORABLE_ESCAPE.test(json)) throw new AppError('VALIDATION_FAILED', 'event data holds a NUL character or a lone UTF-16 surrogate, which event_log cannot store', { type });
}
