import { AppError } from '../../platform/errors';
import type { ToolRecord } from './tool-types';

/** A parsed principal string: 'admin' | 'user:<id>' | 'plugin:<id>'; anything else is `unknown`. */
export type Principal = { kind: 'admin' } | { kind: 'user'; id: string } | { kind: 'plugin'; id: string } | { kind: 'unknown' };

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

/** Whether the principal may see the tool: custom tools only to their owner and admin. */
export function canSeeTool(record: Pick<ToolRecord, 'source' | 'sourceId'>, principal: string): boolean {
  return record.source !== 'custom' || principal === 'admin' || ownsTool(record, principal);
}

/** Throws TOOL_LOCKED for built-ins (nobody, admin included, may change them) and FORBIDDEN for non-owners. */
export function assertCanManage(record: Pick<ToolRecord, 'name' | 'source' | 'sourceId' | 'isLocked'>, principal: string): void {
  if (record.isLocked || record.source === 'builtin') {
    throw new AppError('TOOL_LOCKED', `tool '${record.name}' is a locked built-in tool`, { tool: record.name });
  }
  if (principal === 'admin' || ownsTool(record, principal)) return;
  throw new AppError('FORBIDDEN', `${principal} may not manage tool '${record.name}'`, { tool: record.name });
}

/** Throws TOOL_DISABLED for a disabled tool and FORBIDDEN when a custom tool is run by anyone but its owner or admin. */
export function assertCanExecute(record: Pick<ToolRecord, 'name' | 'source' | 'sourceId' | 'isEnabled'>, principal: string): void {
  if (!record.isEnabled) throw new AppError('TOOL_DISABLED', `tool '${record.name}' is disabled`, { tool: record.name });
  if (!canSeeTool(record, principal)) {
    throw new AppError('FORBIDDEN', `${principal} may not run tool '${record.name}'`, { tool: record.name });
  }
}
