import type { EventPublisher } from '../../events/event-types';
import type { ResourceService } from '../../resources/resource-service';
import type { BuiltinTool } from '../tool-types';
import { CORE_TOOLS } from './core-tools';
import { createEventTools } from './event-tools';
import { createHttpTools, type HttpToolConfig } from './http-tools';
import { JSON_TOOLS } from './json-tools';
import { createResourceTools } from './resource-tools';
import { STRING_TOOLS } from './string-tools';
import { WAIT_TOOLS } from './wait-tools';

export interface BuiltinToolDeps {
  events: EventPublisher;
  resources: ResourceService;
  http: HttpToolConfig;
  /** Whether a plugin may emit through core.events.emit (plugins may not when absent). */
  pluginMayEmit?: (pluginId: string) => Promise<boolean>;
}

/** Every built-in tool (`core.*`) with its dependencies wired; each process registers them at start. */
export function createBuiltinTools(deps: BuiltinToolDeps): readonly BuiltinTool[] {
  return [...CORE_TOOLS, ...JSON_TOOLS, ...STRING_TOOLS, ...WAIT_TOOLS, ...createHttpTools(deps.http), ...createEventTools(deps.events, deps.pluginMayEmit), ...createResourceTools(deps.resources)];
}
