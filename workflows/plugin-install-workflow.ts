import { ApplicationFailure, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { createCompensations, reasonOf, steps, undo } from './plugin-saga';
import type { PluginInstallInput, PluginInstallResult, PluginInstallStep } from './plugin-types';
import { OwnPilotKind, OwnPilotPluginId, OwnPilotStartedBy } from './search-attributes';

/**
 * Installs a plugin as a saga: validate → record → tables → tools → subscriptions → activate.
 * When a step fails, every completed step is undone newest-first (even if the workflow is
 * cancelled), the plugin is left in `error` with the reason, and the workflow fails.
 */
export async function pluginInstallWorkflow(input: PluginInstallInput): Promise<PluginInstallResult> {
  const { workflowId } = workflowInfo();
  const pluginId = input.manifest.id;
  upsertSearchAttributes([
    { key: OwnPilotPluginId, value: pluginId },
    { key: OwnPilotKind, value: 'plugin-install' },
    { key: OwnPilotStartedBy, value: input.requestedBy },
  ]);
  const compensations = createCompensations();
  const result: PluginInstallResult = { pluginId, status: 'enabled', tables: [], tools: [], subscriptions: 0 };
  let step: PluginInstallStep = 'validate';
  try {
    const manifest = await steps.validatePluginManifest(input.manifest);
    step = 'record';
    await steps.recordPlugin({ manifest, workflowId });
    step = 'tables';
    for (const table of manifest.tables) {
      const created = await steps.createPluginTable({ pluginId, table });
      result.tables.push(created.table);
      if (created.created) compensations.add(`drop table ${created.table}`, () => undo.dropPluginTable({ pluginId, name: table.name }));
    }
    step = 'tools';
    for (const tool of manifest.tools) {
      result.tools.push(await steps.registerPluginTool({ pluginId, tool }));
      compensations.add(`unregister tool ${tool.name}`, () => undo.unregisterPluginTool({ pluginId, tool: tool.name }));
    }
    step = 'subscriptions';
    compensations.add('remove subscriptions', () => undo.removePluginSubscriptions({ pluginId }));
    result.subscriptions = await steps.recordPluginSubscriptions({ pluginId, subscriptions: manifest.subscriptions });
    step = 'activate';
    await steps.activatePlugin({ pluginId, workflowId });
    return result;
  } catch (error) {
    const reason = reasonOf(error);
    const failedCompensations = await compensations.run((failed) => {
      const suffix = failed.length > 0 ? ` (undo failed: ${failed.join('; ')})` : '';
      return undo.markPluginFailed({ pluginId, workflowId, step, reason: reason + suffix, manifest: input.manifest });
    });
    throw ApplicationFailure.create({ type: 'PluginInstallFailed', message: `install of '${pluginId}' failed at ${step}: ${reason}`, details: [{ step, failedCompensations }], nonRetryable: true });
  }
}
