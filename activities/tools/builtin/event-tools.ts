import { z } from 'zod';
import { assertMayEmit } from '../../events/emit-rules';
import { NoCallerAudience } from '../../events/event-api-schemas';
import { EventType, type EventPublisher } from '../../events/event-types';
import { defineTool, type BuiltinTool } from '../tool-types';

const EmitArgs = z.object({ type: EventType, data: z.json().default(null), audience: NoCallerAudience });

/**
 * core.events.emit: publishes an event through the injected publisher when the caller may emit
 * it (`assertMayEmit`: its namespaces, a plugin's emit grant, 64 KB of data).
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
        await assertMayEmit(context.requesterId, type, data, pluginMayEmit);
        events.emit(type, data, context.requesterId);
        return { emitted: type };
      },
    }),
  ];
}
