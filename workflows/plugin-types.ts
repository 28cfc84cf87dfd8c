// Plain types and constants shared by the plugin workflows and their activities; safe in the sandbox.

export interface PluginInstallInput {
  /** The manifest as submitted; the first activity validates it. */
  manifest: { id: string } & Record<string, unknown>;
  requestedBy: string;
}

export interface PluginInstallResult {
  pluginId: string;
  status: 'enabled';
  tables: string[];
  tools: string[];
  subscriptions: number;
}

export interface PluginUninstallInput {
  pluginId: string;
  requestedBy: string;
}

export interface PluginUninstallResult {
  pluginId: string;
  tables: string[];
  tools: string[];
  subscriptions: number;
  storageKeys: number;
}

/** The statuses a plugin rests in between lifecycle workflows; an upgrade returns the plugin to the one it found. */
export type SettledPluginStatus = 'installed' | 'enabled' | 'disabled';

export interface PluginUpgradeInput {
  pluginId: string;
  /** The new manifest as submitted; the first activity validates it against the installed one. */
  manifest: { id: string; version: string } & Record<string, unknown>;
  /** Replaces the kept config when given. */
  config?: Record<string, unknown>;
  /** Drop the tables the new version no longer declares, once the upgrade has succeeded. */
  dropRemovedTables: boolean;
  /** The plugin's status when the API claimed it for this upgrade: restored at the end, either way. */
  settled: SettledPluginStatus;
  requestedBy: string;
}

export interface PluginUpgradeResult {
  pluginId: string;
  fromVersion: string;
  toVersion: string;
  tablesCreated: string[];
  tablesDropped: string[];
  toolsRemoved: string[];
  tools: string[];
  subscriptions: number;
}

/** The install steps, in order; a failure names the step it happened in. */
export const PLUGIN_INSTALL_STEPS = ['validate', 'record', 'tables', 'tools', 'subscriptions', 'activate'] as const;
export type PluginInstallStep = (typeof PLUGIN_INSTALL_STEPS)[number];

/** The upgrade steps, in order; a failure names the step it happened in. */
export type PluginUpgradeStep = 'prepare' | 'tables' | 'record' | 'tools' | 'subscriptions' | 'activate';

/** The readable, stable workflow ids of a plugin's install, upgrade (one per target version) and uninstall. */
export const pluginInstallWorkflowId = (pluginId: string) => `plugin-install-${pluginId}`;
export const pluginUpgradeWorkflowId = (pluginId: string, version: string) => `plugin-upgrade-${pluginId}-${version}`;
export const pluginUninstallWorkflowId = (pluginId: string) => `plugin-uninstall-${pluginId}`;
