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

/** The install steps, in order; a failure names the step it happened in. */
export const PLUGIN_INSTALL_STEPS = ['validate', 'record', 'tables', 'tools', 'subscriptions', 'activate'] as const;
export type PluginInstallStep = (typeof PLUGIN_INSTALL_STEPS)[number];

/** The readable, stable workflow ids of a plugin's install and uninstall. */
export const pluginInstallWorkflowId = (pluginId: string) => `plugin-install-${pluginId}`;
export const pluginUninstallWorkflowId = (pluginId: string) => `plugin-uninstall-${pluginId}`;
