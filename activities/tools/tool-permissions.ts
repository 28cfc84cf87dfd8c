import { AppError } from '../../platform/errors';
import type { ToolRecord } from './tool-types';

/** A parsed principal string: 'admin' | 'user:<id>' | 'plugin:<id>'; anything else is `unknown`. */
export type Principal = { kind: 'admin' } | { kind: 'user'; id: string } | { kind: 'plugin'; id: string } | { kind: 'unknown' };

/** What the run rules read of a tool. */
type RunnableTool = Pick<ToolRecord, 'name' | 'source' | 'sourceId' | 'definition'>;

/** Parses a principal; never throws (an unrecognised string is `unknown` and may do nothing). */
export function parsePrincipal(principal: string): Principal {
  if (principal === 'admin') return { kind: 'admin' };
  const match = /^(user|plugin):(.+)$/.exec(principal);
  if (!match) return { kind: 'unknown' };
  return { kind: match[1] as 'user' | 'plugin', id: match[2]! };
}

/** Whether the principal owns the tool (a user its custom tools, a plugin its plugin tools). */
export function ownsTool(record: Pick<ToolRecord, 'source' | 'sourceId'>, principal: string): boolean {
  const p = parsePrincipal(principal);
  if (record.source === 'custom') return p.kind === 'user' && p.id === record.sourceId;
  if (record.source === 'plugin') return p.kind === 'plugin' && p.id === record.sourceId;
  return false;
}

/** Whether the tool is a plugin's subscription handler (named in its manifest's `subscriptions[].tool`). */
export function isSubscriptionHandler(record: Pick<ToolRecord, 'source' | 'definition'>): boolean {
  return record.source === 'plugin' && record.definition.subscriptionHandler === true;
}

/**
 * Why `principal` may not run the tool, or undefined when it may; the one statement of who runs what.
 * Custom tools: their owner and admin. Plugin tools of X: never another plugin (plugins are isolated,
 * and X's code acts as X); X's subscription handlers only X itself (its subscription host, its own
 * code) and admin calling directly, since a handler trusts its `event` argument to be real. `indirect`:
 * the principal is not calling itself: a sandboxed tool's `tools.call`, a plan step or a trigger firing acts for it.
 */
export function runRefusal(record: RunnableTool, principal: string, indirect = false): string | undefined {
  if (record.source === 'custom') return principal === 'admin' || ownsTool(record, principal) ? undefined : 'custom tools run only for their owner and admin';
  if (record.source !== 'plugin') return undefined;
  const p = parsePrincipal(principal);
  if (p.kind === 'plugin' && p.id !== record.sourceId) return `plugins are isolated: it belongs to plugin ${record.sourceId}`;
  if (!isSubscriptionHandler(record) || p.kind === 'plugin' || (p.kind === 'admin' && !indirect)) return undefined;
  if (p.kind === 'admin') return `it is plugin ${record.sourceId}'s subscription handler, which admin may run only by calling it directly, not through a plan, a trigger or another tool`;
  return `it is plugin ${record.sourceId}'s subscription handler, run only by that plugin for its events (and by admin directly)`;
}

/** Whether the principal may see the tool: exactly the tools it may run (disabled ones included). */
export function canSeeTool(record: RunnableTool, principal: string): boolean {
  return runRefusal(record, principal) === undefined;
}

/** Throws FORBIDDEN naming principal, tool and reason when `runRefusal` refuses; whether the tool is enabled is not checked. */
export function assertMayRun(record: RunnableTool, principal: string, indirect = false): void {
  const reason = runRefusal(record, principal, indirect);
  if (reason !== undefined) throw new AppError('FORBIDDEN', `${principal} may not run tool '${record.name}': ${reason}`, { tool: record.name });
}

/** Throws TOOL_LOCKED for built-ins (nobody, admin included, may change them) and FORBIDDEN for non-owners. */
export function assertCanManage(record: Pick<ToolRecord, 'name' | 'source' | 'sourceId' | 'isLocked'>, principal: string): void {
  if (record.isLocked || record.source === 'builtin') {
    throw new AppError('TOOL_LOCKED', `tool '${record.name}' is a locked built-in tool`, { tool: record.name });
  }
  if (principal === 'admin' || ownsTool(record, principal)) return;
  throw new AppError('FORBIDDEN', `${principal} may not manage tool '${record.name}'`, { tool: record.name });
}

/** Throws TOOL_DISABLED for a disabled tool, then FORBIDDEN as `assertMayRun` does. */
export function assertCanExecute(record: RunnableTool & Pick<ToolRecord, 'isEnabled'>, principal: string, indirect = false): void {
  if (!record.isEnabled) throw new AppError('TOOL_DISABLED', `tool '${record.name}' is disabled`, { tool: record.name });
  assertMayRun(record, principal, indirect);
}
