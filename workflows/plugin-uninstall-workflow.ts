import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { PluginActivities } from '../activities/plugins/plugin-activities';
import type { PluginUninstallInput, PluginUninstallResult } from './plugin-types';
import { OwnPilotKind, OwnPilotPluginId, OwnPilotStartedBy } from './search-attributes';

const ACTIVITY_PRESETS = {
  step: { startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', maximumInterval: '30 seconds' } },
} as const;

const steps = proxyActivities<PluginActivities>(ACTIVITY_PRESETS.step);

/**
 * Uninstalls a plugin, the install in reverse: stop deliveries → remove subscriptions →
 * unregister tools → drop tables → clear storage → delete the plugin. Every step is idempotent
 * and retried until it succeeds (forward recovery), so an uninstall never stops half-way.
 */
export async function pluginUninstallWorkflow(input: PluginUninstallInput): Promise<PluginUninstallResult> {
  const { pluginId } = input;
  upsertSearchAttributes([
    { key: OwnPilotPluginId, value: pluginId },
    { key: OwnPilotKind, value: 'plugin-uninstall' },
    { key: OwnPilotStartedBy, value: input.requestedBy },
  ]);
  await steps.beginPluginUninstall({ pluginId });
  const subscriptions = await steps.removePluginSubscriptions({ pluginId });
  const tools = await steps.unregisterPluginTools({ pluginId });
  const tables = await steps.dropPluginTables({ pluginId });
  const storageKeys = await steps.clearPluginStorage({ pluginId });
  await steps.deletePlugin({ pluginId });
  return { pluginId, tables, tools, subscriptions, storageKeys };
}
