import { toActivityFailure } from '../activity-failure';
import type { PluginToolOptions } from './tool-schemas';
import type { ToolRegistry } from './tool-registry';
import type { ToolDefinition, ToolExecutionResult } from './tool-types';

export interface ExecuteToolRequest {
  name: string;
  args: unknown;
  requesterId: string;
  /** Stable across retries of the same activity (e.g. `<runId>:<stepId>`), so creates are not repeated. */
  idempotencyKey?: string;
  approved?: boolean;
}

export interface RegisterPluginToolRequest {
  pluginId: string;
  definition: ToolDefinition;
  code: string;
  options?: PluginToolOptions;
}

/** Tool registry operations as activities: permanent AppErrors become non-retryable failures. */
export function createToolActivities({ tools }: { tools: Pick<ToolRegistry, 'executeTool' | 'registerPluginTool' | 'unregisterPluginTools'> }) {
  return {
    /** Runs a tool through the checked path; returns the approval-required result instead of running when needed. */
    async executeTool(request: ExecuteToolRequest): Promise<ToolExecutionResult> {
      try {
        return await tools.executeTool(request.name, request.args, { requesterId: request.requesterId, idempotencyKey: request.idempotencyKey, approved: request.approved });
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Registers (or idempotently re-registers) a plugin's tool: a plugin install step. */
    async registerPluginTool(request: RegisterPluginToolRequest): Promise<void> {
      try {
        await tools.registerPluginTool(request.pluginId, request.definition, request.code, request.options);
      } catch (error) {
        throw toActivityFailure(error);
      }
    },

    /** Removes every tool of a plugin: the uninstall step and the install compensation; idempotent. */
    async unregisterPluginTools(pluginId: string): Promise<string[]> {
      return tools.unregisterPluginTools(pluginId);
    },
  };
}
export type ToolActivities = ReturnType<typeof createToolActivities>;
