// The slices of the tool registry and the database ACL the plugin service uses. They mirror
// `Pick<ToolRegistry, ...>` and `Pick<DatabaseAcl, ...>` (issue 3), so the real services fit as they are.

import type { EventCause } from '../events/event-types';

/** A tool as the registry registers it. */
export interface PluginToolDefinition {
  name: string;
  description: string;
  category: string;
  parameters: Record<string, unknown>;
  tags: string[];
  /** The manifest subscribes this tool to events: only the plugin and admin may run it. */
  subscriptionHandler?: true;
}

export interface PluginToolRegistry {
  /** Registers `plugin.<pluginId>.*`; FORBIDDEN for any other name, UNPROCESSABLE for a bad JSON schema. */
  registerPluginTool(pluginId: string, definition: PluginToolDefinition, code: string, options?: { requiresApproval?: boolean; allowedTools?: string[] }): Promise<void>;
  /** Removes every tool of the plugin; idempotent. */
  unregisterPluginTools(pluginId: string): Promise<string[]>;
  unregisterTool(name: string, principal: string): Promise<void>;
  enableTool(name: string, principal: string): Promise<void>;
  disableTool(name: string, principal: string): Promise<void>;
  executeTool(name: string, args: unknown, context: { requesterId: string; idempotencyKey?: string; cause?: EventCause }): Promise<unknown>;
}

export interface PluginTableAcl {
  /** Creates `plugin_<pluginId>_<name>`; a retry with the same spec is a no-op (`created: false`), CONFLICT when the name is taken. */
  createPluginTable(pluginId: string, tableDef: unknown): Promise<{ table: string; created: boolean }>;
  dropPluginTable(pluginId: string, tableName: string): Promise<{ table: string; dropped: boolean }>;
  dropPluginTables(pluginId: string): Promise<string[]>;
  /** The table's owner (and more), null when there is no such table. */
  getTableMetadata(tableName: string): Promise<{ ownerId?: string } | null>;
}
