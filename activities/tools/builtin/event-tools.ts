import { z } from 'zod';
import { AppError } from '../../../platform/errors';
import { EventType, type EventPublisher } from '../../events/event-types';
import { parsePrincipal } from '../tool-permissions';
import { defineTool, type BuiltinTool } from '../tool-types';

const MAX_EVENT_BYTES = 64 * 1024;
const EmitArgs = z.object({ type: EventType, data: z.json().default(null) });

/**
 * The event-type prefixes a principal may emit through core.events.emit. `tool.*`,
 * `resource.*`, `database.*`, `plan.*` and `trigger.*` are never allowed: only their own
 * services emit them, so listeners can trust them.
 */
export function allowedEventPrefixes(principal: string): string[] {
  const p = parsePrincipal(principal);
  if (p.kind === 'admin') return ['system.', 'agent.'];
  if (p.kind === 'user') return ['agent.'];
  if (p.kind === 'plugin') return [`plugin.${p.id}.`];
  return [];
}

/**
 * core.events.emit: publishes an event through the injected publisher, under the caller's
 * allowed namespaces. A plugin must also hold the emit grant (`pluginMayEmit`: enabled, manifest
 * grants `events.emit`); without that check wired in, plugins may not emit at all (FORBIDDEN).
 */
export function createEventTools(events: EventPublisher, pluginMayEmit?: (pluginId: string) => Promise<boolean>): readonly BuiltinTool[] {
  return [
    defineTool({
      definition: {
        name: 'core.events.emit',
        description: 'Emits an event (agent.* for users, plugin.<id>.* for plugins, system.* and agent.* for admin)',
        category: 'events',
        parameters: z.toJSONSchema(EmitArgs, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
        tags: ['events'],
      },
      args: EmitArgs,
      execute: async ({ type, data }, context) => {
        const allowed = allowedEventPrefixes(context.requesterId);
        if (!allowed.some((prefix) => type.startsWith(prefix))) {
          throw new AppError('FORBIDDEN', `${context.requesterId} may not emit '${type}'`, { type, allowed });
        }
        const principal = parsePrincipal(context.requesterId);
        if (principal.kind === 'plugin' && !(await pluginMayEmit?.(principal.id))) {
          throw new AppError('FORBIDDEN', `plugin '${principal.id}' may not emit: it is not enabled with the 'events.emit' permission`, { type });
        }
        if (Buffer.byteLength(JSON.stringify(data)) > MAX_EVENT_BYTES) throw new AppError('UNPROCESSABLE', `event data exceeds ${MAX_EVENT_BYTES} bytes`);
        events.emit(type, data, context.requesterId);
        return { emitted: type };
      },
    }),
  ];
}
